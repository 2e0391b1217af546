//! The one conversion from a core [`Reply`] to a `worker::Response`.
//!
//! Built as a fresh response with status and headers (not `Response::redirect` then
//! edits: its headers are immutable).

use redirector_core::reply::Reply;
use worker::{Headers, Response, ResponseBuilder, Result};

pub fn to_response(reply: Reply) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    let builder = ResponseBuilder::new().with_status(reply.status).with_headers(headers);
    Ok(if reply.body.is_empty() { builder.empty() } else { builder.fixed(reply.body.into_bytes()) })
}
