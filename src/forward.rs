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
use redirector_core::forward::{open, PANICKED_HEADER, WRITES_HEADER};
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, worker_sys};

use crate::bindings::Bindings;
use crate::now_ms;
use crate::ryw::Pins;

/// Why the edge answers an admin request itself (503).
pub enum Failure {
    /// The control script was not reached, or died on the request (its 503 carries
    /// [`PANICKED_HEADER`]): no click was written, so the edge writes it.
    Unanswered(Error),
    /// The control script answered a write, and wrote its click, but its sealed answer
    /// did not open: the edge reports it and writes no second click.
    Unopened(Error),
}

fn unavailable(reason: String) -> Error {
    Error::StoreUnavailable(StoreError(reason))
}

/// Forward one admin request and answer it; `Err` says why the edge answers instead.
pub async fn admin(req: &web_sys::Request, bindings: &Bindings, pins: Option<&Pins>, cache: &RefCell<IsolateCache>) -> Result<web_sys::Response, Failure> {
    let name = &bindings.control_name;
    let Some(control) = &bindings.control else {
        return Err(Failure::Unanswered(unavailable(format!("{name} binding is not configured"))));
    };
    let failed = |e: wasm_bindgen::JsValue| unavailable(format!("{name}: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))));
    let fetched = async {
        let promise = control.unchecked_ref::<worker_sys::Fetcher>().fetch(req).map_err(failed)?;
        Ok(JsFuture::from(promise).await.map_err(failed)?.unchecked_into::<web_sys::Response>())
    };
    let res: web_sys::Response = fetched.await.map_err(Failure::Unanswered)?;
    let headers = res.headers();
    if headers.has(PANICKED_HEADER).unwrap_or(false) {
        return Err(Failure::Unanswered(unavailable(format!("{name}: the control script's instance died on this request"))));
    }
    if !headers.has(WRITES_HEADER).unwrap_or(false) {
        return Ok(res);
    }
    let opened = async {
        let text = JsFuture::from(res.text().map_err(failed)?).await.map_err(failed)?.as_string().unwrap_or_default();
        open(&text)
    };
    let envelope = opened.await.map_err(Failure::Unopened)?;
    if let Some(pins) = pins {
        pins.pin(&envelope.writes).await;
    }
    cache.borrow_mut().wrote(now_ms(), envelope.writes.iter().map(|w| w.key.as_str()));
    // A fetched response's headers are immutable: the client's answer gets a copy,
    // without the seal and without the length and encoding of the envelope's body.
    let rebuilt = || {
        let headers = web_sys::Headers::new_with_headers(&headers)?;
        for name in [WRITES_HEADER, "content-length", "content-encoding"] {
            headers.delete(name)?;
        }
        let init = web_sys::ResponseInit::new();
        init.set_status(res.status());
        init.set_headers(&headers);
        web_sys::Response::new_with_opt_str_and_init(Some(&envelope.body), &init)
    };
    rebuilt().map_err(|e| Failure::Unopened(failed(e)))
}
