//! Sentry events over the envelope API, built without an SDK (an SDK would bring a
//! runtime and an HTTP client the worker already has). The worker sends them from
//! `ctx.waitUntil`, so a response never waits for Sentry.
//!
//! Envelope (<https://develop.sentry.dev/sdk/envelopes/>), three lines:
//! `{"event_id","dsn"}` / `{"type":"event"}` / the event, posted to
//! `<scheme>://<host>/api/<project>/envelope/` with
//! `X-Sentry-Auth: Sentry sentry_version=7, sentry_key=<public key>, sentry_client=...`.

use serde_json::json;

/// What a DSN names: where to post and with which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub raw: String,
    pub public_key: String,
    /// `<scheme>://<host>[:port][/path]/api/<project>/envelope/`
    pub envelope_url: String,
}

/// Parse `scheme://public_key[:secret]@host[:port][/path]/project_id`; `None` if it
/// is not a DSN.
pub fn parse_dsn(dsn: &str) -> Option<Dsn> {
    let url = url::Url::parse(dsn.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.username().is_empty() {
        return None;
    }
    let host = url.host_str()?;
    let mut segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let project = segments.pop()?;
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let prefix = segments.iter().map(|s| format!("/{s}")).collect::<String>();
    Some(Dsn {
        raw: dsn.trim().to_string(),
        public_key: url.username().to_string(),
        envelope_url: format!("{}://{host}{port}{prefix}/api/{project}/envelope/", url.scheme()),
    })
}

/// One error event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// 32 lower-case hex digits.
    pub event_id: &'a str,
    /// Unix seconds.
    pub timestamp: f64,
    pub environment: &'a str,
    pub release: &'a str,
    pub message: &'a str,
    /// Groups events: the kind of fault (`invalid_record`, `store_error`).
    pub fault: &'a str,
    pub route: &'a str,
    pub url: &'a str,
    pub method: &'a str,
}

pub const CLIENT: &str = concat!("redirector/", env!("CARGO_PKG_VERSION"));

/// `X-Sentry-Auth` for `dsn`.
pub fn auth_header(dsn: &Dsn) -> String {
    format!("Sentry sentry_version=7, sentry_key={}, sentry_client={CLIENT}", dsn.public_key)
}

/// The envelope body for one event.
pub fn envelope(dsn: &Dsn, e: &Event<'_>) -> String {
    // `sent_at` is optional; leaving it out keeps a date formatter out of the binary.
    let header = json!({ "event_id": e.event_id, "dsn": dsn.raw });
    let event = json!({
        "event_id": e.event_id,
        "timestamp": e.timestamp,
        "platform": "native",
        "level": "error",
        "logger": "redirector",
        "environment": e.environment,
        "release": e.release,
        "message": { "formatted": e.message },
        "fingerprint": [e.fault, e.route],
        "tags": { "fault": e.fault, "route": e.route },
        "request": { "url": e.url, "method": e.method },
        "sdk": { "name": "redirector", "version": env!("CARGO_PKG_VERSION") },
    });
    format!("{header}\n{}\n{event}\n", json!({ "type": "event" }))
}

/// Most fault events one isolate sends per minute: one broken route under load must
/// not send thousands of events (the rest are counted and logged).
pub const MAX_EVENTS_PER_MINUTE: u32 = 10;

/// A per-isolate allowance of Sentry events: [`MAX_EVENTS_PER_MINUTE`] per minute.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Budget {
    window_start_ms: i64,
    sent: u32,
    dropped: u32,
}

impl Budget {
    /// Whether an event may be sent at `now_ms`; when a new minute starts, the number
    /// dropped in the last one (to log) comes back with it.
    pub fn allow(&mut self, now_ms: i64) -> (bool, Option<u32>) {
        let mut dropped_before = None;
        if now_ms - self.window_start_ms >= 60_000 || now_ms < self.window_start_ms {
            dropped_before = (self.dropped > 0).then_some(self.dropped);
            *self = Budget { window_start_ms: now_ms, sent: 0, dropped: 0 };
        }
        if self.sent < MAX_EVENTS_PER_MINUTE {
            self.sent += 1;
            (true, dropped_before)
        } else {
            self.dropped += 1;
            (false, dropped_before)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Budget, MAX_EVENTS_PER_MINUTE};

    /// Bug: every fault sent an event, so one broken route under load would send
    /// thousands.
    #[test]
    fn regression_events_are_capped_per_isolate_and_minute() {
        let mut b = Budget::default();
        let sent = (0..1000).filter(|i| b.allow(1_000_000 + i).0).count();
        assert_eq!(sent, MAX_EVENTS_PER_MINUTE as usize);
        assert_eq!(b.allow(1_060_000), (true, Some(1000 - MAX_EVENTS_PER_MINUTE)), "next minute: sends again, says how many were dropped");
        assert_eq!(b.allow(1_060_001), (true, None));
    }

    use super::*;

    #[test]
    fn dsns() {
        let d = parse_dsn("https://abc123@o1.ingest.sentry.io/4504").unwrap();
        assert_eq!((d.public_key.as_str(), d.envelope_url.as_str()), ("abc123", "https://o1.ingest.sentry.io/api/4504/envelope/"));
        let d = parse_dsn("http://key:secret@127.0.0.1:9000/base/42").unwrap();
        assert_eq!(d.envelope_url, "http://127.0.0.1:9000/base/api/42/envelope/");
        for bad in ["", "not a dsn", "https://o1.ingest.sentry.io/1", "https://k@host/", "https://k@host/abc", "ftp://k@h/1"] {
            assert_eq!(parse_dsn(bad), None, "{bad}");
        }
    }

    #[test]
    fn envelope_has_three_lines_with_env_and_release() {
        let dsn = parse_dsn("https://k@h.example/7").unwrap();
        let e = Event {
            event_id: "0123456789abcdef0123456789abcdef",
            timestamp: 1_780_000_000.5,
            environment: "prod",
            release: "abc",
            message: "invalid route record",
            fault: "invalid_record",
            route: "go.example.com/x",
            url: "https://go.example.com/x",
            method: "GET",
        };
        let body = envelope(&dsn, &e);
        let lines: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["event_id"], e.event_id);
        assert_eq!(lines[1]["type"], "event");
        assert_eq!((lines[2]["environment"].as_str(), lines[2]["release"].as_str()), (Some("prod"), Some("abc")));
        assert_eq!(auth_header(&dsn), format!("Sentry sentry_version=7, sentry_key=k, sentry_client={CLIENT}"));
    }
}
