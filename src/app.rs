//! Per-request glue: facts in, core decision, response and click out. The edge
//! script's flow ([`serve`]); the admin API is forwarded to the control script
//! ([`crate::forward`]), whose flow is `crate::control`. Both share the isolate
//! state and [`finish`].

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use redirector_core::admin::ADMIN_PREFIX;
use redirector_core::auth::authorize;
use redirector_core::cache::{IsolateCache, LINK_CACHE_TTL_MS, RULE_CACHE_TTL_MS};
use redirector_core::click::Outcome;
use redirector_core::handler::{rate_limited, refuse};
use redirector_core::{handle, Body, Deferred, Deployment, ExplainAccess, Handled, RequestFacts, RequestUrl};
use worker::{console_error, web_sys, Context, Env, Result};

use crate::bindings::Bindings;
use crate::ryw::Pins;
use crate::limits::MissLimiter;
use crate::store::{EdgeStore, Timeouts, DO_TIMEOUT_MS, KV_TIMEOUT_MS};
use crate::forward::Failure;
use crate::incoming::Incoming;
use crate::{clicks, respond, sentry, RELEASE};

thread_local! {
    /// What is read once per isolate (a new version or secret means new isolates).
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// Per-isolate state: the bindings, vars and secrets, and the cache of parsed
/// records, misses and rule arrays (redirector_core::cache).
pub(crate) struct Isolate {
    pub(crate) bindings: Bindings,
    pub(crate) settings: Settings,
    pub(crate) cache: Rc<RefCell<IsolateCache>>,
    /// KV and the Durable Object behind the core's store seam (`None` without KV).
    pub(crate) store: Option<EdgeStore>,
}

impl Isolate {
    pub(crate) fn get(env: &Env) -> Rc<Isolate> {
        ISOLATE.with(|cell| cell.get_or_init(|| Rc::new(Isolate::read(env))).clone())
    }

    fn read(env: &Env) -> Isolate {
        // The first request of a wasm instance: every start function has run, so
        // this hook goes on top of the `worker` crate's (which it keeps calling).
        crate::install_panic_hook();
        crate::unicode::install();
        let bindings = Bindings::from_env(env);
        let secret = |name| env.secret(name).ok().map(|s| s.to_string());
        let settings = Settings {
            explain: var(env, "EXPLAIN"),
            explain_token: secret("EXPLAIN_TOKEN"),
            admin_token: secret("ADMIN_TOKEN"),
            sentry: sentry::Reporter::from_env(env, &bindings.env),
            #[cfg(feature = "control")]
            body_timeout_ms: var(env, "ADMIN_BODY_TIMEOUT_MS").and_then(|v| v.parse().ok()).unwrap_or(redirector_core::admin::BODY_TIMEOUT_MS),
            miss_limiter: MissLimiter::from_env(env, &bindings.env),
        };
        // Lifetimes from the ROUTE_CACHE_TTL_MS and RULES_CACHE_TTL_MS vars if set.
        let ms = |name, default| var(env, name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let cache = IsolateCache::new(ms("ROUTE_CACHE_TTL_MS", LINK_CACHE_TTL_MS), ms("RULES_CACHE_TTL_MS", RULE_CACHE_TTL_MS));
        let pins = Pins::new(&bindings.env, settings.admin_token.as_deref());
        let timeouts = Timeouts {
            kv_ms: ms("KV_TIMEOUT_MS", KV_TIMEOUT_MS as i64) as u64,
            object_ms: ms("DO_TIMEOUT_MS", DO_TIMEOUT_MS as i64) as u64,
        };
        let store = bindings.kv.clone().zip(bindings.kv_object.clone()).map(|(kv, kv_object)| EdgeStore {
            kv,
            kv_object,
            route_do: bindings.route_do.clone(),
            pins,
            timeouts,
        });
        Isolate { bindings, settings, cache: Rc::new(RefCell::new(cache)), store }
    }

    pub(crate) fn deployment(&self) -> Deployment<'_> {
        Deployment {
            env: &self.bindings.env,
            release: RELEASE,
            bindings: &self.bindings.report,
            explain: self.settings.explain_access(),
            admin_token: self.settings.admin_token.as_deref(),
            memory_bytes: memory_bytes(),
        }
    }
}

/// What the worker reads from vars and secrets.
pub(crate) struct Settings {
    explain: Option<String>,
    explain_token: Option<String>,
    pub(crate) admin_token: Option<String>,
    sentry: Option<sentry::Reporter>,
    /// How long an admin body may take to arrive (`ADMIN_BODY_TIMEOUT_MS`).
    #[cfg(feature = "control")]
    pub(crate) body_timeout_ms: u64,
    /// The rate limit on clients probing missing paths (`MISS_LIMIT_<ENV>`).
    miss_limiter: MissLimiter,
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

/// 64 random bits (a new client's canary id). `Math.random` suffices: the id only
/// spreads clients over buckets, it guards nothing.
fn random_u64() -> u64 {
    let half = || (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (half() << 32) | half()
}

pub async fn serve(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    // js_sys's static Date.now(): worker's Date::now() allocates a Date object.
    let started = js_sys::Date::now() as u64;
    let isolate = Isolate::get(&env);
    let (bindings, settings) = (&isolate.bindings, &isolate.settings);
    let incoming = Incoming::read(&req);
    let url = RequestUrl::parse(&incoming.url)?;
    // Other headers are read only where they are used.
    let headers = OnceCell::new();
    let all_headers = || headers.get_or_init(|| req.headers());
    let header = |name: &str| all_headers().get(name).ok().flatten();
    // Read only if a record with conditions or a canary (or explain) asks.
    let (accept_language, cookie) = (|| header("accept-language"), || header("cookie"));
    // Only the reserved paths (admin, explain) use these two; any spelling of such a
    // path that this test misses is refused there for want of a token (fails closed).
    // (A byte-window test: `str::contains` sets up a two-way search, a cost per request.)
    let reserved = url.path().as_bytes().windows(10).any(|w| w == b"redirector");
    let reserved_header = |name: &str| if reserved { header(name) } else { None };
    let (authorization, explain_country) = (reserved_header("authorization"), reserved_header("x-redirector-country"));
    #[cfg(feature = "test-panic")]
    crate::test_panic::maybe_panic(&url, isolate.store.as_ref()).await;
    let facts = RequestFacts {
        accept_language: Deferred::Read(&accept_language),
        cookie: Deferred::Read(&cookie),
        random: random_u64(),
        authorization: authorization.as_deref(),
        explain_country: explain_country.as_deref(),
        // The edge never reads a body: admin writes are the control script's.
        body: Body::NotRead,
        ..incoming.facts(started as i64)
    };
    let deployment = isolate.deployment();
    let handled = if url.path().starts_with(ADMIN_PREFIX) {
        // The control script answers, and writes the click; the edge only pins. The
        // token is checked here first too, so nobody without it reaches the control
        // script (which checks it again: it trusts no caller).
        let forwarded = match authorize(settings.admin_token.as_deref(), authorization.as_deref()) {
            Ok(()) => crate::forward::admin(&req, bindings, isolate.store.as_ref().map(|s| &s.pins), &isolate.cache).await,
            Err(e) => Err(Failure::Unanswered(e)),
        };
        match forwarded {
            Ok(response) => return Ok(response),
            Err(Failure::Unanswered(e)) => refuse(&url, &facts, &deployment, e),
            Err(Failure::Unopened(e)) => {
                // The control script wrote this request's click already.
                let handled = refuse(&url, &facts, &deployment, e);
                return finish_with(&isolate, &ctx, &url, handled, started, false);
            }
        }
    } else {
        let mut handled = handle(&url, &facts, isolate.store.as_ref(), &isolate.cache, &deployment).await;
        // A miss may be a client probing for links: past its limit it gets 429 instead.
        // Only misses ask the limiter, so no redirect ever waits on it or is refused.
        if handled.click.outcome == Outcome::Miss && settings.miss_limiter.exceeded(header("cf-connecting-ip").as_deref()).await {
            handled = rate_limited(handled);
        }
        handled
    };
    finish(&isolate, &ctx, &url, handled, started)
}

/// The end of every request in either script: log and report a fault, write the
/// click (with the time taken), and answer.
pub(crate) fn finish(isolate: &Isolate, ctx: &Context, url: &RequestUrl<'_>, handled: Handled, started: u64) -> Result<web_sys::Response> {
    finish_with(isolate, ctx, url, handled, started, true)
}

/// [`finish`], writing the click only if `click` (one per request: a forwarded
/// request's may be the control script's).
fn finish_with(isolate: &Isolate, ctx: &Context, url: &RequestUrl<'_>, mut handled: Handled, started: u64, click: bool) -> Result<web_sys::Response> {
    let (bindings, settings) = (&isolate.bindings, &isolate.settings);
    if let Some(fault) = &handled.fault {
        // No query string, cookies or client address in logs or Sentry: the path
        // identifies the route, the rest may be personal data.
        let where_ = url.without_query();
        let method = &handled.click.method;
        console_error!("[{}] {} {}: {fault}", bindings.env, method, where_);
        if let Some(reporter) = &settings.sentry {
            let fault = sentry::Fault {
                error: fault,
                outcome: handled.click.outcome.as_str(),
                route: &handled.click.route_id,
                url: &where_,
                method,
            };
            reporter.report(ctx, RELEASE, fault);
        }
    }
    if click {
        handled.click.latency_ms = (js_sys::Date::now() as u64).saturating_sub(started) as f64;
        clicks::write(bindings.clicks.as_ref(), &handled.click);
    }
    respond::to_response(handled.reply)
}

/// The instance's wasm linear memory, in bytes.
fn memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0) as u64 * 65_536;
    #[cfg(not(target_arch = "wasm32"))]
    0
}
