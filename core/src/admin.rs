//! The admin API: requests, validation, and the answers. The writes themselves go
//! through the [`Admin`] seam to the shards in `ROUTE_DO_<ENV>` ([`crate::strong`]).
//!
//! | request | meaning |
//! |---|---|
//! | `GET /__redirector/admin/route?key=K` | read a link or rule array (authoritative copy, else KV) |
//! | `PUT /__redirector/admin/route?key=K` | create or replace; the body is the record or rule array |
//! | `DELETE /__redirector/admin/route?key=K` | delete |
//! | `POST /__redirector/admin/bulk` | `[{"key":K,"value":V} or {"key":K,"delete":true}, ...]`, all or nothing |
//! | `GET /__redirector/admin/status?host=H` | how far host H's write-through to KV has got |
//! | `GET /__redirector/admin/routes?limit=N&cursor=C` | one page (default 100, at most [`MAX_LIST`]) of the routes KV holds, in key order, and the cursor of the next page (`null` at the end) |
//!
//! Keys are ROUTES.md keys ([`crate::key`]), canonicalised (the answer says which key
//! was written). Every value is validated against ROUTES.md before anything is
//! written: a link must parse as a link record; a rule array must parse with every
//! rule valid. A refusal is a 400 naming the field.
//!
//! Order of checks, so that nobody without the token costs anything: the token first
//! ([`crate::auth::authorize`]; without the `ADMIN_TOKEN` secret the API does not
//! exist, 404), and only then is a body read, by the worker, as [`body_plan`] says:
//! at most [`MAX_BODY_BYTES`], within a time limit.

use std::collections::HashSet;

use serde_json::{json, Value};
use url::Url;

use crate::auth::authorize;
use crate::canon::canonical_host;
use crate::error::Error;
use crate::key::{parse_key, RouteKey};
use crate::record::link_from_value;
use crate::reply::Reply;
pub use crate::request::Body;
use crate::rules::{parse_rules, Rule};
use crate::store::{Admin, Write, WriteReport};

pub const ADMIN_PREFIX: &str = "/__redirector/admin/";
pub const ROUTE_PATH: &str = "/__redirector/admin/route";
pub const BULK_PATH: &str = "/__redirector/admin/bulk";
pub const STATUS_PATH: &str = "/__redirector/admin/status";
pub const LIST_PATH: &str = "/__redirector/admin/routes";
/// Most routes in one list page: each is one KV read on top of the list itself,
/// well inside the 1 000 KV operations an invocation may make.
pub const MAX_LIST: usize = 500;
/// Largest admin request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most writes in one bulk request.
pub const MAX_BULK: usize = 10_000;
/// Largest record or rule array accepted (the shard's storage holds a value of up
/// to 2 MB; KV more).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// How long the worker waits for an admin body, by default.
pub const BODY_TIMEOUT_MS: u64 = 10_000;

/// Whether the worker must read the body of a request, and how much of it at most:
/// only for an authorised PUT or POST under [`ADMIN_PREFIX`].
pub fn body_plan(path: &str, method: &str, admin_token: Option<&str>, authorization: Option<&str>) -> Option<usize> {
    let wants_body = path.starts_with(ADMIN_PREFIX) && matches!(method, "PUT" | "POST");
    (wants_body && authorize(admin_token, authorization).is_ok()).then_some(MAX_BODY_BYTES)
}

/// What an admin request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOp {
    Read(RouteKey),
    Write(Vec<Write>),
    Status(String),
    List { cursor: Option<String>, limit: usize },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidInput { field: field.into(), reason: reason.into() }
}

