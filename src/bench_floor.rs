//! Bench-only (`--features bench-floor`, never in a release): the floor of this
//! worker's own glue for a first hit. Each request goes through the same entry
//! (`src/entry.mjs`), executor ([`crate::drive`]), request facts
//! ([`crate::incoming`]), URL reading and KV read ([`crate::kv`]) as the worker, reads
//! the key host + path, and answers a fixed 302 through [`crate::respond`] (404
//! without a value): no canonical key, record, decision or click. `bench/tail.mjs`
//! kind `rust-floor`; docs/performance.md, "Where issue 13 stands".

use std::cell::OnceCell;

use redirector_core::reply::Reply;
use redirector_core::RequestUrl;
use wasm_bindgen::JsValue;
use worker::{web_sys, Env, Result};

use crate::bindings::Bindings;
use crate::incoming::Incoming;
use crate::kv::{self, Read};
use crate::respond;

thread_local! {
    static KV: OnceCell<JsValue> = const { OnceCell::new() };
}

pub async fn serve(req: web_sys::Request, env: Env) -> Result<web_sys::Response> {
    let facts = Incoming::read(&req);
    let url = RequestUrl::parse(&facts.url)?;
    let key = format!("{}{}", url.host(), url.path());
    // The worker's own binding lookup, once per isolate.
    let binding = KV.with(|cell| cell.get_or_init(|| Bindings::from_env(&env).kv_object.unwrap_or(JsValue::UNDEFINED)).clone());
    let reply = match kv::text_within(&binding, &key, 60, 3_000).await {
        Read::Value(Some(_)) => Reply::redirect(302, "https://example.com/", Default::default()),
        _ => Reply::text(404, "not found"),
    };
    respond::to_response(reply)
}
