//! The one conversion from a core [`Reply`] to a `Response`.
//!
//! Built directly as a `web_sys::Response`: the worker crate's `Response` would be
//! converted into one anyway. The headers cross into JS as one string, names and
//! values joined by U+001F ([`crate::packed`]), and a small JS function builds the `Headers` and the
//! `Response` from it: one crossing instead of seven (`Headers`, each `set`, the
//! init object, its status and headers, the `Response`). A reply whose headers
//! contain U+001F (none should: they are validated URLs and fixed tokens) is built
//! the long way, header by header, so none is ever split wrongly.

use redirector_core::reply::Reply;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::web_sys::{Headers, Response, ResponseInit};
use worker::Result;

use crate::packed;

#[wasm_bindgen(inline_js = "export function packed_response(status, packed, body) {
  const h = new Headers();
  const f = packed.split('\\x1f');
  for (let i = 0; i + 1 < f.length; i += 2) h.set(f[i], f[i + 1]);
  return new Response(body, { status, headers: h });
}")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn packed_response(status: u16, packed: &str, body: Option<&str>) -> std::result::Result<Response, JsValue>;
}

pub fn to_response(reply: Reply) -> Result<Response> {
    let body = (!reply.body.is_empty()).then_some(reply.body.as_str());
    if let Some(packed) = packed::join(reply.headers.iter().flat_map(|(name, value)| [*name, value.as_str()])) {
        return Ok(packed_response(reply.status, &packed, body)?);
    }
    let headers = Headers::new()?;
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    let init = ResponseInit::new();
    init.set_status(reply.status);
    init.set_headers(&headers);
    Ok(Response::new_with_opt_str_and_init(body, &init)?)
}
