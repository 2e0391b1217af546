//! Read-your-writes in the location that served an admin write.
//!
//! KV is eventually consistent: a write can take 60 s or more to reach every
//! location, and a location that recently read the key as missing keeps serving that
//! miss for up to the edge cache lifetime. So after the Durable Object has stored a
//! write and written it through to KV, the worker that served the admin request puts
//! the new value (or a tombstone) into this location's Cache API for [`TTL_SECS`],
//! longer than KV needs to catch up. Every KV read made by [`crate::store`] checks
//! that entry in parallel with KV and prefers it, so the next request here (in any
//! isolate) sees the write; other locations see it when KV propagates.
//!
//! (The Cache API is per data center and does not work on `*.workers.dev` hosts; on
//! those, read-your-writes falls back to KV's own behaviour.)

use redirector_core::admin::Write;
use worker::{console_error, Cache, Headers, Response, ResponseBuilder};

/// How long a write is pinned in this location, in seconds.
pub const TTL_SECS: u32 = 120;
const TOMBSTONE: &str = "deleted";

fn cache_url(env: &str, key: &str) -> String {
    let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!("https://ryw.redirector.invalid/{env}/{key}")
}

/// The pinned value for `key`: `Some(Some(v))` written, `Some(None)` deleted,
/// `None` when nothing is pinned (or the cache cannot be read).
pub async fn pinned(env: &str, key: &str) -> Option<Option<String>> {
    let mut res = Cache::default().get(cache_url(env, key), true).await.ok()??;
    let deleted = res.headers().get("x-ryw").ok().flatten().as_deref() == Some(TOMBSTONE);
    if deleted {
        return Some(None);
    }
    res.text().await.ok().map(Some)
}

/// Pin every write in this location. Failures are logged: the write itself stands.
pub async fn pin(env: &str, writes: &[Write]) {
    let cache = Cache::default();
    for w in writes {
        let headers = Headers::new();
        let _ = headers.set("cache-control", &format!("max-age={TTL_SECS}"));
        let _ = headers.set("x-ryw", if w.value.is_some() { "put" } else { TOMBSTONE });
        let builder = ResponseBuilder::new().with_status(200).with_headers(headers);
        let res: Response = builder.fixed(w.value.clone().unwrap_or_default().into_bytes());
        if let Err(e) = cache.put(cache_url(env, &w.key.key), res).await {
            console_error!("read-your-writes pin failed for {}: {e}", w.key.key);
        }
    }
}
