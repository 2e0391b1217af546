//! Per-request glue: facts in, core decision, response and click out.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use redirector_core::admin::ADMIN_PREFIX;
use redirector_core::cache::{IsolateCache, LINK_CACHE_TTL_MS, RULE_CACHE_TTL_MS};
use redirector_core::{handle, Deployment, ExplainAccess, RequestFacts};
use wasm_bindgen::JsValue;
use worker::{console_error, Context, Date, Env, Request, Response, Result};

use crate::bindings::Bindings;
use crate::store::EdgeStore;
use crate::{clicks, respond, sentry, RELEASE};

thread_local! {
    /// Parsed records, misses and rule arrays, per isolate (redirector_core::cache).
    static CACHE: OnceCell<Rc<RefCell<IsolateCache>>> = const { OnceCell::new() };
    /// Vars and secrets, read once per isolate (a new version or secret means new isolates).
    static SETTINGS: OnceCell<Rc<Settings>> = const { OnceCell::new() };
}

/// What the worker reads from vars and secrets.
struct Settings {
    explain: Option<String>,
    explain_token: Option<String>,
    admin_token: Option<String>,
    sentry: Option<sentry::Reporter>,
}

impl Settings {
    fn explain_access(&self) -> ExplainAccess<'_> {
        match self.explain.as_deref() {
            Some("on") => ExplainAccess::On,
            Some("token") => self.explain_token.as_deref().map_or(ExplainAccess::Off, ExplainAccess::Token),
            _ => ExplainAccess::Off,
        }
    }
}

fn settings(env: &Env, env_name: &str) -> Rc<Settings> {
    SETTINGS.with(|cell| {
        cell.get_or_init(|| {
            let secret = |name| env.secret(name).ok().map(|s| s.to_string());
            Rc::new(Settings {
                explain: var(env, "EXPLAIN"),
                explain_token: secret("EXPLAIN_TOKEN"),
                admin_token: secret("ADMIN_TOKEN"),
                sentry: sentry::Reporter::from_env(env, env_name),
            })
        })
        .clone()
    })
}

/// The isolate's cache, made on the first request. Lifetimes come from the
/// `ROUTE_CACHE_TTL_MS` and `RULES_CACHE_TTL_MS` vars if set (5 s and 30 s if not).
fn isolate_cache(env: &Env) -> Rc<RefCell<IsolateCache>> {
    CACHE.with(|cell| {
        cell.get_or_init(|| {
            let ms = |name, default| var(env, name).and_then(|v| v.parse().ok()).unwrap_or(default);
            let cache = IsolateCache::new(ms("ROUTE_CACHE_TTL_MS", LINK_CACHE_TTL_MS), ms("RULES_CACHE_TTL_MS", RULE_CACHE_TTL_MS));
            Rc::new(RefCell::new(cache))
        })
        .clone()
    })
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

pub async fn serve(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let bindings = Bindings::from_env(&env);
    // Bodies are read for the admin API only (bounded by its own size check).
    let body = if req.path().starts_with(ADMIN_PREFIX) { req.text().await.ok() } else { None };
    let cache = isolate_cache(&env);
    let url = req.url()?;
    // The raw method: worker::Method maps unknown methods to GET.
    let method = req.inner().method();
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (referer, user_agent, accept_language, cookie) =
        (header("referer"), header("user-agent"), header("accept-language"), header("cookie"));
    let (client_ip, authorization, explain_country) =
        (header("cf-connecting-ip"), header("authorization"), header("x-redirector-country"));
    let country = cf_string(&req, "country");
    let colo = cf_string(&req, "colo");
    let facts = RequestFacts {
        method: &method,
        country: country.as_deref(),
        colo: colo.as_deref(),
        referer: referer.as_deref(),
        user_agent: user_agent.as_deref(),
        accept_language: accept_language.as_deref(),
        cookie: cookie.as_deref(),
        client_ip: client_ip.as_deref(),
        authorization: authorization.as_deref(),
        explain_country: explain_country.as_deref(),
        body: body.as_deref(),
        now_ms: started as i64,
    };
    let settings = settings(&env, &bindings.env);
    let deployment = Deployment {
        env: &bindings.env,
        release: RELEASE,
        bindings: &bindings.report,
        explain: settings.explain_access(),
        admin_token: settings.admin_token.as_deref(),
    };
    let store = bindings.kv.clone().map(|kv| EdgeStore { env: bindings.env.clone(), kv, route_do: bindings.route_do.clone() });

    let mut handled = handle(&url, &facts, store.as_ref(), &cache, &deployment).await;

    if let Some(fault) = &handled.fault {
        console_error!("[{}] {} {}: {fault}", bindings.env, method, url);
        if let Some(reporter) = &settings.sentry {
            let fault = sentry::Fault {
                error: fault,
                outcome: handled.click.outcome.as_str(),
                route: &handled.click.route_id,
                url: url.as_str(),
                method: &method,
            };
            reporter.report(&ctx, RELEASE, fault);
        }
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
