//! The request flow: method -> canonicalise -> reserved paths -> look up ->
//! validate -> choose target -> respond -> click. Pure: the worker supplies the
//! request facts, the store, the rule cache and the deployment facts, and gets back
//! the reply and the click to write.

use std::cell::RefCell;

use url::Url;

use crate::admin::{self, authorize, AdminOp, ADMIN_PREFIX};
use crate::canon::{canonical_host, canonical_path, CanonError};
use crate::click::{referer_host, Click, Outcome};
use crate::error::Error;
use crate::explain;
use crate::lookup::{lookup, Found, Source, Step};
use crate::pattern::{substitute, SubstituteError};
use crate::query::merge_query;
use crate::reply::{Reply, ALLOW};
use crate::cache::IsolateCache;
use crate::store::{RouteStore, StoreError};
use crate::ua;
use crate::variant::{choose, client_cookie, client_id, ClientFacts, Variant};

/// Paths under this prefix are the redirector's own; they are never looked up in KV.
pub const RESERVED_PREFIX: &str = "/__redirector/";
/// Health endpoint.
pub const HEALTH_PATH: &str = "/__redirector/health";
/// Explain endpoint (see [`crate::explain`]).
pub const EXPLAIN_PATH: &str = "/__redirector/explain";

/// What the worker knows about the incoming request.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// `request.cf.country`
    pub country: Option<&'a str>,
    /// `request.cf.colo`
    pub colo: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub accept_language: Option<&'a str>,
    pub cookie: Option<&'a str>,
    /// `CF-Connecting-IP`, for sticky canaries without cookies.
    pub client_ip: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// `X-Redirector-Country`: explain only, simulates `cf.country`.
    pub explain_country: Option<&'a str>,
    /// Request body, read by the worker for admin requests only.
    pub body: Option<&'a str>,
    /// Unix milliseconds, used for `starts`/`expires`.
    pub now_ms: i64,
}

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
}

/// The result of handling one request.
#[derive(Debug)]
pub struct Handled {
    pub reply: Reply,
    pub click: Click,
    /// A fault to log and report (store failure, invalid record).
    pub fault: Option<Error>,
}

/// A redirect decided for a request.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub found: Found,
    pub route_id: String,
    pub variant: Variant,
    pub status: u16,
    pub location: Url,
    /// `Set-Cookie` to send (canary records, first visit).
    pub set_cookie: Option<String>,
}

impl Redirect {
    pub fn reply(&self) -> Reply {
        let reply = Reply::redirect(self.status, self.location.as_str(), self.variant != Variant::Plain);
        match &self.set_cookie {
            Some(cookie) => reply.header("set-cookie", cookie.clone()),
            None => reply,
        }
    }
}

/// The decision for one canonical host and path, with the steps that led to it
/// (recorded only when asked for, by explain).
#[derive(Debug)]
pub struct Decision {
    pub steps: Vec<Step>,
    pub result: Result<Redirect, Error>,
}

/// Look up, choose the target, substitute and merge the query.
pub async fn decide<S: RouteStore>(
    url: &Url,
    host: &str,
    path: &str,
    req: &RequestFacts<'_>,
    store: &S,
    rules: &RefCell<IsolateCache>,
    trace: bool,
) -> Decision {
    let mut steps = Vec::new();
    let result = match lookup(store, rules, host, path, req.now_ms, trace.then_some(&mut steps)).await {
        Ok(Some(found)) => redirect(found, url, req),
        Ok(None) => Err(Error::NotFound),
        Err(e) => Err(e),
    };
    Decision { steps, result }
}

