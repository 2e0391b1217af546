//! # redirector (the Worker)
//!
//! A thin layer that adapts Cloudflare bindings to [`redirector_core`], where every
//! decision is made. Reading order for a newcomer:
//!
//! 0. `src/entry.mjs`: the JS module workerd loads. It calls the wasm `fetch` below
//!    directly, skipping worker-build's per-request entrypoint class and Proxy.
//! 1. [`fetch`] (below): the Rust entry point; hands off at once.
//! 2. [`app::serve`]: gathers the request facts, runs [`redirector_core::handle`]
//!    (canonicalise -> look up -> validate -> respond -> click), then writes the
//!    click and logs any fault.
//! 3. The adapters, one per binding:
//!
//! | module | binding | role |
//! |---|---|---|
//! | [`bindings`] | `ENVIRONMENT` var | picks `ROUTES_KV_<ENV>`, `ROUTE_DO_<ENV>`, `CLICKS_<ENV>` |
//! | [`store`] | `ROUTES_KV_<ENV>`, `ROUTE_DO_<ENV>` | [`redirector_core::store::RouteStore`]: KV reads, strong clicks and admin writes via the DO |
//! | [`ryw`] | Cache API | read-your-writes pins and the write marker in the location of an admin write |
//! | [`sentry`] | `SENTRY_DSN` secret | fault events to Sentry, from `ctx.waitUntil` |
//! | [`clicks`] | `CLICKS_<ENV>` | writes the click event as an Analytics Engine data point |
//! | [`respond`] | - | turns a core [`redirector_core::reply::Reply`] into a `Response` |
//! | [`route_do`] | `ROUTE_DO_<ENV>` | the `RouteDo` Durable Object class: authoritative records, click caps, write-through |
//!
//! The release (git sha) is baked in at build time by `build.rs`.

pub mod app;
pub mod bindings;
pub mod clicks;
pub mod respond;
pub mod route_do;
pub mod ryw;
pub mod sentry;
pub mod store;

use worker::{event, web_sys, Context, Env, Result};

/// The git sha this build was made from (`REDIRECTOR_RELEASE`, or `git rev-parse HEAD`).
pub const RELEASE: &str = env!("REDIRECTOR_RELEASE");

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

// The raw `web_sys::Request`: `worker::Request` would read the method, URL, headers
// and `cf` up front on every request, and `app` reads `cf` itself (it is costly).
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    app::serve(req, env, ctx).await
}