/// Validate a value for `key` against ROUTES.md; returns the JSON text to store.
pub fn validate_value(key: &RouteKey, value: &Value, field_prefix: &str) -> Result<String, Error> {
    let field = |f: &str| if field_prefix.is_empty() { f.to_string() } else { format!("{field_prefix}.{f}") };
    if key.is_rules {
        let set = parse_rules(&value.to_string()).map_err(|e| invalid(field(&e.field), e.reason))?;
        if let Some(Rule::Invalid { error, .. }) = set.rules.iter().find(|r| matches!(r, Rule::Invalid { .. })) {
            return Err(invalid(field(&error.field), error.reason.clone()));
        }
    } else {
        link_from_value(value.clone()).map_err(|e| invalid(field(&e.field), e.reason))?;
    }
    let text = value.to_string();
    if text.len() > MAX_VALUE_BYTES {
        let at = if field_prefix.is_empty() { "body".to_string() } else { field_prefix.to_string() };
        return Err(invalid(at, format!("is over {MAX_VALUE_BYTES} bytes")));
    }
    Ok(text)
}

fn body_text<'a>(body: Body<'a>) -> Result<&'a str, Error> {
    match body {
        Body::Text(text) if text.len() > MAX_BODY_BYTES => Err(Error::PayloadTooLarge),
        Body::Text(text) => Ok(text),
        Body::NotRead => Ok(""),
        Body::TooLarge => Err(Error::PayloadTooLarge),
        Body::TimedOut => Err(Error::RequestTimeout),
        Body::Unreadable => Err(invalid("body", "could not be read as UTF-8 text")),
    }
}

/// Parse an admin request into an operation (after [`authorize`]).
pub fn parse_request(method: &str, url: &Url, body: Body<'_>) -> Result<AdminOp, Error> {
    let path = url.path();
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    match (path, method) {
        (BULK_PATH, "POST") => parse_bulk(body_text(body)?).map(AdminOp::Write),
        (BULK_PATH, _) => Err(Error::MethodNotAllowed),
        (STATUS_PATH, "GET") => {
            let host = param("host").ok_or_else(|| invalid("host", "is required (?host=... or ?host=*)"))?;
            let shard = if host == "*" { host } else { canonical_host(&host).map_err(|e| invalid("host", e.to_string()))? };
            Ok(AdminOp::Status(shard))
        }
        (STATUS_PATH, _) => Err(Error::MethodNotAllowed),
        (LIST_PATH, "GET") => {
            let limit = match param("limit") {
                None => 100,
                Some(n) => n.parse::<usize>().ok().filter(|n| (1..=MAX_LIST).contains(n)).ok_or_else(|| invalid("limit", format!("must be 1 to {MAX_LIST}")))?,
            };
            Ok(AdminOp::List { cursor: param("cursor").filter(|c| !c.is_empty()), limit })
        }
        (LIST_PATH, _) => Err(Error::MethodNotAllowed),
        (ROUTE_PATH, _) => {
            let key = parse_key(param("key").as_deref().ok_or_else(|| invalid("key", "is required (?key=...)"))?)?;
            match method {
                "GET" => Ok(AdminOp::Read(key)),
                "DELETE" => Ok(AdminOp::Write(vec![Write { key, value: None }])),
                "PUT" => {
                    let value: Value =
                        serde_json::from_str(body_text(body)?).map_err(|e| invalid("body", format!("not valid JSON ({e})")))?;
                    let value = validate_value(&key, &value, "")?;
                    Ok(AdminOp::Write(vec![Write { key, value: Some(value) }]))
                }
                _ => Err(Error::MethodNotAllowed),
            }
        }
        _ => Err(Error::NotFound),
    }
}

/// Parse and validate a bulk body; any invalid entry refuses the whole request.
pub fn parse_bulk(body: &str) -> Result<Vec<Write>, Error> {
    let value: Value = serde_json::from_str(body).map_err(|e| invalid("body", format!("not valid JSON ({e})")))?;
    let Value::Array(items) = value else {
        return Err(invalid("body", "must be a JSON array of {\"key\", \"value\"} or {\"key\", \"delete\": true}"));
    };
    if items.is_empty() || items.len() > MAX_BULK {
        return Err(invalid("body", format!("must hold 1 to {MAX_BULK} entries")));
    }
    let mut seen = HashSet::new();
    let mut writes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let raw_key = item.get("key").and_then(Value::as_str).ok_or_else(|| invalid(format!("[{i}].key"), "is required and must be a string"))?;
        let key = parse_key(raw_key).map_err(|e| match e {
            Error::InvalidInput { reason, .. } => invalid(format!("[{i}].key"), reason),
            other => other,
        })?;
        if !seen.insert(key.key.clone()) {
            return Err(invalid(format!("[{i}].key"), format!("{} appears twice", key.key)));
        }
        let value = match (item.get("value"), item.get("delete")) {
            (Some(v), None) => Some(validate_value(&key, v, &format!("[{i}].value"))?),
            (None, Some(Value::Bool(true))) => None,
            _ => return Err(invalid(format!("[{i}]"), "needs exactly one of \"value\" or \"delete\": true")),
        };
        writes.push(Write { key, value });
    }
    Ok(writes)
}

