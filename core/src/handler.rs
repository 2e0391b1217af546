//! The request flow: method -> canonicalise -> reserved paths -> look up ->
//! validate -> choose target -> respond -> click. Pure: the worker supplies the
//! request facts, the store, the rule cache and the deployment facts, and gets back
//! the reply and the click to write.

use std::cell::RefCell;

use crate::admin::{self, AdminOp, ADMIN_PREFIX};
use crate::auth::bearer_matches;
use crate::cache::IsolateCache;
use crate::canon::CanonError;
use crate::click::{referer_host, Click, Outcome};
use crate::decide::{canonical, decide, Purpose};
use crate::error::{Error, StoreError};
use crate::explain;
use crate::reply::{Reply, ALLOW};
use crate::request::{RequestFacts, RequestUrl};
use crate::store::{Admin, RouteReads, StrongLinks, Write, WriteView};
use crate::ua;

/// Paths under this prefix are the redirector's own; they are never looked up in KV.
pub const RESERVED_PREFIX: &str = "/__redirector/";
/// Health endpoint.
pub const HEALTH_PATH: &str = "/__redirector/health";
/// Explain endpoint (see [`crate::explain`]).
pub const EXPLAIN_PATH: &str = "/__redirector/explain";

/// Who may use `/__redirector/explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainAccess<'a> {
    Off,
    On,
    /// Only with `Authorization: Bearer <token>`.
    Token(&'a str),
}

/// What the worker knows about where it runs.
#[derive(Debug, Clone)]
pub struct Deployment<'a> {
    pub env: &'a str,
    pub release: &'a str,
    /// Binding name and whether it is present, in a stable order.
    pub bindings: &'a [(String, bool)],
    pub explain: ExplainAccess<'a>,
    /// The `ADMIN_TOKEN` secret; `None` turns the admin API off.
    pub admin_token: Option<&'a str>,
    /// This instance's wasm linear memory, in bytes (health: memory over time).
    pub memory_bytes: u64,
}

/// The result of handling one request.
#[derive(Debug)]
pub struct Handled {
    pub reply: Reply,
    pub click: Click,
    /// A fault to log and report (store failure, invalid record).
    pub fault: Option<Error>,
}

enum Method {
    Read { head: bool },
    Options,
    Other,
}

fn method(m: &str) -> Method {
    match m {
        "GET" => Method::Read { head: false },
        "HEAD" => Method::Read { head: true },
        "OPTIONS" => Method::Options,
        _ => Method::Other,
    }
}

/// Everything the redirect flow needs of the bindings (the admin API's seam,
/// [`Admin`], is [`handle_admin`]'s: it runs in the control script).
pub trait Stores: RouteReads + WriteView + StrongLinks {}
impl<S: RouteReads + WriteView + StrongLinks> Stores for S {}

/// The click every request starts with, and who asked.
fn new_click(url: &RequestUrl<'_>, req: &RequestFacts<'_>, dep: &Deployment<'_>) -> (Click, ua::Audience) {
    // Who asked: reported in the click, and only people spend a strong link's clicks.
    let agent = ua::UserAgent::parse(req.user_agent);
    let audience = agent.audience(req.method);
    let click = Click {
        route_id: String::new(),
        host: url.host().to_owned(),
        path: url.path().to_owned(),
        target: String::new(),
        status: 0,
        outcome: Outcome::Miss,
        country: req.country.unwrap_or("").to_owned(),
        colo: req.colo.unwrap_or("").to_owned(),
        referer_host: referer_host(req.referer),
        ua_class: agent.class().as_str(),
        env: dep.env.to_owned(),
        release: dep.release.to_owned(),
        method: req.method.to_owned(),
        latency_ms: 0.0,
        variant: String::new(),
        audience: audience.as_str(),
    };
    (click, audience)
}

/// A request the worker answers with `error` before (or instead of) the flow: the
/// admin API when the control script cannot be reached. Its click and fault are
/// made as the flow would make them.
pub fn refuse(url: &RequestUrl<'_>, req: &RequestFacts<'_>, dep: &Deployment<'_>, error: Error) -> Handled {
    let head = req.method.eq_ignore_ascii_case("HEAD");
    failed(error, new_click(url, req, dep).0, head)
}

