//! A plain description of an HTTP response, so the whole request flow (including
//! status, headers and caching) is decided and tested without JS. The worker layer
//! turns a [`Reply`] into a `worker::Response` in one function.

/// Methods the redirector answers (for `Allow`).
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// `Cache-Control` for 301 and 308: public, but bounded so a changed permanent route
/// reaches browsers and shared caches within the hour.
pub const PERMANENT_CACHE: &str = "public, max-age=3600";
/// The longest a permanent redirect may be cached, in seconds.
pub const PERMANENT_MAX_AGE_SECS: i64 = 3600;
/// A permanent redirect due to expire sooner than this is not cached at all.
pub const MIN_PUBLIC_MAX_AGE_SECS: i64 = 60;
/// `Cache-Control` for 302, 303 and 307: per-request answers, never stored.
pub const TEMPORARY_CACHE: &str = "private, no-store";

/// What a redirect's cache policy depends on besides its status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheFacts {
    /// The answer depends on the client (conditions, canaries).
    pub varies: bool,
    /// The answer depends on state the worker may take back at any moment: a strong
    /// link (kill switch, click cap), or a lookup that went past one.
    pub revocable: bool,
    /// Milliseconds until the answer changes on its own: the record's `expires`, or
    /// the `starts` of a record the lookup went past, if any.
    pub expires_in_ms: Option<i64>,
}

/// `Cache-Control` for a redirect. Only 301/308 may be kept, and only when no cache
/// can end up holding an answer the worker must take back: never when the answer
/// `varies` or is `revocable`, and never past the record's `expires` (a record due
/// to expire within [`MIN_PUBLIC_MAX_AGE_SECS`] is not cached at all). Everything else
/// is `private, no-store`.
pub fn redirect_cache(status: u16, facts: CacheFacts) -> String {
    if !matches!(status, 301 | 308) || facts.varies || facts.revocable {
        return TEMPORARY_CACHE.to_string();
    }
    match facts.expires_in_ms {
        None => PERMANENT_CACHE.to_string(),
        Some(ms) if ms / 1000 < MIN_PUBLIC_MAX_AGE_SECS => TEMPORARY_CACHE.to_string(),
        Some(ms) => format!("public, max-age={}", (ms / 1000).min(PERMANENT_MAX_AGE_SECS)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Lower-case header names.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: String::new() }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self::empty(status).header("content-type", "text/plain; charset=utf-8").with_body(body.to_owned())
    }

    pub fn json(status: u16, body: String) -> Self {
        Self::empty(status).header("content-type", "application/json").with_body(body)
    }

    /// A redirect: empty body, `Location`, and its cache policy ([`redirect_cache`]).
    pub fn redirect(status: u16, location: &str, facts: CacheFacts) -> Self {
        Self::empty(status).header("location", location).header("cache-control", redirect_cache(status, facts))
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn with_body(mut self, body: String) -> Self {
        self.body = body;
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// HEAD answers: same status and headers, no body.
    pub fn without_body(mut self) -> Self {
        self.body.clear();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: a strong (or capped) 301 link, and a 301 expiring in ten minutes, were
    /// answered `public, max-age=3600`: caches kept redirecting past the kill switch,
    /// the cap and the expiry.
    #[test]
    fn caches_never_outlive_a_kill_switch_a_cap_or_an_expiry() {
        let plain = CacheFacts::default();
        assert_eq!(redirect_cache(301, plain), PERMANENT_CACHE);
        assert_eq!(redirect_cache(308, plain), PERMANENT_CACHE);
        assert_eq!(redirect_cache(302, plain), TEMPORARY_CACHE);
        assert_eq!(redirect_cache(301, CacheFacts { revocable: true, ..plain }), TEMPORARY_CACHE);
        assert_eq!(redirect_cache(301, CacheFacts { varies: true, ..plain }), TEMPORARY_CACHE);
        assert_eq!(redirect_cache(301, CacheFacts { expires_in_ms: Some(600_000), ..plain }), "public, max-age=600");
        assert_eq!(redirect_cache(301, CacheFacts { expires_in_ms: Some(86_400_000), ..plain }), PERMANENT_CACHE);
        assert_eq!(redirect_cache(301, CacheFacts { expires_in_ms: Some(59_999), ..plain }), TEMPORARY_CACHE);
        assert_eq!(redirect_cache(307, CacheFacts { expires_in_ms: Some(600_000), ..plain }), TEMPORARY_CACHE);
    }
}
