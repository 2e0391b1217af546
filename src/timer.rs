//! Timers for the worker layer: a JS `setTimeout` as a future, and a deadline on any
//! future, so a binding that hangs (KV, a Durable Object, an admin body) ends the
//! request within a stated time instead of holding it open (docs/failures.md).

use futures_util::future::{select, Either};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures;

/// A timer as a JS promise (its future keeps the latest waker, as the first poll in
/// [`crate::fetch`] needs).
pub fn sleep(ms: u64) -> wasm_bindgen_futures::JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"));
        if let Ok(f) = set_timeout.and_then(|f| f.dyn_into::<js_sys::Function>()) {
            let _ = f.call2(&JsValue::NULL, &resolve, &JsValue::from_f64(ms as f64));
        }
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// `future`'s output, or `Err(())` if it has not finished within `ms`.
pub async fn within<F: std::future::Future>(ms: u64, future: F) -> Result<F::Output, ()> {
    match select(Box::pin(future), Box::pin(sleep(ms))).await {
        Either::Left((out, _)) => Ok(out),
        Either::Right(_) => Err(()),
    }
}
