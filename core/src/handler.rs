//! The request flow: method -> canonicalise -> reserved paths -> look up ->
//! validate -> respond -> click. Pure: the worker supplies the request facts, the
//! store and the deployment facts, and gets back the reply and the click to write.

use url::Url;

use crate::canon::{canonical_host, canonical_path, CanonError};
use crate::click::{referer_host, Click, Outcome};
use crate::error::Error;
use crate::lookup::lookup;
use crate::query::merge_query;
use crate::reply::{Reply, ALLOW};
use crate::store::{RouteStore, StoreError};
use crate::ua;

/// Paths under this prefix are the redirector's own; they are never looked up in KV.
pub const RESERVED_PREFIX: &str = "/__redirector/";
/// Health endpoint.
pub const HEALTH_PATH: &str = "/__redirector/health";

/// What the worker knows about the incoming request.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// `request.cf.country`
    pub country: Option<&'a str>,
    /// `request.cf.colo`
    pub colo: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// Unix milliseconds, used for `starts`/`expires`.
    pub now_ms: i64,
}

/// What the worker knows about where it runs.
#[derive(Debug, Clone)]
pub struct Deployment<'a> {
    pub env: &'a str,
    pub release: &'a str,
    /// Binding name and whether it is present, in a stable order.
    pub bindings: &'a [(String, bool)],
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

/// Handle one request. Never panics; every path yields a reply and exactly one click.
/// `store` is `None` when the KV binding is missing, which answers like a KV failure.
pub async fn handle<S: RouteStore>(req: &RequestFacts<'_>, store: Option<&S>, dep: &Deployment<'_>) -> Handled {
    let mut click = Click {
        route_id: String::new(),
        host: req.url.host_str().unwrap_or("").to_owned(),
        path: req.url.path().to_owned(),
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
    };
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

    let (host, path) = match canonical(req.url) {
        Ok(hp) => hp,
        Err(e) => return failed(e, click, head),
    };
    click.host = host;
    click.path = path;

    let reply = if click.path == HEALTH_PATH {
        click.outcome = Outcome::Health;
        health(dep)
    } else if click.path.starts_with(RESERVED_PREFIX) {
        return failed(Error::NotFound, click, head);
    } else {
        let Some(store) = store else {
            let missing = StoreError("ROUTES_KV binding is not configured".into());
            return failed(Error::StoreUnavailable(missing), click, head);
        };
        match lookup(store, &click.host, &click.path, req.now_ms).await {
            // Strong routes are answered by ROUTE_DO_<ENV>, which this build does not
            // consult yet: refuse rather than serve a possibly killed or capped link.
            Ok(Some(found)) if found.record.strong => {
                return failed(Error::StrongUnavailable { key: found.key }, click, head);
            }
            Ok(Some(found)) => {
                let record = &found.record;
                let mut target = record.to.clone();
                if record.forward_query {
                    merge_query(&mut target, req.url.query());
                }
                click.route_id = found.route_id().to_owned();
                click.target = target.as_str().to_owned();
                click.outcome = Outcome::Redirect;
                Reply::redirect(record.status, target.as_str())
            }
            Ok(None) => return failed(Error::NotFound, click, head),
            Err(e) => return failed(e, click, head),
        }
    };
    click.status = reply.status;
    let reply = if head { reply.without_body() } else { reply };
    Handled { reply, click, fault: None }
}

fn canonical(url: &Url) -> Result<(String, String), Error> {
    let path = canonical_path(url.path()).map_err(|e| match e {
        CanonError::PathTooLong => Error::UriTooLong,
        other => Error::BadRequest(other),
    })?;
    let host = canonical_host(url.host_str().unwrap_or("")).map_err(Error::BadRequest)?;
    Ok((host, path))
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
