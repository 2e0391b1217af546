//! A plain description of an HTTP response, so the whole request flow (including
//! status, headers and caching) is decided and tested without JS. The worker layer
//! turns a [`Reply`] into a `worker::Response` in one function.

/// Methods the redirector answers (for `Allow`).
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// `Cache-Control` for 301 and 308: public, but bounded so a changed permanent route
/// reaches browsers and shared caches within the hour.
pub const PERMANENT_CACHE: &str = "public, max-age=3600";
/// `Cache-Control` for 302, 303 and 307: per-request answers, never stored.
pub const TEMPORARY_CACHE: &str = "private, no-store";

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

    /// A redirect: empty body, `Location`, and its cache policy: 301/308 are public for
    /// a bounded time unless the answer `varies` per client (conditions, canaries),
    /// which no cache may keep; everything else is `private, no-store`.
    pub fn redirect(status: u16, location: &str, varies: bool) -> Self {
        let cache = if matches!(status, 301 | 308) && !varies { PERMANENT_CACHE } else { TEMPORARY_CACHE };
        Self::empty(status).header("location", location).header("cache-control", cache)
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
