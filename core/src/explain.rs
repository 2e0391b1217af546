//! `GET /__redirector/explain?url=<full url>`: what the redirector would do with that
//! URL, for the client that asks (its `User-Agent`, `Accept-Language`, `Cookie`,
//! `cf.country`, or `X-Redirector-Country` to simulate a country).
//!
//! The answer is JSON: the canonical host and path, the lookup steps taken, the key
//! and rule that matched, the record, the condition or canary variant chosen, and the
//! final status, `Location` and `Cache-Control`. Access is decided by the deployment
//! (`EXPLAIN` var: on in local and dev; in staging and prod only with the
//! `EXPLAIN_TOKEN` secret as a bearer token). It never redirects, and it never
//! changes any state: a strong link is asked what it would answer
//! ([`crate::store::StrongMode::Peek`]), no click is counted and no copy adopted.

use std::cell::RefCell;

use serde_json::{json, Value};
use url::Url;

use crate::cache::IsolateCache;
use crate::decide::{canonical, decide, Purpose};
use crate::lookup::Source;
use crate::reply::Reply;
use crate::request::RequestFacts;
use crate::store::{RouteReads, StrongLinks, WriteView};
use crate::ua;
use crate::variant::{client_id, languages, Variant};

fn bad(reason: &str) -> Reply {
    Reply::json(400, json!({ "error": reason }).to_string()).header("cache-control", "no-store")
}

pub async fn explain<S: RouteReads + WriteView + StrongLinks>(url: &Url, req: &RequestFacts<'_>, store: &S, rules: &RefCell<IsolateCache>) -> Reply {
    let Some(target) = url.query_pairs().find(|(k, _)| k == "url").map(|(_, v)| v.into_owned()) else {
        return bad("missing ?url=<full url to explain>");
    };
    let Ok(target) = crate::unicode::parse_url(&target) else {
        return bad("url is not an absolute URL");
    };
    if !matches!(target.scheme(), "http" | "https") {
        return bad("url must be http or https");
    }
    let country = req.explain_country.or(req.country);
    let device = ua::device_tags(req.user_agent);
    let (_, from_cookie) = client_id(req.cookie.get().as_deref(), req.random);
    let client = json!({
        "country": country,
        "languages": languages(req.accept_language.get().as_deref()),
        "device": { "class": device.class.as_str(), "os": format!("{:?}", device.os).to_ascii_lowercase() },
        "client_id_from": if from_cookie { "cookie" } else { "new random id" },
    });
    let (host, path) = match canonical(target.host_str().unwrap_or(""), target.path()) {
        Ok(hp) => hp,
        Err(e) => {
            let reply = e.reply();
            return explained(json!({
                "url": target.as_str(), "client": client, "steps": [],
                "outcome": e.outcome().as_str(), "status": reply.status, "error": e.to_string(),
            }));
        }
    };
    let simulated = RequestFacts { country, ..req.clone() };
    let decision = decide(target.query(), &host, &path, &simulated, store, rules, Purpose::Explain).await;
    let mut body = json!({
        "url": target.as_str(),
        "host": host,
        "path": path,
        "client": client,
        "steps": decision.steps,
    });
    match decision.result {
        Ok(r) => {
            let reply = r.reply();
            let (rule, from) = match &r.found.source {
                Source::Rule { index, from, .. } => (json!(index), json!(from)),
                Source::Exact | Source::Fallback | Source::HostFallback => (Value::Null, Value::Null),
            };
            extend(&mut body, json!({
                "outcome": if r.found.source.is_fallback() { "fallback" } else { "redirect" },
                "match": { "key": r.found.key, "rule": rule, "from": from, "route_id": r.route_id },
                "record": r.found.record.to_json(),
                "variant": r.variant.label(),
                "condition": match r.variant { Variant::When(i) => json!(i), _ => Value::Null },
                "status": r.status,
                "location": r.location.as_str(),
                "cache_control": reply.get("cache-control"),
                "set_cookie": reply.get("set-cookie"),
            }));
        }
        Err(e) => {
            let reply = e.reply();
            extend(&mut body, json!({
                "outcome": e.outcome().as_str(),
                "match": null,
                "status": reply.status,
                "location": null,
                "cache_control": reply.get("cache-control"),
                "error": e.to_string(),
            }));
        }
    }
    explained(body)
}

fn extend(body: &mut Value, more: Value) {
    if let (Value::Object(b), Value::Object(m)) = (body, more) {
        b.extend(m);
    }
}

fn explained(body: Value) -> Reply {
    Reply::json(200, body.to_string()).header("cache-control", "no-store")
}
