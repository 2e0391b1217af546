//! The one error type, and the one place it becomes HTTP.
//!
//! Bodies are short and generic: internals (record contents, store messages) go to
//! logs and click events, never to the client.

use std::fmt;

use crate::canon::CanonError;
use crate::click::Outcome;
use crate::reply::{Reply, ALLOW};
use crate::record::RecordError;

/// The store could not answer (network, limits, binding gone). Never means "absent".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Seconds a client should wait before retrying after a store failure.
pub const RETRY_AFTER_SECS: u32 = 5;
/// Seconds a client that missed too often should wait (the limiter's period).
pub const RATE_LIMIT_RETRY_AFTER_SECS: u32 = 60;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// No live route for this host and path.
    NotFound,
    /// A method other than GET, HEAD, OPTIONS.
    MethodNotAllowed,
    /// The URL has no canonical form (e.g. an invalid host).
    BadRequest(CanonError),
    /// The path is longer than [`crate::canon::MAX_PATH_BYTES`].
    UriTooLong,
    /// KV failed: answer 503, never 404, since the route may well exist.
    StoreUnavailable(StoreError),
    /// A `strong` route, whose answer must come from `ROUTE_DO_<ENV>`, could not get
    /// one: answer 503 rather than guess (and never over-serve a `max_clicks` cap).
    StrongUnavailable { key: String },
    /// Admin API: missing or wrong bearer token.
    Unauthorized,
    /// Admin API: a key or value that breaks ROUTES.md; nothing was written.
    InvalidInput { field: String, reason: String },
    /// Admin API: request body over the limit.
    PayloadTooLarge,
    /// Admin API: the body did not arrive in time.
    RequestTimeout,
    /// A record breaks ROUTES.md: never redirected to; reported as a fault.
    InvalidRecord { key: String, error: RecordError },
    /// This client missed too often lately (probing for links): 429, `Retry-After`.
    RateLimited,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => f.write_str("no route"),
            Error::MethodNotAllowed => f.write_str("method not allowed"),
            Error::BadRequest(e) => write!(f, "bad request: {e}"),
            Error::UriTooLong => f.write_str("path too long"),
            Error::StoreUnavailable(e) => e.fmt(f),
            Error::StrongUnavailable { key } => write!(f, "strong route {key:?} has no Durable Object answer"),
            Error::Unauthorized => f.write_str("unauthorized"),
            Error::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Error::PayloadTooLarge => f.write_str("request body too large"),
            Error::RequestTimeout => f.write_str("request body not received in time"),
            Error::InvalidRecord { key, error } => write!(f, "invalid route record at {key:?}: {error}"),
            Error::RateLimited => f.write_str("too many misses from this client"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The click outcome this error is reported as.
    pub fn outcome(&self) -> Outcome {
        match self {
            Error::NotFound => Outcome::Miss,
            Error::MethodNotAllowed => Outcome::MethodNotAllowed,
            Error::BadRequest(_) | Error::InvalidInput { .. } | Error::PayloadTooLarge | Error::RequestTimeout => {
                Outcome::BadRequest
            }
            Error::Unauthorized => Outcome::Unauthorized,
            Error::UriTooLong => Outcome::UriTooLong,
            Error::StoreUnavailable(_) | Error::StrongUnavailable { .. } => Outcome::StoreError,
            Error::InvalidRecord { .. } => Outcome::InvalidRecord,
            Error::RateLimited => Outcome::RateLimited,
        }
    }

    /// Whether this is a fault of ours (to log and report), not of the request.
    pub fn is_fault(&self) -> bool {
        matches!(self, Error::StoreUnavailable(_) | Error::StrongUnavailable { .. } | Error::InvalidRecord { .. })
    }

    /// The HTTP answer. Every error is `Cache-Control: no-store` and has no `Location`.
    pub fn reply(&self) -> Reply {
        if let Error::InvalidInput { field, reason } = self {
            let body = serde_json::json!({ "error": "invalid", "field": field, "reason": reason });
            return Reply::json(400, body.to_string()).header("cache-control", "no-store");
        }
        let (status, body) = match self {
            Error::NotFound => (404, "Not Found: no route for this URL\n"),
            Error::MethodNotAllowed => (405, "Method Not Allowed: use GET or HEAD\n"),
            Error::BadRequest(_) => (400, "Bad Request: malformed host or path\n"),
            Error::UriTooLong => (414, "URI Too Long\n"),
            Error::StoreUnavailable(_) | Error::StrongUnavailable { .. } => {
                (503, "Service Unavailable: try again shortly\n")
            }
            Error::InvalidRecord { .. } => (500, "Internal Server Error: this route is misconfigured\n"),
            Error::Unauthorized => (401, "Unauthorized: send Authorization: Bearer <admin token>\n"),
            Error::InvalidInput { .. } => (400, "Bad Request\n"),
            Error::PayloadTooLarge => (413, "Payload Too Large\n"),
            Error::RequestTimeout => (408, "Request Timeout: the body did not arrive in time\n"),
            Error::RateLimited => (429, "Too Many Requests: too many unknown links from this client\n"),
        };
        let mut reply = Reply::text(status, body).header("cache-control", "no-store");
        match self {
            Error::MethodNotAllowed => reply = reply.header("allow", ALLOW),
            Error::Unauthorized => reply = reply.header("www-authenticate", "Bearer"),
            Error::StoreUnavailable(_) | Error::StrongUnavailable { .. } => {
                reply = reply.header("retry-after", RETRY_AFTER_SECS.to_string())
            }
            Error::RateLimited => reply = reply.header("retry-after", RATE_LIMIT_RETRY_AFTER_SECS.to_string()),
            _ => {}
        }
        reply
    }
}
