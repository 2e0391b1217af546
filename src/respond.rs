//! The one conversion from a core [`Reply`] to a `Response`.
//!
//! Built directly as a `web_sys::Response` with its status and headers: the worker
//! crate's `Response` would be converted into one anyway.

use redirector_core::reply::Reply;
use worker::web_sys::{Headers, Response, ResponseInit};
use worker::Result;

pub fn to_response(reply: Reply) -> Result<Response> {
    let headers = Headers::new()?;
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    let init = ResponseInit::new();
    init.set_status(reply.status);
    init.set_headers(&headers);
    let body = (!reply.body.is_empty()).then_some(reply.body.as_str());
    Ok(Response::new_with_opt_str_and_init(body, &init)?)
}
