//! A route's KV read (every `RouteReads::get`: a first hit's link, rule arrays,
//! admin reads) in one call into JS: `get` as text with KV's edge cache lifetime,
//! raced against its deadline, the timer cleared when the read settles first.
//!
//! Through the `worker` crate the same read built its options object with serde
//! (`cacheTtl`, `type`), awaited the read through one `JsFuture` and the deadline
//! through a second timer future of ours ([`crate::timer`]), each with callbacks
//! crossing back into wasm. Here JS does the race, and wasm awaits one promise.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "export function kv_text_within(kv, key, ttl, ms) {
  const read = kv.get(key, { cacheTtl: ttl, type: 'text' });
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn kv_text_within(kv: &JsValue, key: &str, ttl: u32, ms: f64) -> Result<js_sys::Promise, JsValue>;
}

/// How a read ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The value, or `None` when the key has none.
    Value(Option<String>),
    /// The deadline passed first.
    Late,
    /// KV refused or failed: its message.
    Failed(String),
}

/// Reads `key` from the KV namespace `kv` as text, cached at the edge for `ttl_secs`,
/// giving up after `ms`.
pub async fn text_within(kv: &JsValue, key: &str, ttl_secs: u32, ms: u64) -> Read {
    let settled = match kv_text_within(kv, key, ttl_secs, ms as f64) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(thrown) => Err(thrown),
    };
    match settled {
        // `get` answers a string or null; only the deadline resolves undefined.
        Ok(value) if value.is_undefined() => Read::Late,
        Ok(value) => Read::Value(value.as_string()),
        Err(e) => Read::Failed(message(&e)),
    }
}

fn message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
}
