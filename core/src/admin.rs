//! The admin API's pure half: authentication, keys, validation, bulk parsing, and the
//! JSON answers. The worker executes the writes through `ROUTE_DO_<ENV>`.
//!
//! | request | meaning |
//! |---|---|
//! | `GET /__redirector/admin/route?key=K` | read a link or rule array (authoritative copy, else KV) |
//! | `PUT /__redirector/admin/route?key=K` | create or replace; the body is the record or rule array |
//! | `DELETE /__redirector/admin/route?key=K` | delete |
//! | `POST /__redirector/admin/bulk` | `[{"key":K,"value":V} or {"key":K,"delete":true}, ...]`, all or nothing |
//!
//! Keys are ROUTES.md keys: `<host><path>`, `*<path>`, `rules:<host>`, `rules:*`. They
//! are canonicalised (the answer says which key was written). Every value is validated
//! against ROUTES.md before anything is written: a link must parse as a link record; a
//! rule array must parse with every rule valid. A refusal is a 400 naming the field.
//! Authentication is `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time;
//! without the `ADMIN_TOKEN` secret the admin API does not exist (404).

use std::collections::HashSet;

use serde_json::{json, Value};
use url::Url;

use crate::canon::{canonical_host, canonical_path};
use crate::error::Error;
use crate::handler::constant_time_eq;
use crate::record::link_from_value;
use crate::reply::Reply;
use crate::rules::{parse_rules, Rule};
use crate::store::MAX_KEY_BYTES;

pub const ADMIN_PREFIX: &str = "/__redirector/admin/";
pub const ROUTE_PATH: &str = "/__redirector/admin/route";
pub const BULK_PATH: &str = "/__redirector/admin/bulk";
/// Largest admin request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most writes in one bulk request.
pub const MAX_BULK: usize = 10_000;

/// A validated route key and the Durable Object shard that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    /// The canonical KV key.
    pub key: String,
    /// Shard name: the canonical host, or `*` for any-host keys.
    pub shard: String,
    pub is_rules: bool,
}

/// One write: a value to store, or `None` to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: AdminKey,
    pub value: Option<String>,
}

/// What an admin request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOp {
    Read(AdminKey),
    Write(Vec<Write>),
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidInput { field: field.into(), reason: reason.into() }
}

/// The Durable Object shard that owns a canonical key: its host, or `*` for any-host
/// keys (`*/help`, `rules:*`). One shard per host keeps a host's writes ordered while
/// different hosts never contend.
pub fn shard_of(key: &str) -> &str {
    if let Some(host) = key.strip_prefix("rules:") {
        return host;
    }
    if key.starts_with('*') {
        return "*";
    }
    key.split('/').next().unwrap_or(key)
}

/// Whether the admin API is on (`ADMIN_TOKEN` set) and the request carries it.
pub fn authorize(admin_token: Option<&str>, authorization: Option<&str>) -> Result<(), Error> {
    let Some(token) = admin_token.filter(|t| !t.is_empty()) else {
        return Err(Error::NotFound);
    };
    let given = authorization.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(Error::Unauthorized)
    }
}

/// Parse and canonicalise a route key.
pub fn parse_key(raw: &str) -> Result<AdminKey, Error> {
    let too_long = || invalid("key", "is longer than KV's 512-byte key limit");
    if let Some(host) = raw.strip_prefix("rules:") {
        let shard = if host == "*" { "*".to_string() } else { canonical_host(host).map_err(|e| invalid("key", format!("rules host: {e}")))? };
        let key = format!("rules:{shard}");
        return if key.len() > MAX_KEY_BYTES { Err(too_long()) } else { Ok(AdminKey { key, shard, is_rules: true }) };
    }
    let Some(slash) = raw.find('/') else {
        return Err(invalid("key", "must be <host><path>, *<path>, rules:<host> or rules:*"));
    };
    let (host, path) = raw.split_at(slash);
    if host.contains(':') {
        return Err(invalid("key", "keys with a 'name:' prefix other than rules: are reserved"));
    }
    let shard = if host == "*" { "*".to_string() } else { canonical_host(host).map_err(|e| invalid("key", format!("host: {e}")))? };
    let path = canonical_path(path).map_err(|e| invalid("key", format!("path: {e}")))?;
    let key = format!("{shard}{path}");
    if key.len() > MAX_KEY_BYTES {
        return Err(too_long());
    }
    Ok(AdminKey { key, shard, is_rules: false })
}

/// Validate a value for `key` against ROUTES.md; returns the JSON text to store.
pub fn validate_value(key: &AdminKey, value: &Value, field_prefix: &str) -> Result<String, Error> {
    let field = |f: &str| if field_prefix.is_empty() { f.to_string() } else { format!("{field_prefix}.{f}") };
    if key.is_rules {
        let set = parse_rules(&value.to_string()).map_err(|e| invalid(field(&e.field), e.reason))?;
        if let Some(Rule::Invalid { error, .. }) = set.rules.iter().find(|r| matches!(r, Rule::Invalid { .. })) {
            return Err(invalid(field(&error.field), error.reason.clone()));
        }
    } else {
        link_from_value(value.clone()).map_err(|e| invalid(field(&e.field), e.reason))?;
    }
    Ok(value.to_string())
}

