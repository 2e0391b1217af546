//! Link records (ROUTES.md "Link record"): parsing and validation.
//!
//! A record is either a JSON object, a bare JSON string holding the target URL, or
//! plain text beginning with `http://` or `https://` (what `wrangler kv key put KEY
//! https://...` stores), which means the same as the bare string.
//! Parsing validates everything the contract states, so a [`LinkRecord`] in hand is
//! always safe to redirect to: `to` is an absolute `http(s)` URL with no user-info,
//! no control characters and at most 4096 bytes. Anything else is a [`RecordError`]
//! naming the field and the reason; such a record is never redirected to.
//!
//! Fields the worker does not know are ignored, so newer writers can extend records
//! (ROUTES.md welcomes extensions) without breaking older workers.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

/// Longest `to` URL accepted (ROUTES.md).
pub const MAX_TARGET_BYTES: usize = 4096;
/// Longest `id` accepted; ids are reported in click events.
pub const MAX_ID_BYTES: usize = 256;

/// Redirect status codes the contract allows.
pub const ALLOWED_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// A validated link record.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    /// Parsed, validated target.
    pub to: Url,
    pub status: u16,
    pub forward_query: bool,
    pub enabled: bool,
    /// Unix milliseconds, inclusive.
    pub starts_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub expires_ms: Option<i64>,
    /// `starts` and `expires` as written (for explain; avoids a date formatter).
    pub window_text: (Option<String>, Option<String>),
    pub when: Vec<Condition>,
    pub canary: Option<Canary>,
    pub strong: bool,
    pub max_clicks: Option<u64>,
    /// Stable name for click events; `None` means "the KV key".
    pub id: Option<String>,
    /// Where visitors go once the record is no longer live (disabled, expired, or a
    /// strong link killed or capped) and nothing later in the lookup answers
    /// (docs/routes.md "Fallbacks"); validated like `to`.
    pub fallback: Option<Url>,
}

/// One `when` condition (validated; evaluated by the conditions feature).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub country: Option<Vec<String>>,
    pub language: Option<Vec<String>>,
    pub device: Option<Vec<String>>,
    pub to: Url,
    pub status: Option<u16>,
}

/// A `canary` split (validated; evaluated by the canary feature).
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub to: Url,
    pub percent: u8,
}

/// Device names a condition may use (ROUTES.md).
pub const DEVICES: [&str; 6] = ["mobile", "tablet", "desktop", "ios", "android", "bot"];

impl LinkRecord {
    /// A plain record: `to` with every other field at its default (302, query
    /// forwarded, live, no conditions): what a bare URL string means.
    pub fn plain(to: Url) -> Self {
        LinkRecord {
            to,
            status: 302,
            forward_query: true,
            enabled: true,
            starts_ms: None,
            expires_ms: None,
            window_text: (None, None),
            when: Vec::new(),
            canary: None,
            strong: false,
            max_clicks: None,
            id: None,
            fallback: None,
        }
    }

    /// Whether the record counts as present at `now_ms` (enabled, inside `[starts, expires)`).
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.enabled
            && self.starts_ms.is_none_or(|s| now_ms >= s)
            && self.expires_ms.is_none_or(|e| now_ms < e)
    }
}

impl LinkRecord {
    /// The record as JSON, every field spelled out with its effective value (explain).
    pub fn to_json(&self) -> Value {
        let conditions: Vec<Value> = self
            .when
            .iter()
            .map(|c| {
                serde_json::json!({
                    "country": c.country, "language": c.language, "device": c.device,
                    "to": c.to.as_str(), "status": c.status,
                })
            })
            .collect();
        serde_json::json!({
            "to": self.to.as_str(),
            "status": self.status,
            "forward_query": self.forward_query,
            "enabled": self.enabled,
            "starts": self.window_text.0,
            "expires": self.window_text.1,
            "when": conditions,
            "canary": self.canary.as_ref().map(|c| serde_json::json!({"to": c.to.as_str(), "percent": c.percent})),
            "strong": self.strong,
            "max_clicks": self.max_clicks,
            "id": self.id,
            "fallback": self.fallback.as_ref().map(Url::as_str),
        })
    }
}

