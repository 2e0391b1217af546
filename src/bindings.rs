//! Binding selection: the `ENVIRONMENT` var names the env, and every binding name is
//! derived from it (`local` -> `ROUTES_KV_LOCAL`, `ROUTE_DO_LOCAL`, `CLICKS_LOCAL`),
//! so no env can reach another env's resources by accident.

use worker::{AnalyticsEngineDataset, Env, ObjectNamespace};

use crate::kv::KvRouteStore;

/// Value used when `ENVIRONMENT` is not set; it matches no configured binding, so
/// such a worker answers 503 and its health check says why.
pub const UNSET_ENV: &str = "unset";

pub struct Bindings {
    pub env: String,
    pub routes: Option<KvRouteStore>,
    pub route_do: Option<ObjectNamespace>,
    pub clicks: Option<AnalyticsEngineDataset>,
    /// `(binding name, present)` in a stable order, for the health check.
    pub report: Vec<(String, bool)>,
}

/// The binding names for an env name.
pub fn binding_names(env: &str) -> [String; 3] {
    let upper = env.to_ascii_uppercase();
    [format!("ROUTES_KV_{upper}"), format!("ROUTE_DO_{upper}"), format!("CLICKS_{upper}")]
}

impl Bindings {
    pub fn from_env(env: &Env) -> Self {
        let name = env
            .var("ENVIRONMENT")
            .map(|v| v.to_string())
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .unwrap_or_else(|| UNSET_ENV.to_string());
        let [kv_name, do_name, ae_name] = binding_names(&name);
        let routes = env.kv(&kv_name).ok().map(KvRouteStore::new);
        let route_do = env.durable_object(&do_name).ok();
        let clicks = present(env, &ae_name).then(|| env.analytics_engine(&ae_name).ok()).flatten();
        let report = vec![
            (kv_name, routes.is_some()),
            (do_name, route_do.is_some()),
            (ae_name, clicks.is_some()),
        ];
        Bindings { env: name, routes, route_do, clicks, report }
    }
}

/// `env.analytics_engine` casts any value without checking it, so check it exists.
fn present(env: &Env, name: &str) -> bool {
    let env: &wasm_bindgen::JsValue = env.as_ref();
    js_sys::Reflect::get(env, &name.into()).is_ok_and(|v| !v.is_undefined() && !v.is_null())
}