/// Parse an admin request into an operation (after [`authorize`]).
pub fn parse_request(method: &str, url: &Url, body: &str) -> Result<AdminOp, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    let path = url.path();
    if path == BULK_PATH {
        return match method {
            "POST" => parse_bulk(body).map(AdminOp::Write),
            _ => Err(Error::MethodNotAllowed),
        };
    }
    if path != ROUTE_PATH {
        return Err(Error::NotFound);
    }
    let raw_key = url.query_pairs().find(|(k, _)| k == "key").map(|(_, v)| v.into_owned());
    let key = parse_key(raw_key.as_deref().ok_or_else(|| invalid("key", "is required (?key=...)"))?)?;
    match method {
        "GET" => Ok(AdminOp::Read(key)),
        "DELETE" => Ok(AdminOp::Write(vec![Write { key, value: None }])),
        "PUT" => {
            let value: Value = serde_json::from_str(body).map_err(|e| invalid("body", format!("not valid JSON ({e})")))?;
            let value = validate_value(&key, &value, "")?;
            Ok(AdminOp::Write(vec![Write { key, value: Some(value) }]))
        }
        _ => Err(Error::MethodNotAllowed),
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

/// The answer to a successful write.
pub fn written_reply(writes: &[Write]) -> Reply {
    let keys: Vec<Value> = writes
        .iter()
        .map(|w| json!({ "key": w.key.key, "action": if w.value.is_some() { "put" } else { "delete" } }))
        .collect();
    Reply::json(200, json!({ "ok": true, "written": keys }).to_string()).header("cache-control", "no-store")
}

/// The answer to a read: the value and where it came from.
pub fn read_reply(key: &AdminKey, value: &str, source: &str, clicks: Option<u64>) -> Reply {
    let parsed: Value = serde_json::from_str(value).unwrap_or(Value::String(value.to_string()));
    let body = json!({ "key": key.key, "value": parsed, "source": source, "clicks": clicks });
    Reply::json(200, body.to_string()).header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = parse_key("Go.Example.com/Summer/").unwrap();
        assert_eq!((k.key.as_str(), k.shard.as_str(), k.is_rules), ("go.example.com/Summer", "go.example.com", false));
        assert_eq!(parse_key("*/help").unwrap().shard, "*");
        assert_eq!(parse_key("rules:OLD.example.com").unwrap().key, "rules:old.example.com");
        assert_eq!(parse_key("rules:*").unwrap().shard, "*");
        for k in ["go.example.com/a", "*/a", "rules:go.example.com", "rules:*"] {
            assert_eq!(shard_of(k), parse_key(k).unwrap().shard, "{k}");
        }
        for bad in ["nohost", "stats:x/y", "go.example.com:80/x", "rules:", &format!("x.com/{}", "a".repeat(600))] {
            assert!(matches!(parse_key(bad), Err(Error::InvalidInput { .. })), "{bad}");
        }
    }

    #[test]
    fn auth() {
        assert_eq!(authorize(None, Some("Bearer x")), Err(Error::NotFound));
        assert_eq!(authorize(Some(""), Some("Bearer ")), Err(Error::NotFound));
        assert_eq!(authorize(Some("tok"), None), Err(Error::Unauthorized));
        assert_eq!(authorize(Some("tok"), Some("Bearer tok2")), Err(Error::Unauthorized));
        assert_eq!(authorize(Some("tok"), Some("tok")), Err(Error::Unauthorized));
        assert_eq!(authorize(Some("tok"), Some("Bearer tok")), Ok(()));
    }

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
        assert!(matches!(parse_request("GET", &url("/__redirector/admin/route?key=a.com/x"), ""), Ok(AdminOp::Read(_))));
        assert!(matches!(parse_request("PUT", &url("/__redirector/admin/route?key=a.com/x"), r#""https://e.com""#), Ok(AdminOp::Write(_))));
        assert!(matches!(parse_request("PUT", &url("/__redirector/admin/route?key=a.com/x"), "nope"), Err(Error::InvalidInput { .. })));
        assert!(matches!(parse_request("PUT", &url("/__redirector/admin/route"), "{}"), Err(Error::InvalidInput { .. })));
        assert_eq!(parse_request("POST", &url("/__redirector/admin/route?key=a.com/x"), ""), Err(Error::MethodNotAllowed));
        assert_eq!(parse_request("GET", &url("/__redirector/admin/nothing"), ""), Err(Error::NotFound));
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(parse_request("POST", &url("/__redirector/admin/bulk"), &big), Err(Error::PayloadTooLarge));
    }
}
