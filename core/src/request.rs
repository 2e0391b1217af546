//! What the worker knows about an incoming request: plain data, filled in by the
//! worker layer from the request, its headers and `request.cf`.

/// What the worker knows about the incoming request.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// `request.cf.country`
    pub country: Option<&'a str>,
    /// `request.cf.colo`
    pub colo: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub accept_language: Option<&'a str>,
    pub cookie: Option<&'a str>,
    /// 64 random bits drawn for this request: a new client's canary id.
    pub random: u64,
    pub authorization: Option<&'a str>,
    /// `X-Redirector-Country`: explain only, simulates `cf.country`.
    pub explain_country: Option<&'a str>,
    /// Request body: read by the worker only for an authorised admin write
    /// ([`crate::admin::body_plan`]).
    pub body: Body<'a>,
    /// Unix milliseconds, used for `starts`/`expires`.
    pub now_ms: i64,
}

/// An admin request's body, as the worker read it (following
/// [`crate::admin::body_plan`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Body<'a> {
    /// Not read (not an admin write, or no valid token).
    #[default]
    NotRead,
    Text(&'a str),
    /// Over [`crate::admin::MAX_BODY_BYTES`], by `Content-Length` or while reading;
    /// the rest was not read.
    TooLarge,
    /// Not complete within the time limit.
    TimedOut,
    /// Not UTF-8, or the stream failed.
    Unreadable,
}