/// Why a record breaks the contract: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// JSON path of the offending field (`to`, `when[1].status`, or `record` for the whole).
    pub field: String,
    pub reason: String,
}

impl RecordError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for RecordError {}

#[derive(Deserialize)]
struct RawLink {
    to: Option<Value>,
    status: Option<Value>,
    forward_query: Option<Value>,
    enabled: Option<Value>,
    starts: Option<Value>,
    expires: Option<Value>,
    when: Option<Value>,
    canary: Option<Value>,
    strong: Option<Value>,
    max_clicks: Option<Value>,
    id: Option<Value>,
    fallback: Option<Value>,
}

/// Parse and validate a link record from its KV value.
pub fn parse_link_record(raw: &str) -> Result<LinkRecord, RecordError> {
    match serde_json::from_str(raw) {
        Ok(value) => link_from_value(value),
        // Plain text, as `wrangler kv key put KEY https://...` stores it (ROUTES.md).
        Err(_) if is_plain_url(raw) => link_from_value(Value::String(raw.to_string())),
        Err(e) => Err(RecordError::new("record", format!("not valid JSON ({e})"))),
    }
}

/// Whether a value that is not JSON is a plain-text URL (starts with `http://` or
/// `https://`, in any case). It is then validated like any `to`, so a trailing
/// newline or a user-info part is still a fault.
pub fn is_plain_url(raw: &str) -> bool {
    let head = raw.as_bytes().get(..8).unwrap_or(raw.as_bytes());
    let lower = head.to_ascii_lowercase();
    lower.starts_with(b"https://") || lower.starts_with(b"http://")
}

/// Validate a record already parsed as JSON (used for rule arrays too).
pub fn link_from_value(value: Value) -> Result<LinkRecord, RecordError> {
    let raw = match value {
        Value::String(to) => return Ok(LinkRecord::plain(validate_target("to", &to)?)),
        Value::Object(_) => RawLink::deserialize(value)
            .map_err(|e| RecordError::new("record", e.to_string()))?,
        other => {
            return Err(RecordError::new(
                "record",
                format!("must be a JSON object or a URL string, not {}", kind(&other)),
            ))
        }
    };

    let to = match raw.to {
        Some(Value::String(s)) => validate_target("to", &s)?,
        Some(Value::Null) | None => return Err(RecordError::new("to", "is required")),
        Some(other) => return Err(type_error("to", "a string", &other)),
    };
    let status = opt_status("status", raw.status)?.unwrap_or(302);
    let forward_query = opt_bool("forward_query", raw.forward_query)?.unwrap_or(true);
    let enabled = opt_bool("enabled", raw.enabled)?.unwrap_or(true);
    let window_text = (
        raw.starts.as_ref().and_then(Value::as_str).map(str::to_string),
        raw.expires.as_ref().and_then(Value::as_str).map(str::to_string),
    );
    let starts_ms = opt_time("starts", raw.starts)?;
    let expires_ms = opt_time("expires", raw.expires)?;
    if let (Some(s), Some(e)) = (starts_ms, expires_ms) {
        if e <= s {
            return Err(RecordError::new("expires", "must be later than starts"));
        }
    }
    let when = match raw.when {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, c)| condition(&format!("when[{i}]"), c))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(type_error("when", "an array of conditions", &other)),
    };
    let canary = match raw.canary {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => {
            let to = match map.get("to") {
                Some(Value::String(s)) => validate_target("canary.to", s)?,
                Some(other) => return Err(type_error("canary.to", "a string", other)),
                None => return Err(RecordError::new("canary.to", "is required")),
            };
            let percent = match map.get("percent").and_then(Value::as_u64) {
                Some(p) if p <= 100 => p as u8,
                _ => return Err(RecordError::new("canary.percent", "must be an integer from 0 to 100")),
            };
            Some(Canary { to, percent })
        }
        Some(other) => return Err(type_error("canary", "an object", &other)),
    };
    let strong = opt_bool("strong", raw.strong)?.unwrap_or(false);
    let max_clicks = match raw.max_clicks {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => return Err(type_error("max_clicks", "a non-negative integer", &v)),
        },
    };
    if max_clicks.is_some() && !strong {
        // Exact click caps need the Durable Object; without `strong` the cap could not hold.
        return Err(RecordError::new("max_clicks", "requires \"strong\": true"));
    }
    let id = match raw.id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            if s.is_empty() || s.len() > MAX_ID_BYTES || s.chars().any(char::is_control) {
                return Err(RecordError::new("id", "must be 1-256 bytes with no control characters"));
            }
            Some(s)
        }
        Some(other) => return Err(type_error("id", "a string", &other)),
    };
    let fallback = match raw.fallback {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(validate_target("fallback", &s)?),
        Some(other) => return Err(type_error("fallback", "a string", &other)),
    };
    Ok(LinkRecord {
        to,
        status,
        forward_query,
        enabled,
        starts_ms,
        expires_ms,
        window_text,
        when,
        canary,
        strong,
        max_clicks,
        id,
        fallback,
    })
}