/// Handle one request. Never panics; every path yields a reply and exactly one click.
/// `store` is `None` when the KV binding is missing, which answers like a KV failure.
pub async fn handle<S: Stores>(
    url: &RequestUrl<'_>,
    req: &RequestFacts<'_>,
    store: Option<&S>,
    rules: &RefCell<IsolateCache>,
    dep: &Deployment<'_>,
) -> Handled {
    // The admin API is not served here but by the control script ([`handle_admin`]);
    // its paths fall under the reserved prefix below (404) if they ever arrive.
    let (mut click, audience) = new_click(url, req, dep);
    let head = match method(req.method) {
        Method::Read { head } => head,
        Method::Options => {
            click.outcome = Outcome::Options;
            click.status = 204;
            let reply = Reply::empty(204).header("allow", ALLOW).header("cache-control", "no-store");
            return Handled { reply, click, fault: None };
        }
        Method::Other => return failed(Error::MethodNotAllowed, click, false),
    };

    let (host, path) = match canonical(url.host(), url.path()) {
        Ok(hp) => hp,
        Err(e) => return failed(e, click, head),
    };
    click.host = host;
    click.path = path;

    let reply = if click.path == HEALTH_PATH {
        click.outcome = Outcome::Health;
        health(dep)
    } else if click.path == EXPLAIN_PATH && explain_allowed(dep.explain, req.authorization) {
        click.outcome = Outcome::Explain;
        match store {
            // A URL read in place always parses (property-tested); were it not to,
            // its host is what the parser refused.
            Some(store) => match url.to_url() {
                Ok(url) => explain::explain(&url, req, store, rules).await,
                Err(_) => return failed(Error::BadRequest(CanonError::InvalidHost), click, head),
            },
            None => return failed(missing_store(), click, head),
        }
    } else if click.path.starts_with(RESERVED_PREFIX) {
        return failed(Error::NotFound, click, head);
    } else {
        let Some(store) = store else {
            return failed(missing_store(), click, head);
        };
        let counts = audience == ua::Audience::Person;
        let decision = decide(url.query(), &click.host, &click.path, req, store, rules, Purpose::Redirect { counts }).await;
        match decision.result {
            Ok(redirect) => {
                click.route_id = redirect.route_id.clone();
                click.target = redirect.location.as_str().to_owned();
                click.variant = redirect.variant.label();
                click.outcome = if redirect.found.source.is_fallback() { Outcome::Fallback } else { Outcome::Redirect };
                redirect.reply()
            }
            Err(e) => return failed(e, click, head),
        }
    };
    click.status = reply.status;
    let reply = if head { reply.without_body() } else { reply };
    Handled { reply, click, fault: None }
}

/// What an admin request produced: the reply and its click, and the writes it made.
/// The caller owns read-your-writes: the edge script pins the writes in its
/// location and drops its isolate's copies ([`crate::forward`],
/// [`IsolateCache::wrote`]).
#[derive(Debug)]
pub struct AdminHandled {
    pub handled: Handled,
    /// Empty unless a write was accepted.
    pub writes: Vec<Write>,
}

/// Handle one admin API request (see [`crate::admin`]); anything outside
/// [`ADMIN_PREFIX`] is a 404. Runs in the control script, which holds the shards.
pub async fn handle_admin<S: Admin>(url: &RequestUrl<'_>, req: &RequestFacts<'_>, store: Option<&S>, dep: &Deployment<'_>) -> AdminHandled {
    let (mut click, _) = new_click(url, req, dep);
    let refused = |e, click| AdminHandled { handled: failed(e, click, false), writes: vec![] };
    if !url.path().starts_with(ADMIN_PREFIX) {
        return refused(Error::NotFound, click);
    }
    let served = match url.to_url() {
        Ok(url) => admin::serve(req.method, &url, dep.admin_token, req.authorization, req.body, store).await,
        Err(_) => Err(Error::BadRequest(CanonError::InvalidHost)),
    };
    let (op, reply) = match served {
        Ok(done) => done,
        Err(e) => return refused(e, click),
    };
    let writes = match op {
        AdminOp::Read(key) => {
            click.route_id = key.key;
            vec![]
        }
        AdminOp::Write(writes) => {
            if let [only] = writes.as_slice() {
                click.route_id = only.key.key.clone();
            }
            writes
        }
        AdminOp::Status(_) | AdminOp::List { .. } => vec![],
    };
    click.outcome = Outcome::Admin;
    click.status = reply.status;
    AdminHandled { handled: Handled { reply, click, fault: None }, writes }
}

