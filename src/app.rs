//! Per-request glue: facts in, core decision, response and click out.

use redirector_core::{handle, Deployment, RequestFacts};
use wasm_bindgen::JsValue;
use worker::{console_error, Date, Env, Request, Response, Result};

use crate::bindings::Bindings;
use crate::{clicks, respond, RELEASE};

pub async fn serve(req: Request, env: Env) -> Result<Response> {
    let started = Date::now().as_millis();
    let bindings = Bindings::from_env(&env);
    let url = req.url()?;
    // The raw method: worker::Method maps unknown methods to GET.
    let method = req.inner().method();
    let headers = req.headers();
    let referer = headers.get("referer").ok().flatten();
    let user_agent = headers.get("user-agent").ok().flatten();
    let country = cf_string(&req, "country");
    let colo = cf_string(&req, "colo");
    let facts = RequestFacts {
        method: &method,
        url: &url,
        country: country.as_deref(),
        colo: colo.as_deref(),
        referer: referer.as_deref(),
        user_agent: user_agent.as_deref(),
        now_ms: started as i64,
    };
    let deployment = Deployment { env: &bindings.env, release: RELEASE, bindings: &bindings.report };

    let mut handled = handle(&facts, bindings.routes.as_ref(), &deployment).await;

    if let Some(fault) = &handled.fault {
        console_error!("[{}] {} {}: {fault}", bindings.env, method, url);
    }
    handled.click.latency_ms = Date::now().as_millis().saturating_sub(started) as f64;
    clicks::write(bindings.clicks.as_ref(), &handled.click);
    respond::to_response(handled.reply)
}

/// A string property of `request.cf`, if there is one (absent locally and in tests
/// that do not set it). Read through Reflect: `Cf::colo` panics when it is missing.
pub fn cf_string(req: &Request, name: &str) -> Option<String> {
    let cf = js_sys::Reflect::get(req.inner(), &JsValue::from_str("cf")).ok()?;
    if cf.is_undefined() || cf.is_null() {
        return None;
    }
    js_sys::Reflect::get(&cf, &JsValue::from_str(name)).ok()?.as_string()
}
