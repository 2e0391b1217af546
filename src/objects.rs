//! Calls to `ROUTE_DO_<ENV>` objects: one POST with the typed message as JSON (see
//! `redirector_core::strong::msg`), a typed answer back. Used by the worker
//! ([`crate::store`]) and by the objects themselves (`crate::route_do`: a counter
//! asking its shard, a shard pushing to counters or asking a coordinator).

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;
use worker::{Method, ObjectNamespace, Request, RequestInit};

/// Send `message` to the object named `name` (`shard:<host>` or `link:<key>`, posted
/// to `/shard` or `/link`, so the object knows which kind of message it reads); its
/// answer, or why there is none.
pub async fn call<A: DeserializeOwned>(ns: &ObjectNamespace, name: &str, message: &impl Serialize) -> Result<A, String> {
    let stub = ns.id_from_name(name).and_then(|id| id.get_stub()).map_err(|e| e.to_string())?;
    let body = serde_json::to_string(message).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
    let kind = name.split(':').next().unwrap_or_default();
    let req = Request::new_with_init(&format!("https://route-do/{kind}"), &init).map_err(|e| e.to_string())?;
    let mut res = stub.fetch_with_request(req).await.map_err(|e| e.to_string())?;
    let text = res.text().await.map_err(|e| e.to_string())?;
    if res.status_code() != 200 {
        return Err(format!("{name}: {} {text}", res.status_code()));
    }
    serde_json::from_str(&text).map_err(|e| format!("{name}: unexpected answer ({e})"))
}