/// Authorise, parse and carry out an admin request. The reply, and the key to
/// report in the click when there is one. Nothing is written unless all of it is
/// valid.
pub async fn serve<A: Admin>(
    method: &str,
    url: &Url,
    admin_token: Option<&str>,
    authorization: Option<&str>,
    body: Body<'_>,
    store: Option<&A>,
) -> Result<(AdminOp, Reply), Error> {
    authorize(admin_token, authorization)?;
    let op = parse_request(method, url, body)?;
    let store = store.ok_or_else(|| Error::StoreUnavailable(crate::error::StoreError("ROUTE_DO binding is not configured".into())))?;
    let reply = match &op {
        AdminOp::Read(key) => match store.admin_read(key).await.map_err(Error::StoreUnavailable)? {
            Some(read) => read_reply(key, &read.value, read.source, read.clicks),
            None => return Err(Error::NotFound),
        },
        AdminOp::Write(writes) => written_reply(writes, &store.admin_write(writes).await.map_err(Error::StoreUnavailable)?),
        AdminOp::Status(shard) => {
            let status = store.admin_status(shard).await.map_err(Error::StoreUnavailable)?;
            let body = json!({
                "host": shard,
                "version": status.version,
                "kv_pending": status.kv_pending,
                "links_pending": status.links_pending,
                "oldest_pending_ms": status.oldest_pending_ms,
                "last_error": status.last_error,
                "open_bulks": status.open_txns,
                "caught_up": status.kv_pending == 0 && status.links_pending == 0 && status.open_txns == 0,
            });
            Reply::json(200, body.to_string()).header("cache-control", "no-store")
        }
        AdminOp::List { cursor, limit } => {
            let page = store.admin_list(cursor.as_deref(), *limit).await.map_err(Error::StoreUnavailable)?;
            let routes: Vec<Value> = page.routes.iter().map(|(key, value)| json!({ "key": key, "value": value_json(value) })).collect();
            let body = json!({ "routes": routes, "cursor": page.cursor });
            Reply::json(200, body.to_string()).header("cache-control", "no-store")
        }
    };
    Ok((op, reply))
}

/// The answer to a successful write: what was written, and what is still on its
/// way to KV (poll `status?host=` until `caught_up`). `202 Accepted` instead of `200`
/// when a strong link's counter has not taken the write yet (`links_pending`): it is
/// committed and retried, but, for a kill switch, not yet in effect.
pub fn written_reply(writes: &[Write], report: &WriteReport) -> Reply {
    let keys: Vec<Value> = writes
        .iter()
        .map(|w| json!({ "key": w.key.key, "action": if w.value.is_some() { "put" } else { "delete" } }))
        .collect();
    let mut hosts: Vec<&str> = writes.iter().map(|w| w.key.shard.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let body = json!({
        "ok": true,
        "written": keys,
        "kv_pending": report.kv_pending,
        "links_pending": report.links_pending,
        "in_effect": report.links_pending == 0 && report.shards_pending.is_empty(),
        "hosts": hosts,
        "hosts_pending": report.shards_pending,
    });
    let status = if report.links_pending == 0 && report.shards_pending.is_empty() { 200 } else { 202 };
    Reply::json(status, body.to_string()).header("cache-control", "no-store")
}

/// A stored value as JSON: itself if it is JSON, else (plain text) as a string.
fn value_json(value: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()))
}