/// Validate a redirect target: absolute http(s), no user-info, no control characters,
/// at most [`MAX_TARGET_BYTES`]. Returns the parsed URL, whose serialisation is what
/// the worker sends as `Location`.
pub fn validate_target(field: &str, raw: &str) -> Result<Url, RecordError> {
    if raw.len() > MAX_TARGET_BYTES {
        return Err(RecordError::new(field, "is longer than 4096 bytes"));
    }
    // The URL parser silently drops tabs and newlines and trims spaces, so check the
    // raw text first: a CR/LF in a record is a fault, not something to clean up.
    if raw.chars().any(char::is_control) {
        return Err(RecordError::new(field, "contains a control character"));
    }
    if raw.trim() != raw {
        return Err(RecordError::new(field, "has leading or trailing whitespace"));
    }
    let url = crate::unicode::parse_url(raw).map_err(|e| RecordError::new(field, format!("is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(RecordError::new(field, format!("scheme must be https or http, not {:?}", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(RecordError::new(field, "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RecordError::new(field, "must not contain user-info (user:password@)"));
    }
    if url.as_str().len() > MAX_TARGET_BYTES {
        return Err(RecordError::new(field, "is longer than 4096 bytes once encoded"));
    }
    Ok(url)
}

fn condition(field: &str, value: Value) -> Result<Condition, RecordError> {
    let Value::Object(map) = value else {
        return Err(type_error(field, "an object", &value));
    };
    let list = |name: &str, allowed: Option<&[&str]>| -> Result<Option<Vec<String>>, RecordError> {
        let path = format!("{field}.{name}");
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) if allowed.is_none_or(|a| a.contains(&s)) => Ok(s.to_string()),
                    Some(s) => Err(RecordError::new(&path, format!("unknown value {s:?}; allowed: {}", allowed.unwrap_or(&[]).join(", ")))),
                    None => Err(type_error(&path, "an array of strings", v)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(type_error(&path, "an array of strings", other)),
        }
    };
    let country = list("country", None)?;
    let language = list("language", None)?;
    let device = list("device", Some(&DEVICES))?;
    let to = match map.get("to") {
        Some(Value::String(s)) => validate_target(&format!("{field}.to"), s)?,
        Some(other) => return Err(type_error(&format!("{field}.to"), "a string", other)),
        None => return Err(RecordError::new(format!("{field}.to"), "is required")),
    };
    let status = opt_status(&format!("{field}.status"), map.get("status").cloned())?;
    Ok(Condition { country, language, device, to, status })
}

