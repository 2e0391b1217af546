//! Binding selection: the `ENVIRONMENT` var names the env, and every binding name is
//! derived from it (`local` -> `ROUTES_KV_LOCAL`, `ROUTE_DO_LOCAL`, `CLICKS_LOCAL`,
//! and in the edge script `CONTROL_LOCAL`, the service binding to the control
//! script), so no env can reach another env's resources by accident.

use worker::kv::KvStore;
use worker::{AnalyticsEngineDataset, Env, ObjectNamespace};

/// Value used when `ENVIRONMENT` is not set; it matches no configured binding, so
/// such a worker answers 503 and its health check says why.
pub const UNSET_ENV: &str = "unset";

pub struct Bindings {
    pub env: String,
    pub kv: Option<KvStore>,
    /// The same KV namespace as its JS object, for route reads ([`crate::kv`]).
    pub kv_object: Option<wasm_bindgen::JsValue>,
    pub route_do: Option<ObjectNamespace>,
    pub clicks: Option<AnalyticsEngineDataset>,
    /// The edge script's service binding to the control script (`CONTROL_<ENV>`), as
    /// its JS object ([`crate::forward`]); the control script has none.
    pub control: Option<wasm_bindgen::JsValue>,
    pub control_name: String,
    /// `(binding name, present)` in a stable order, for the health check.
    pub report: Vec<(String, bool)>,
}

/// The binding names for an env name.
pub fn binding_names(env: &str) -> [String; 4] {
    let upper = env.to_ascii_uppercase();
    [format!("ROUTES_KV_{upper}"), format!("ROUTE_DO_{upper}"), format!("CLICKS_{upper}"), format!("CONTROL_{upper}")]
}

/// The env name from the `ENVIRONMENT` var (`unset` when missing or malformed).
pub fn env_name(env: &Env) -> String {
    env.var("ENVIRONMENT")
        .map(|v| v.to_string())
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or_else(|| UNSET_ENV.to_string())
}

impl Bindings {
    pub fn from_env(env: &Env) -> Self {
        let name = env_name(env);
        let [kv_name, do_name, ae_name, control_name] = binding_names(&name);
        let kv = present(env, &kv_name).then(|| env.kv(&kv_name).ok()).flatten();
        let kv_object = kv.as_ref().and_then(|_| js_sys::Reflect::get(env.as_ref(), &kv_name.as_str().into()).ok());
        let route_do = env.durable_object(&do_name).ok();
        let clicks = present(env, &ae_name).then(|| env.analytics_engine(&ae_name).ok()).flatten();
        let mut report = vec![(kv_name, kv.is_some()), (do_name, route_do.is_some()), (ae_name, clicks.is_some())];
        let control = if cfg!(feature = "control") || !present(env, &control_name) {
            None
        } else {
            js_sys::Reflect::get(env.as_ref(), &control_name.as_str().into()).ok()
        };
        if !cfg!(feature = "control") {
            report.push((control_name.clone(), control.is_some()));
        }
        Bindings { env: name, kv, kv_object, route_do, clicks, control, control_name, report }
    }
}

/// Some bindings are cast without a check, so check they exist.
fn present(env: &Env, name: &str) -> bool {
    let env: &wasm_bindgen::JsValue = env.as_ref();
    js_sys::Reflect::get(env, &name.into()).is_ok_and(|v| !v.is_undefined() && !v.is_null())
}
