//! # redirector (the Worker)
//!
//! A thin layer that adapts Cloudflare bindings to [`redirector_core`], where every
//! decision is made. It is built twice, into two worker scripts per env
//! (docs/architecture.md): the **edge script** (default features: redirects, explain,
//! health; the admin API forwarded by [`forward`]) and the **control script**
//! (`--features control`: the admin API in `control` and the `RouteDo` class in
//! `route_do`), reached only through the edge's `CONTROL_<ENV>` service binding.
//! Reading order for a newcomer:
//!
//! 0. `src/entry.mjs` (edge) and `src/control.mjs` (control): the JS modules workerd
//!    loads. Through `src/wasm-handler.mjs` they call the wasm `fetch` below directly,
//!    skipping worker-build's per-request entrypoint class and Proxy.
//! 1. [`fetch`] (below): the Rust entry point; polls [`app::serve`] once and returns
//!    a cached hit's `Response` at once, anything waiting on I/O as a `Promise`.
//! 2. [`app::serve`]: gathers the request facts, runs [`redirector_core::handle`]
//!    (canonicalise -> look up -> validate -> respond -> click), then writes the
//!    click and logs any fault ([`app::finish`]); in the control script,
//!    `control::serve` does the same around [`redirector_core::handle_admin`].
//! 3. The adapters, one per binding:
//!
//! | module | binding | role |
//! |---|---|---|
//! | [`incoming`] | `Request` | the method, URL, two headers and `cf` fields every request needs, read in one call |
//! | [`bindings`] | `ENVIRONMENT` var | picks `ROUTES_KV_<ENV>`, `ROUTE_DO_<ENV>`, `CLICKS_<ENV>`, `CONTROL_<ENV>` |
//! | [`forward`] | `CONTROL_<ENV>` | edge: the admin API forwarded to the control script; pins the writes it hands back |
//! | `control` | - | control script only: the admin API's glue (token, body, [`redirector_core::handle_admin`], the sealed answer) |
//! | [`store`] | `ROUTES_KV_<ENV>`, `ROUTE_DO_<ENV>` | the core's store seams: KV reads with pins, strong links, admin writes and bulks |
//! | [`kv`] | `ROUTES_KV_<ENV>` | a route's KV read: one call into JS, raced against its deadline there |
//! | [`ryw`] | Cache API | read-your-writes pins and the write marker in the location of an admin write |
//! | [`sentry`] | `SENTRY_DSN` secret | fault events to Sentry, from `ctx.waitUntil` |
//! | [`clicks`] | `CLICKS_<ENV>` | writes the click event as an Analytics Engine data point |
//! | [`respond`] | - | turns a core [`redirector_core::reply::Reply`] into a `Response` |
//! | [`packed`] | - | strings joined by U+001F, to cross into JS in one call (response headers, the click) |
//! | `route_do` | `ROUTE_DO_<ENV>` | control script only: the `RouteDo` Durable Object class: shards (single writer, KV drain, bulks) and strong-link counters |
//! | [`objects`] | `ROUTE_DO_<ENV>` | one typed call to an object (worker -> object, object -> object), with a deadline |
//! | [`limits`] | `MISS_LIMIT_<ENV>` | rate limit on clients probing missing paths (fails open) |
//! | [`drive`] | - | drives a request that waits on I/O to its end, polling as each wait ends (no microtask queue) |
//! | [`timer`] | `setTimeout` | timers and deadlines, so a hanging binding ends the request in time |
//! | [`unicode`] | `String.prototype.normalize`, `URL` | the core's NFC and IDNA (the wasm carries no Unicode tables) |
//!
//! Two modules exist only in builds made for a test or a bench, never in a release:
//! `test_panic` (`--features test-panic`: paths that panic on purpose) and
//! `bench_floor` (`--features bench-floor`: this glue around one KV read and a fixed
//! 302, the floor a first hit is measured against in docs/performance.md).
//!
//! The release (git sha) is baked in at build time by `build.rs`.