/// The answer to a read: the value and where it came from.
pub fn read_reply(key: &RouteKey, value: &str, source: &str, clicks: Option<u64>) -> Reply {
    let body = json!({ "key": key.key, "value": value_json(value), "source": source, "clicks": clicks });
    Reply::json(200, body.to_string()).header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_is_validated_as_a_whole() {
        let ok = parse_bulk(r#"[{"key":"a.com/x","value":"https://e.com"},{"key":"rules:a.com","value":[{"from":"/*","to":"https://e.com/:splat"}]},{"key":"*/y","delete":true}]"#).unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[2].value, None);
        let cases = [
            (r#"[{"key":"a.com/x","value":"https://e.com"},{"key":"a.com/y","value":"javascript:x"}]"#, "[1].value.to"),
            (r#"[{"key":"a.com/x","value":{"to":"https://e.com","status":200}}]"#, "[0].value.status"),
            (r#"[{"key":"rules:a.com","value":[{"from":"/*","to":"//evil"}]}]"#, "[0].value.[0].to"),
            (r#"[{"key":"a.com/x","value":"https://e.com"},{"key":"A.com/x/","value":"https://e.com"}]"#, "[1].key"),
            (r#"[{"key":"bad key","value":"https://e.com"}]"#, "[0].key"),
            (r#"[{"value":"https://e.com"}]"#, "[0].key"),
            (r#"[{"key":"a.com/x"}]"#, "[0]"),
            ("[]", "body"),
            ("{}", "body"),
        ];
        for (body, field) in cases {
            match parse_bulk(body) {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn requests() {
        let url = |s: &str| Url::parse(&format!("https://h{s}")).unwrap();
        let text = Body::Text;
        assert!(matches!(parse_request("GET", &url("/__redirector/admin/route?key=a.com/x"), Body::NotRead), Ok(AdminOp::Read(_))));
        assert!(matches!(parse_request("PUT", &url("/__redirector/admin/route?key=a.com/x"), text(r#""https://e.com""#)), Ok(AdminOp::Write(_))));
        assert!(matches!(parse_request("PUT", &url("/__redirector/admin/route?key=a.com/x"), text("nope")), Err(Error::InvalidInput { .. })));
        assert!(matches!(parse_request("PUT", &url("/__redirector/admin/route"), text("{}")), Err(Error::InvalidInput { .. })));
        assert_eq!(parse_request("POST", &url("/__redirector/admin/route?key=a.com/x"), Body::NotRead), Err(Error::MethodNotAllowed));
        assert_eq!(parse_request("GET", &url("/__redirector/admin/nothing"), Body::NotRead), Err(Error::NotFound));
        assert_eq!(parse_request("GET", &url("/__redirector/admin/status?host=A.com"), Body::NotRead), Ok(AdminOp::Status("a.com".into())));
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(parse_request("POST", &url("/__redirector/admin/bulk"), text(&big)), Err(Error::PayloadTooLarge));
        assert_eq!(parse_request("POST", &url("/__redirector/admin/bulk"), Body::TooLarge), Err(Error::PayloadTooLarge));
        assert_eq!(parse_request("PUT", &url("/__redirector/admin/route?key=a.com/x"), Body::TimedOut), Err(Error::RequestTimeout));
    }

    /// Bug: the worker read the whole admin body before it checked the token or the
    /// size, so an unauthenticated 90 MB POST was buffered in the isolate.
    #[test]
    fn the_body_is_read_only_for_an_authorised_write() {
        let path = "/__redirector/admin/bulk";
        assert_eq!(body_plan(path, "POST", None, Some("Bearer t")), None, "API off: never read");
        assert_eq!(body_plan(path, "POST", Some("t"), None), None, "no token: never read");
        assert_eq!(body_plan(path, "POST", Some("t"), Some("Bearer x")), None, "wrong token: never read");
        assert_eq!(body_plan(path, "GET", Some("t"), Some("Bearer t")), None);
        assert_eq!(body_plan("/x", "POST", Some("t"), Some("Bearer t")), None);
        assert_eq!(body_plan(path, "POST", Some("t"), Some("Bearer t")), Some(MAX_BODY_BYTES));
    }
}
