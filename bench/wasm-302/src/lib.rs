//! Baseline (d) for `scripts/bench`: the smallest workers-rs worker, answering the
//! same fixed 302 as `bench/static-302.js`. What it costs over (c) is the floor any
//! Rust worker pays per request (worker-build's entry shim, wasm-bindgen's promise
//! and string glue), before doing any work of its own.
use worker::{event, web_sys, Context, Env, Result};

#[event(fetch)]
async fn fetch(_req: web_sys::Request, _env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new()?;
    headers.set("location", "https://example.com/")?;
    headers.set("cache-control", "private, no-store")?;
    let init = web_sys::ResponseInit::new();
    init.set_status(302);
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_str_and_init(None, &init)?)
}