pub mod app;
pub mod bindings;
pub mod clicks;
#[cfg(feature = "control")]
pub mod control;
pub mod drive;
pub mod forward;
pub mod incoming;
pub mod kv;
pub mod limits;
pub mod objects;
pub mod packed;
pub mod respond;
#[cfg(feature = "control")]
pub mod route_do;
pub mod ryw;
pub mod sentry;
pub mod store;
pub mod timer;
pub mod unicode;
#[cfg(feature = "test-panic")]
pub mod test_panic;
#[cfg(feature = "bench-floor")]
pub mod bench_floor;

use std::future::Future;
use std::task::{self, Poll, Waker};

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{console_error, web_sys, Env, Result};

/// The git sha this build was made from (`REDIRECTOR_RELEASE`, or `git rev-parse HEAD`).
pub const RELEASE: &str = env!("REDIRECTOR_RELEASE");

/// The time now, Unix ms (js_sys's static `Date.now()`: `worker::Date::now()`
/// allocates a `Date` object).
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Panic recovery, pinned (tests/integration/panic.test.mjs). With `panic = "abort"`
/// a panic ends this wasm instance; `src/wasm-handler.mjs` must then rebuild it and answer
/// every request the instance was serving. The `worker` crate's own hook (set by its
/// start function) logs the panic and sets the `criticalError` flag the entry reads.
/// This adds to it, never replaces it: installed on an instance's first request,
/// after every start function, it calls the previous hook, sets the flag itself
/// (whatever hook ran before), and tells the entry, which answers the requests still
/// waiting on this instance (a panic after an `await` happens in the callback of the
/// promise or timer it waited on, where no `try` of the entry's can catch it) with a 503.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        let global = js_sys::global();
        if let Ok(state) = js_sys::Reflect::get(&global, &JsValue::from_str("__worker_init_state")) {
            if state.is_object() {
                let _ = js_sys::Reflect::set(&state, &JsValue::from_str("criticalError"), &JsValue::TRUE);
            }
        }
        if let Ok(notify) = js_sys::Reflect::get(&global, &JsValue::from_str("__redirectorPanicked")) {
            if let Some(notify) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&notify) {
                let _ = notify.call0(&JsValue::NULL);
            }
        }
    }));
}

/// The fetch handler workerd calls (through `src/wasm-handler.mjs`, from either
/// script's entry module).
///
/// The request is served by polling [`app::serve`] once, here: a request answered
/// from the isolate cache needs no I/O, finishes in that poll, and its `Response` is
/// returned as is, without a `Promise`, a spawned task or a microtask. A request that
/// waits on I/O (KV, the Durable Object, the Cache API) is handed on, part-polled, to
/// [`drive::promise_of`], which polls it again at once with its real waker and
/// answers through a `Promise`. Polling first with a no-op waker is sound: every
/// future keeps the waker of its latest poll (JsFuture, our timers), as the `Future`
/// contract requires.
///
/// It takes the raw `web_sys::Request`: `worker::Request` would read the method, URL,
/// headers and `cf` up front on every request, and `app` reads `cf` itself (costly).
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker::worker_sys::Context) -> JsValue {
    #[cfg(not(any(feature = "bench-floor", feature = "control")))]
    let mut served = Box::pin(app::serve(req, env, worker::Context::new(ctx)));
    #[cfg(feature = "control")]
    let mut served = Box::pin(control::serve(req, env, worker::Context::new(ctx)));
    #[cfg(feature = "bench-floor")]
    let mut served = Box::pin({
        let _ = ctx;
        bench_floor::serve(req, env)
    });
    match served.as_mut().poll(&mut task::Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => response_or_error(result),
        Poll::Pending => {
            drive::promise_of(async move { response_or_error(served.await) }).into()
        }
    }
}

/// An error escaping `serve` (a malformed URL from the runtime, a `Response` the
/// runtime refused) is logged and answered 500, as `#[event(fetch)]` would.
fn response_or_error(result: Result<web_sys::Response>) -> JsValue {
    match result {
        Ok(response) => response.into(),
        Err(e) => {
            console_error!("{e}");
            let reply = redirector_core::reply::Reply::text(500, "internal error");
            respond::to_response(reply).map_or(JsValue::UNDEFINED, JsValue::from)
        }
    }
}
