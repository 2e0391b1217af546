//! Baseline (d) for `scripts/bench`: the smallest workers-rs worker, answering the
//! same fixed 302 as `bench/static-302.js`. What it costs over (c) is the floor any
//! Rust worker pays per request (worker-build's entry shim, wasm-bindgen's promise
//! and string glue), before doing any work of its own.
//!
//! With the var `KV_READ` set (bench/isolate.mjs, `BENCH_FIRST_HITS=1`: (d')), it first
//! reads the link's key (host and path) from the `ROUTES` KV namespace through the
//! `worker` crate, as text with `cacheTtl` 60 as the worker reads, and answers 404
//! without a value: the least a workers-rs worker does for a first hit.
use worker::{event, web_sys, Context, Env, Result};

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let mut status = 302;
    if env.var("KV_READ").is_ok() {
        // Host (without the port) and path, as (b) builds the key.
        let url = req.url();
        let rest = url.split_once("://").map_or("", |(_, rest)| rest.split('?').next().unwrap_or(""));
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let key = format!("{}{path}", authority.split(':').next().unwrap_or(""));
        if env.kv("ROUTES")?.get(&key).cache_ttl(60).text().await?.is_none() {
            status = 404;
        }
    }
    let headers = web_sys::Headers::new()?;
    headers.set("location", "https://example.com/")?;
    headers.set("cache-control", "private, no-store")?;
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_str_and_init(None, &init)?)
}