fn missing_store() -> Error {
    Error::StoreUnavailable(StoreError("ROUTES_KV binding is not configured".into()))
}

/// Explain is on, or its token was presented (compared in constant time).
fn explain_allowed(access: ExplainAccess<'_>, authorization: Option<&str>) -> bool {
    match access {
        ExplainAccess::Off => false,
        ExplainAccess::On => true,
        ExplainAccess::Token(token) => bearer_matches(token, authorization),
    }
}

/// A miss, answered instead as 429 because the client probed too many missing paths
/// (the worker's limiter decides: `MISS_LIMIT_<ENV>`). Anything else is returned as
/// it was: the limiter never touches a redirect.
pub fn rate_limited(handled: Handled) -> Handled {
    if handled.click.outcome != Outcome::Miss {
        return handled;
    }
    let head = handled.click.method.eq_ignore_ascii_case("HEAD");
    failed(Error::RateLimited, handled.click, head)
}

fn failed(error: Error, mut click: Click, head: bool) -> Handled {
    let reply = error.reply();
    let reply = if head { reply.without_body() } else { reply };
    click.status = reply.status;
    click.outcome = error.outcome();
    if let Error::InvalidRecord { key, .. } | Error::StrongUnavailable { key } = &error {
        click.route_id = key.clone();
    }
    let fault = error.is_fault().then_some(error);
    Handled { reply, click, fault }
}

fn health(dep: &Deployment<'_>) -> Reply {
    let all_present = dep.bindings.iter().all(|(_, present)| *present);
    let bindings: serde_json::Map<String, serde_json::Value> =
        dep.bindings.iter().map(|(name, present)| (name.clone(), (*present).into())).collect();
    let body = serde_json::json!({
        "ok": all_present,
        "env": dep.env,
        "release": dep.release,
        "bindings": bindings,
        "memory_bytes": dep.memory_bytes,
    });
    Reply::json(if all_present { 200 } else { 503 }, body.to_string()).header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_miss_becomes_429() {
        use crate::click::Outcome;
        let click = |outcome| Click {
            route_id: String::new(), host: "h".into(), path: "/p".into(), target: String::new(), status: 404, outcome,
            country: String::new(), colo: String::new(), referer_host: String::new(), ua_class: "desktop", env: "t".into(),
            release: "r".into(), method: "GET".into(), latency_ms: 0.0, variant: String::new(), audience: "person",
        };
        let miss = rate_limited(failed(Error::NotFound, click(Outcome::Miss), false));
        assert_eq!((miss.reply.status, miss.click.outcome, miss.reply.get("retry-after")), (429, Outcome::RateLimited, Some("60")));
        assert_eq!(miss.reply.get("cache-control"), Some("no-store"));
        assert!(miss.fault.is_none(), "a limited client is not a fault of ours");
        let redirect = Handled { reply: Reply::redirect(302, "https://e.com/", Default::default()), click: click(Outcome::Redirect), fault: None };
        assert_eq!(rate_limited(redirect).reply.status, 302);
    }

    #[test]
    fn explain_access() {
        assert!(!explain_allowed(ExplainAccess::Off, Some("Bearer t")));
        assert!(explain_allowed(ExplainAccess::On, None));
        assert!(explain_allowed(ExplainAccess::Token("t0k"), Some("Bearer t0k")));
        assert!(!explain_allowed(ExplainAccess::Token("t0k"), Some("Bearer t0")));
        assert!(!explain_allowed(ExplainAccess::Token("t0k"), None));
        assert!(!explain_allowed(ExplainAccess::Token(""), Some("Bearer ")));
    }
}