fn redirect(found: Found, url: &Url, req: &RequestFacts<'_>) -> Result<Redirect, Error> {
    let route_id = found.route_id();
    // Only conditions and canaries look at the client; plain records skip the work.
    let varies = !found.record.when.is_empty() || found.record.canary.is_some();
    let (cid, from_cookie) = if varies { client_id(req.cookie, req.client_ip, req.user_agent) } else { (String::new(), true) };
    let device = if varies { ua::device_tags(req.user_agent) } else { ua::device_tags(None) };
    let client = ClientFacts { country: req.country, accept_language: req.accept_language, device, client_id: &cid };
    let choice = choose(&found.record, &route_id, &client);
    let mut location = match &found.source {
        Source::Rule { captures, .. } => substitute(choice.to, captures).map_err(|e| match e {
            SubstituteError::TooLong => Error::UriTooLong,
            SubstituteError::OriginChanged => Error::InvalidRecord {
                key: found.key.clone(),
                error: crate::record::RecordError { field: "to".into(), reason: "substitution changed the origin".into() },
            },
        })?,
        Source::Exact => choice.to.clone(),
    };
    if found.record.forward_query {
        merge_query(&mut location, url.query());
    }
    let set_cookie = (found.record.canary.is_some() && !from_cookie).then(|| client_cookie(&cid));
    let (status, variant) = (choice.status, choice.variant);
    Ok(Redirect { found, route_id, variant, status, location, set_cookie })
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

/// Handle one request. Never panics; every path yields a reply and exactly one click.
/// `store` is `None` when the KV binding is missing, which answers like a KV failure.
pub async fn handle<S: RouteStore>(
    url: &Url,
    req: &RequestFacts<'_>,
    store: Option<&S>,
    rules: &RefCell<IsolateCache>,
    dep: &Deployment<'_>,
) -> Handled {
    let mut click = Click {
        route_id: String::new(),
        host: url.host_str().unwrap_or("").to_owned(),
        path: url.path().to_owned(),
        target: String::new(),
        status: 0,
        outcome: Outcome::Miss,
        country: req.country.unwrap_or("").to_owned(),
        colo: req.colo.unwrap_or("").to_owned(),
        referer_host: referer_host(req.referer),
        ua_class: ua::classify(req.user_agent).as_str(),
        env: dep.env.to_owned(),
        release: dep.release.to_owned(),
        method: req.method.to_owned(),
        latency_ms: 0.0,
        variant: String::new(),
    };
    if url.path().starts_with(ADMIN_PREFIX) {
        return admin(url, req, store, rules, dep, click).await;
    }
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

    let (host, path) = match canonical(url) {
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
            Some(store) => explain::explain(url, req, store, rules).await,
            None => return failed(missing_store(), click, head),
        }
    } else if click.path.starts_with(RESERVED_PREFIX) {
        return failed(Error::NotFound, click, head);
    } else {
        let Some(store) = store else {
            return failed(missing_store(), click, head);
        };
        let decision = decide(url, &click.host, &click.path, req, store, rules, false).await;
        match decision.result {
            Ok(redirect) => {
                click.route_id = redirect.route_id.clone();
                click.target = redirect.location.as_str().to_owned();
                click.variant = redirect.variant.label();
                click.outcome = Outcome::Redirect;
                redirect.reply()
            }
            Err(e) => return failed(e, click, head),
        }
    };
    click.status = reply.status;
    let reply = if head { reply.without_body() } else { reply };
    Handled { reply, click, fault: None }
}

/// The admin API (see [`crate::admin`]): authorise, validate, then read or write
/// through the store. A write also drops this isolate's cached copies of the keys.
async fn admin<S: RouteStore>(
    url: &Url,
    req: &RequestFacts<'_>,
    store: Option<&S>,
    rules: &RefCell<IsolateCache>,
    dep: &Deployment<'_>,
    mut click: Click,
) -> Handled {
    let op = match authorize(dep.admin_token, req.authorization)
        .and_then(|()| admin::parse_request(req.method, url, req.body.unwrap_or("")))
    {
        Ok(op) => op,
        Err(e) => return failed(e, click, false),
    };
    let Some(store) = store else { return failed(missing_store(), click, false) };
    let reply = match op {
        AdminOp::Read(key) => {
            click.route_id = key.key.clone();
            match store.admin_read(&key).await {
                Ok(Some(read)) => admin::read_reply(&key, &read.value, read.source, read.clicks),
                Ok(None) => return failed(Error::NotFound, click, false),
                Err(e) => return failed(Error::StoreUnavailable(e), click, false),
            }
        }
        AdminOp::Write(writes) => {
            if let [only] = writes.as_slice() {
                click.route_id = only.key.key.clone();
            }
            if let Err(e) = store.admin_write(&writes).await {
                return failed(Error::StoreUnavailable(e), click, false);
            }
            let mut cache = rules.borrow_mut();
            cache.marker.wrote(req.now_ms);
            for w in &writes {
                cache.invalidate(&w.key.key);
            }
            admin::written_reply(&writes)
        }
    };
    click.outcome = Outcome::Admin;
    click.status = reply.status;
    Handled { reply, click, fault: None }
}

fn missing_store() -> Error {
    Error::StoreUnavailable(StoreError("ROUTES_KV binding is not configured".into()))
}

/// Canonical host and path of a URL, or the error that answers it.
pub fn canonical(url: &Url) -> Result<(String, String), Error> {
    let path = canonical_path(url.path()).map_err(|e| match e {
        CanonError::PathTooLong => Error::UriTooLong,
        other => Error::BadRequest(other),
    })?;
    let host = canonical_host(url.host_str().unwrap_or("")).map_err(Error::BadRequest)?;
    Ok((host, path))
}

/// Explain is on, or its token was presented (compared in constant time).
fn explain_allowed(access: ExplainAccess<'_>, authorization: Option<&str>) -> bool {
    match access {
        ExplainAccess::Off => false,
        ExplainAccess::On => true,
        ExplainAccess::Token(token) => authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|given| !token.is_empty() && constant_time_eq(given.trim().as_bytes(), token.as_bytes())),
    }
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
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
    });
    Reply::json(if all_present { 200 } else { 503 }, body.to_string()).header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
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