fn opt_status(field: &str, v: Option<Value>) -> Result<Option<u16>, RecordError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if ALLOWED_STATUSES.contains(&(n as u16)) && n <= u16::MAX as u64 => Ok(Some(n as u16)),
            _ => Err(RecordError::new(field, format!("must be one of 301, 302, 303, 307, 308, not {v}"))),
        },
    }
}

fn opt_bool(field: &str, v: Option<Value>) -> Result<Option<bool>, RecordError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(type_error(field, "true or false", &other)),
    }
}

fn opt_time(field: &str, v: Option<Value>) -> Result<Option<i64>, RecordError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|e| RecordError::new(field, format!("is not an RFC 3339 time ({e})"))),
        Some(other) => Err(type_error(field, "an RFC 3339 string", &other)),
    }
}

fn type_error(field: &str, expected: &str, got: &Value) -> RecordError {
    RecordError::new(field, format!("must be {expected}, not {}", kind(got)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> LinkRecord {
        parse_link_record(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn bare_string_means_to_with_defaults() {
        let r = ok(r#""https://example.com/a""#);
        assert_eq!(r.to.as_str(), "https://example.com/a");
        assert_eq!((r.status, r.forward_query, r.enabled, r.strong), (302, true, true, false));
        assert_eq!(r.id, None);
    }

    /// Bug: a plain URL put with `wrangler kv key put KEY https://...` (no JSON
    /// quotes) answered 500 "misconfigured"; ROUTES.md now defines it as the bare string.
    #[test]
    fn regression_plain_text_url_value_is_a_bare_target() {
        for raw in ["https://shop.example.com/x", "HTTP://shop.example.com/x?a=1", "https://shop.example.com"] {
            let r = ok(raw);
            assert_eq!(r, parse_link_record(&serde_json::to_string(raw).unwrap()).unwrap(), "{raw}");
            assert_eq!(r.status, 302);
        }
    }

    #[test]
    fn fallback_is_a_validated_target() {
        let r = ok(r#"{"to":"https://e.com/a","enabled":false,"fallback":"https://e.com/ended"}"#);
        assert_eq!(r.fallback.as_ref().map(Url::as_str), Some("https://e.com/ended"));
        assert_eq!(r.to_json()["fallback"], "https://e.com/ended");
    }

    #[test]
    fn full_record() {
        let r = ok(r#"{"to":"http://example.com/x?a=1","status":308,"forward_query":false,
            "enabled":true,"starts":"2026-01-01T00:00:00Z","expires":"2026-02-01T00:00:00+01:00",
            "id":"summer-2026","strong":true,"max_clicks":50,
            "when":[{"country":["DE"],"device":["ios"],"to":"https://de.example.com","status":307}],
            "canary":{"to":"https://new.example.com","percent":10},"future_field":{"x":1}}"#);
        assert_eq!(r.status, 308);
        assert!(!r.forward_query);
        assert_eq!(r.starts_ms, Some(1_767_225_600_000));
        assert_eq!(r.expires_ms, Some(1_769_900_400_000));
        assert_eq!(r.id.as_deref(), Some("summer-2026"));
        assert_eq!(r.max_clicks, Some(50));
        assert_eq!(r.when[0].status, Some(307));
        assert_eq!(r.canary.as_ref().map(|c| c.percent), Some(10));
    }

    #[test]
    fn live_window_is_half_open() {
        let r = ok(r#"{"to":"https://e.com","starts":"1970-01-01T00:00:01Z","expires":"1970-01-01T00:00:02Z"}"#);
        assert!(!r.is_live(999));
        assert!(r.is_live(1000));
        assert!(r.is_live(1999));
        assert!(!r.is_live(2000));
        assert!(!ok(r#"{"to":"https://e.com","enabled":false}"#).is_live(0));
    }

    #[test]
    fn invalid_records_name_the_field() {
        let cases: &[(&str, &str)] = &[
            ("", "record"),
            ("{", "record"),
            ("42", "record"),
            ("[]", "record"),
            ("null", "record"),
            ("{}", "to"),
            (r#"{"to":null}"#, "to"),
            (r#"{"to":5}"#, "to"),
            (r#""javascript:alert(1)""#, "to"),
            (r#""//evil.example""#, "to"),
            (r#""/relative""#, "to"),
            (r#""ftp://example.com""#, "to"),
            (r#""data:text/html,hi""#, "to"),
            (r#""https://user:pw@example.com""#, "to"),
            (r#""https://user@example.com""#, "to"),
            (r#""https://example.com/a\r\nSet-Cookie: x=1""#, "to"),
            (r#""https://example.com/\u0000""#, "to"),
            (r#""https://exa\tmple.com""#, "to"),
            (r#"" https://example.com""#, "to"),
            (r#""https://""#, "to"),
            (r#"{"to":"https://e.com","status":200}"#, "status"),
            (r#"{"to":"https://e.com","status":"301"}"#, "status"),
            (r#"{"to":"https://e.com","status":65838}"#, "status"),
            (r#"{"to":"https://e.com","forward_query":"yes"}"#, "forward_query"),
            (r#"{"to":"https://e.com","enabled":1}"#, "enabled"),
            (r#"{"to":"https://e.com","starts":"tomorrow"}"#, "starts"),
            (r#"{"to":"https://e.com","expires":1700000000}"#, "expires"),
            (r#"{"to":"https://e.com","starts":"2026-02-01T00:00:00Z","expires":"2026-01-01T00:00:00Z"}"#, "expires"),
            (r#"{"to":"https://e.com","when":{}}"#, "when"),
            (r#"{"to":"https://e.com","when":[{"country":["DE"]}]}"#, "when[0].to"),
            (r#"{"to":"https://e.com","when":[{"to":"https://a.com","device":["phone"]}]}"#, "when[0].device"),
            (r#"{"to":"https://e.com","when":[{"to":"https://a.com","country":"DE"}]}"#, "when[0].country"),
            (r#"{"to":"https://e.com","when":[{"to":"javascript:x"}]}"#, "when[0].to"),
            (r#"{"to":"https://e.com","canary":{"to":"https://a.com","percent":101}}"#, "canary.percent"),
            (r#"{"to":"https://e.com","canary":{"to":"//a.com","percent":1}}"#, "canary.to"),
            (r#"{"to":"https://e.com","max_clicks":5}"#, "max_clicks"),
            (r#"{"to":"https://e.com","strong":true,"max_clicks":-1}"#, "max_clicks"),
            (r#"{"to":"https://e.com","id":""}"#, "id"),
            (r#"{"to":"https://e.com","id":7}"#, "id"),
            (r#"{"to":"https://e.com","fallback":"javascript:x"}"#, "fallback"),
            (r#"{"to":"https://e.com","fallback":"//evil.example"}"#, "fallback"),
            (r#"{"to":"https://e.com","fallback":"https://u:p@e.com"}"#, "fallback"),
            (r#"{"to":"https://e.com","fallback":7}"#, "fallback"),
            // Plain text is only a URL when it starts with http(s)://, and is then
            // validated like any target.
            ("https://example.com/x\n", "to"),
            ("https://user:pw@example.com/", "to"),
            ("https:// example.com", "to"),
            ("example.com/x", "record"),
            ("javascript:alert(1)", "record"),
            ("//evil.example", "record"),
        ];
        for (raw, field) in cases {
            match parse_link_record(raw) {
                Ok(r) => panic!("{raw} should be invalid, parsed as {r:?}"),
                Err(e) => assert_eq!(&e.field, field, "{raw}: {e}"),
            }
        }
        let long = format!("\"https://e.com/{}\"", "a".repeat(MAX_TARGET_BYTES));
        assert_eq!(parse_link_record(&long).unwrap_err().field, "to");
    }

    #[test]
    fn location_is_the_normalised_serialisation() {
        // Backslashes and odd case are normalised by the URL parser; what we send is
        // always the parser's output, never the raw record text.
        assert_eq!(ok(r#""HTTPS://Example.COM\\a b""#).to.as_str(), "https://example.com/a%20b");
    }
}
