//! Per-request glue: facts in, core decision, response and click out.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use redirector_core::admin::ADMIN_PREFIX;
use redirector_core::cache::{IsolateCache, LINK_CACHE_TTL_MS, RULE_CACHE_TTL_MS};
use redirector_core::{handle, Deployment, ExplainAccess, RequestFacts};
use wasm_bindgen::JsValue;
use url::Url;
use worker::{console_error, wasm_bindgen_futures, web_sys, Context, Env, Result};

use crate::bindings::Bindings;
use crate::store::EdgeStore;
use crate::{clicks, respond, sentry, RELEASE};

thread_local! {
    /// What is read once per isolate (a new version or secret means new isolates).
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// Per-isolate state: the bindings, vars and secrets, and the cache of parsed
/// records, misses and rule arrays (redirector_core::cache).
struct Isolate {
    bindings: Bindings,
    settings: Settings,
    cache: Rc<RefCell<IsolateCache>>,
    /// KV and the Durable Object behind the core's store seam (`None` without KV).
    store: Option<EdgeStore>,
}

impl Isolate {
    fn get(env: &Env) -> Rc<Isolate> {
        ISOLATE.with(|cell| cell.get_or_init(|| Rc::new(Isolate::read(env))).clone())
    }

    fn read(env: &Env) -> Isolate {
        let bindings = Bindings::from_env(env);
        let secret = |name| env.secret(name).ok().map(|s| s.to_string());
        let settings = Settings {
            explain: var(env, "EXPLAIN"),
            explain_token: secret("EXPLAIN_TOKEN"),
            admin_token: secret("ADMIN_TOKEN"),
            sentry: sentry::Reporter::from_env(env, &bindings.env),
        };
        // Lifetimes from the ROUTE_CACHE_TTL_MS and RULES_CACHE_TTL_MS vars if set.
        let ms = |name, default| var(env, name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let cache = IsolateCache::new(ms("ROUTE_CACHE_TTL_MS", LINK_CACHE_TTL_MS), ms("RULES_CACHE_TTL_MS", RULE_CACHE_TTL_MS));
        let store = bindings.kv.clone().map(|kv| EdgeStore { env: bindings.env.clone(), kv, route_do: bindings.route_do.clone() });
        Isolate { bindings, settings, cache: Rc::new(RefCell::new(cache)), store }
    }
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

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

pub async fn serve(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    // js_sys's static Date.now(): worker's Date::now() allocates a Date object.
    let started = js_sys::Date::now() as u64;
    let isolate = Isolate::get(&env);
    let (bindings, settings) = (&isolate.bindings, &isolate.settings);
    let url = Url::parse(&req.url())?;
    let method = req.method();
    // Bodies are read for the admin API only (bounded by its own size check).
    let body = if url.path().starts_with(ADMIN_PREFIX) { body_text(&req).await } else { None };
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (referer, user_agent, accept_language, cookie) =
        (header("referer"), header("user-agent"), header("accept-language"), header("cookie"));
    // Only the reserved paths (admin, explain) use these two; any spelling of such a
    // path that this test misses is refused there for want of a token (fails closed).
    let reserved = url.path().contains("redirector");
    let reserved_header = |name: &str| if reserved { header(name) } else { None };
    let (client_ip, authorization, explain_country) =
        (header("cf-connecting-ip"), reserved_header("authorization"), reserved_header("x-redirector-country"));
    let [country, colo] = cf_strings(&req, ["country", "colo"]);
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
    let deployment = Deployment {
        env: &bindings.env,
        release: RELEASE,
        bindings: &bindings.report,
        explain: settings.explain_access(),
        admin_token: settings.admin_token.as_deref(),
    };
    let mut handled = handle(&url, &facts, isolate.store.as_ref(), &isolate.cache, &deployment).await;

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
    handled.click.latency_ms = (js_sys::Date::now() as u64).saturating_sub(started) as f64;
    clicks::write(bindings.clicks.as_ref(), &handled.click);
    respond::to_response(handled.reply)
}

async fn body_text(req: &web_sys::Request) -> Option<String> {
    let promise = req.text().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise).await.ok()?.as_string()
}

/// String properties of `request.cf`, each `None` when absent (locally and in tests
/// that do not set it). Read once per request, here only: the runtime builds the
/// whole object on the first access, the costliest single step of a request
/// (docs/performance.md).
pub fn cf_strings<const N: usize>(req: &web_sys::Request, names: [&str; N]) -> [Option<String>; N] {
    let cf = js_sys::Reflect::get(req, &JsValue::from_str("cf")).ok().filter(|cf| cf.is_object());
    names.map(|name| cf.as_ref().and_then(|cf| js_sys::Reflect::get(cf, &JsValue::from_str(name)).ok()?.as_string()))
}
