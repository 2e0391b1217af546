//! The control script's flow (`--features control`, `redirector-control-<env>`):
//! the admin API, reached only through the edge script's `CONTROL_<ENV>` service
//! binding ([`crate::forward`]), in the script that also holds the `RouteDo` class
//! ([`crate::route_do`]). Keeping both out of the edge script keeps the redirect
//! path's wasm small (docs/performance.md).
//!
//! Per request: the token, then the body ([`body_plan`], at most so much, within a
//! time limit), then [`handle_admin`]; the click and any fault go out as in the edge
//! ([`crate::app::finish`]). An accepted write's answer is sealed with the writes
//! ([`redirector_core::forward`]) for the edge to pin.

use futures_util::StreamExt;
use redirector_core::admin::body_plan;
use redirector_core::forward::{seal, WRITES_HEADER};
use redirector_core::{handle_admin, AdminHandled, Body, RequestFacts, RequestUrl};
use worker::{web_sys, ByteStream, Context, Env, Result};

use crate::app::{finish, Isolate};
use crate::incoming::Incoming;

pub async fn serve(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    let started = js_sys::Date::now() as u64;
    let isolate = Isolate::get(&env);
    let incoming = Incoming::read(&req);
    let url = RequestUrl::parse(&incoming.url)?;
    #[cfg(feature = "test-panic")]
    crate::test_panic::maybe_panic(&url, isolate.store.as_ref()).await;
    let headers = req.headers();
    let authorization = headers.get("authorization").ok().flatten();
    let admin_token = isolate.settings.admin_token.as_deref();
    // A body is read only for an authorised admin write, and only so much of it.
    let body = match body_plan(url.path(), &incoming.method, admin_token, authorization.as_deref()) {
        Some(max) => read_body(&req, &headers, max, isolate.settings.body_timeout_ms).await,
        None => Err(Body::NotRead),
    };
    let facts = RequestFacts {
        authorization: authorization.as_deref(),
        body: body.as_deref().map_or_else(|failure| *failure, Body::Text),
        ..incoming.facts(started as i64)
    };
    let AdminHandled { mut handled, writes } = handle_admin(&url, &facts, isolate.store.as_ref(), &isolate.deployment()).await;
    if !writes.is_empty() {
        handled.reply.body = seal(&handled.reply.body, &writes);
        handled.reply = handled.reply.header(WRITES_HEADER, "1");
    }
    finish(&isolate, &ctx, &url, handled, started)
}

/// An admin body: refused by `Content-Length` before reading, cut off once it passes
/// `max` bytes, and abandoned if it has not arrived within `timeout_ms`. The `Err`
/// side is the [`Body`] that says why there is no text.
async fn read_body(req: &web_sys::Request, headers: &web_sys::Headers, max: usize, timeout_ms: u64) -> std::result::Result<String, Body<'static>> {
    let declared = headers.get("content-length").ok().flatten().and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(Body::TooLarge);
    }
    let Some(stream) = req.body() else { return Ok(String::new()) };
    let read = Box::pin(async move {
        let mut bytes = ByteStream::from(stream);
        let mut out = Vec::new();
        while let Some(chunk) = bytes.next().await {
            out.extend_from_slice(&chunk.map_err(|_| Body::Unreadable)?);
            if out.len() > max {
                return Err(Body::TooLarge);
            }
        }
        String::from_utf8(out).map_err(|_| Body::Unreadable)
    });
    crate::timer::within(timeout_ms, read).await.unwrap_or(Err(Body::TimedOut))
}
