//! The click event: one Analytics Engine data point per request.
//!
//! The order of `blobs` and `doubles` is the schema; it is documented in
//! `docs/clicks.md` and pinned by the tests here and in the integration suite.
//! New fields are only ever appended, so saved SQL queries keep working.

/// What happened to the request; blob 5 of the click event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Redirect,
    /// A redirect to a fallback: an ended record's `fallback`, or the host's.
    Fallback,
    Miss,
    Options,
    Health,
    Explain,
    Admin,
    Unauthorized,
    MethodNotAllowed,
    BadRequest,
    UriTooLong,
    InvalidRecord,
    StoreError,
    /// A miss answered 429: the client probed too many missing paths.
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Redirect => "redirect",
            Outcome::Fallback => "fallback",
            Outcome::Miss => "miss",
            Outcome::Options => "options",
            Outcome::Health => "health",
            Outcome::Explain => "explain",
            Outcome::Admin => "admin",
            Outcome::Unauthorized => "unauthorized",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::BadRequest => "bad_request",
            Outcome::UriTooLong => "uri_too_long",
            Outcome::InvalidRecord => "invalid_record",
            Outcome::StoreError => "store_error",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

/// Longest text kept in one blob (paths and targets); Analytics Engine caps a data
/// point's blobs at 16 KB in total.
pub const MAX_BLOB_BYTES: usize = 1024;
/// Analytics Engine's limit on the index.
pub const MAX_INDEX_BYTES: usize = 96;

/// One click event, before it is turned into a data point.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub route_id: String,
    pub host: String,
    pub path: String,
    pub target: String,
    pub status: u16,
    pub outcome: Outcome,
    pub country: String,
    pub colo: String,
    pub referer_host: String,
    pub ua_class: &'static str,
    pub env: String,
    pub release: String,
    pub method: String,
    pub latency_ms: f64,
    /// `control`, `canary`, `when:<i>`, or empty for a plain record (blob13).
    pub variant: String,
    /// Who asked: `person`, `preview`, `bot` or `head` (blob14, [`crate::ua::Audience`]).
    pub audience: &'static str,
}

impl Click {
    /// The sampling index: the canonical host, so sampling is fair per host.
    pub fn index(&self) -> &str {
        truncate(&self.host, MAX_INDEX_BYTES)
    }

    /// Blobs in schema order (blob1 .. blob14).
    pub fn blobs(&self) -> [&str; 14] {
        [
            truncate(&self.route_id, MAX_BLOB_BYTES),
            truncate(&self.host, MAX_BLOB_BYTES),
            truncate(&self.path, MAX_BLOB_BYTES),
            truncate(&self.target, MAX_BLOB_BYTES),
            self.outcome.as_str(),
            truncate(&self.country, 8),
            truncate(&self.colo, 8),
            truncate(&self.referer_host, 256),
            self.ua_class,
            truncate(&self.env, 32),
            truncate(&self.release, 64),
            truncate(&self.method, 16),
            truncate(&self.variant, 16),
            self.audience,
        ]
    }

    /// Doubles in schema order (double1 .. double2).
    pub fn doubles(&self) -> [f64; 2] {
        [f64::from(self.status), self.latency_ms]
    }
}

/// Cut `s` to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Host of a `Referer` header, lower case; empty when absent or unparsable.
pub fn referer_host(referer: Option<&str>) -> String {
    referer
        .and_then(|r| crate::unicode::parse_url(r).ok())
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn referer_hosts() {
        assert_eq!(referer_host(Some("https://News.Example.com/a?b")), "news.example.com");
        assert_eq!(referer_host(Some("not a url")), "");
        assert_eq!(referer_host(None), "");
    }
}
