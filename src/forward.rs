//! The edge script's side of the admin API: every `/__redirector/admin/` request
//! goes, untouched (method, headers, body stream), to the control script through
//! the `CONTROL_<ENV>` service binding, and its answer comes back to the client.
//!
//! An accepted write comes back sealed ([`redirector_core::forward`]): the edge pins
//! the writes in this location's Cache API ([`crate::ryw`]) and drops its isolate's
//! copies, as the worker did when it held the admin API itself, then answers with
//! the inner body and without the [`WRITES_HEADER`]. The control script writes the
//! request's click; the edge writes one only when it answers itself (no binding, or
//! the control script failed: 503, `handler::refuse`).

use std::cell::RefCell;

use redirector_core::cache::IsolateCache;
use redirector_core::error::{Error, StoreError};
use redirector_core::forward::{open, WRITES_HEADER};
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_error, web_sys, worker_sys};

use crate::bindings::Bindings;
use crate::now_ms;
use crate::ryw::Pins;

fn unavailable(reason: String) -> Error {
    Error::StoreUnavailable(StoreError(reason))
}

/// Forward one admin request and answer it; `Err` is what the edge answers instead.
pub async fn admin(req: &web_sys::Request, bindings: &Bindings, pins: Option<&Pins>, cache: &RefCell<IsolateCache>) -> Result<web_sys::Response, Error> {
    let name = &bindings.control_name;
    let Some(control) = &bindings.control else {
        return Err(unavailable(format!("{name} binding is not configured")));
    };
    let failed = |e: wasm_bindgen::JsValue| unavailable(format!("{name}: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))));
    let promise = control.unchecked_ref::<worker_sys::Fetcher>().fetch(req).map_err(failed)?;
    let res: web_sys::Response = JsFuture::from(promise).await.map_err(failed)?.unchecked_into();
    let headers = res.headers();
    if !headers.has(WRITES_HEADER).unwrap_or(false) {
        return Ok(res);
    }
    let text = JsFuture::from(res.text().map_err(failed)?).await.map_err(failed)?.as_string().unwrap_or_default();
    let envelope = open(&text)?;
    if let Some(pins) = pins {
        pins.pin(&envelope.writes).await;
    }
    cache.borrow_mut().wrote(now_ms(), envelope.writes.iter().map(|w| w.key.as_str()));
    // A fetched response's headers are immutable: the client's answer gets a copy.
    let headers = web_sys::Headers::new_with_headers(&headers).map_err(failed)?;
    let _ = headers.delete(WRITES_HEADER);
    let init = web_sys::ResponseInit::new();
    init.set_status(res.status());
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(Some(&envelope.body), &init).map_err(|e| {
        console_error!("admin answer could not be rebuilt: {e:?}");
        unavailable("the admin answer could not be rebuilt".into())
    })
}
