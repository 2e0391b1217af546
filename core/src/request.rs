//! What the worker knows about an incoming request: plain data, filled in by the
//! worker layer from the request, its headers and `request.cf`.

use std::borrow::Cow;
use std::fmt;

use url::Url;

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
    /// Read only for records with conditions or a canary, and for explain.
    pub accept_language: Deferred<'a>,
    pub cookie: Deferred<'a>,
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

/// A header the worker reads only if the core asks for it. `Accept-Language` and
/// `Cookie` matter only to records with conditions or a canary (and to explain), and
/// reading a header from the runtime costs a crossing into JS and a copy of its text
/// on every request.
#[derive(Clone, Copy, Default)]
pub enum Deferred<'a> {
    #[default]
    Absent,
    Text(&'a str),
    /// Read from the request each time [`Deferred::get`] is called: by records with
    /// conditions or a canary, once, and by explain.
    Read(&'a dyn Fn() -> Option<String>),
}

impl<'a> Deferred<'a> {
    pub fn get(&self) -> Option<Cow<'a, str>> {
        match *self {
            Deferred::Absent => None,
            Deferred::Text(text) => Some(Cow::Borrowed(text)),
            Deferred::Read(read) => read().map(Cow::Owned),
        }
    }
}

impl<'a> From<Option<&'a str>> for Deferred<'a> {
    fn from(text: Option<&'a str>) -> Self {
        text.map_or(Deferred::Absent, Deferred::Text)
    }
}

impl fmt::Debug for Deferred<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deferred::Absent => f.write_str("Absent"),
            Deferred::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Deferred::Read(_) => f.write_str("Read(..)"),
        }
    }
}

/// The request's URL, as the runtime serialised it (`request.url`).
///
/// A URL already in the form `url::Url` would give back (a lower-case ASCII host
/// name, no port or credentials, only plain characters and well-formed `%XX` in the
/// path and query, no dot segments) is read where it lies: host, path and query are
/// slices of the text. Nearly every request's URL is like that; parsing it again
/// with `url::Url` (IDNA included) cost about 1.5 us per request. Anything else is
/// parsed by `url::Url`, so both ways give the same host, path and query (a property
/// test checks it).
#[derive(Debug, Clone)]
pub enum RequestUrl<'a> {
    /// `text[host_start..host_end]` is the host, then the path up to `path_end`, then
    /// `?` and the query if `path_end` is not the end.
    Plain { text: &'a str, host_start: usize, host_end: usize, path_end: usize },
    Parsed(Url),
}

impl<'a> RequestUrl<'a> {
    pub fn parse(text: &'a str) -> Result<Self, url::ParseError> {
        match plain_spans(text) {
            Some((host_start, host_end, path_end)) => Ok(RequestUrl::Plain { text, host_start, host_end, path_end }),
            None => Url::parse(text).map(RequestUrl::Parsed),
        }
    }

    /// The host, as `Url::host_str` gives it ("" when there is none).
    pub fn host(&self) -> &str {
        match self {
            RequestUrl::Plain { text, host_start, host_end, .. } => &text[*host_start..*host_end],
            RequestUrl::Parsed(url) => url.host_str().unwrap_or(""),
        }
    }

    pub fn path(&self) -> &str {
        match self {
            RequestUrl::Plain { text, host_end, path_end, .. } => &text[*host_end..*path_end],
            RequestUrl::Parsed(url) => url.path(),
        }
    }

    /// The query without its `?`, as `Url::query` gives it.
    pub fn query(&self) -> Option<&str> {
        match self {
            // Past the end (no `?`), `get` gives None.
            RequestUrl::Plain { text, path_end, .. } => text.get(path_end + 1..),
            RequestUrl::Parsed(url) => url.query(),
        }
    }

    /// Scheme, host and path (no port, credentials or query): what logs and fault
    /// reports may carry.
    pub fn without_query(&self) -> Cow<'_, str> {
        match self {
            RequestUrl::Plain { text, path_end, .. } => Cow::Borrowed(&text[..*path_end]),
            RequestUrl::Parsed(url) => Cow::Owned(format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or(""), url.path())),
        }
    }

    /// The whole `url::Url`, for the rare paths that need one (admin, explain). A
    /// plain URL always parses (property-tested); the error is there so that nothing
    /// here can panic.
    pub fn to_url(&self) -> Result<Cow<'_, Url>, url::ParseError> {
        match self {
            RequestUrl::Plain { text, .. } => Url::parse(text).map(Cow::Owned),
            RequestUrl::Parsed(url) => Ok(Cow::Borrowed(url)),
        }
    }
}

/// Where the host starts and ends and where the path ends, if `text` is a plain URL
/// (see [`RequestUrl`]).
fn plain_spans(text: &str) -> Option<(usize, usize, usize)> {
    let start = if text.starts_with("https://") {
        8
    } else if text.starts_with("http://") {
        7
    } else {
        return None;
    };
    let bytes = text.as_bytes();
    let host_end = start + bytes[start..].iter().position(|&b| b == b'/')?;
    // `host_end` is at a '/', so the slice ends on a character boundary.
    if !plain_host(&text[start..host_end]) {
        return None;
    }
    let path_end = host_end + bytes[host_end..].iter().position(|&b| b == b'?').unwrap_or(bytes.len() - host_end);
    let (path, query) = (&bytes[host_end..path_end], &bytes[path_end..]);
    if !plain_chars(path) || !plain_chars(query) {
        return None;
    }
    // Dot segments (`.`, `..`, or either spelled with `%2e`) are resolved by a parser.
    let dotted = path.split(|&b| b == b'/').any(|s| s == b"." || s == b"..")
        || path.windows(3).any(|w| w[0] == b'%' && w[1] == b'2' && (w[2] | 0x20) == b'e');
    (!dotted).then_some((start, host_end, path_end))
}

/// A host `url::Url` keeps as it is: an IPv4 address in its usual form, or a host
/// name already canonical ([`crate::canon::is_plain_host`]: lower case, no punycode,
/// a last label that is not a number).
fn plain_host(host: &str) -> bool {
    let mut labels = host.split('.');
    if labels.clone().all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit())) {
        // Four decimal numbers up to 255, without leading zeros.
        let byte = |l: &str| l.len() <= 3 && (l.len() == 1 || !l.starts_with('0')) && l.parse::<u32>().is_ok_and(|n| n <= 255);
        return labels.clone().count() == 4 && labels.all(byte);
    }
    crate::canon::is_plain_host(host)
}

/// Path or query bytes the parser leaves alone: letters, digits, `-._~!$&()*+,;=:@/?`
/// and `%` with two hex digits.
fn plain_chars(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' | b'/' | b'?' => {}
            b'%' if bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => i += 2,
            _ => return false,
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;
    use proptest::test_runner::TestCaseError;

    use super::*;

    /// Host, path and query through `RequestUrl` and through `url::Url`: the same,
    /// or both refuse the text. Returns whether the text was read in place.
    fn agrees(text: &str) -> Result<bool, String> {
        let ours = RequestUrl::parse(text);
        let theirs = Url::parse(text);
        match (&ours, &theirs) {
            (Ok(ours), Ok(url)) => {
                let want = (url.host_str().unwrap_or(""), url.path(), url.query());
                if (ours.host(), ours.path(), ours.query()) != want {
                    return Err(format!("{text:?}: {:?} but url::Url gives {want:?}", (ours.host(), ours.path(), ours.query())));
                }
                let plain = matches!(ours, RequestUrl::Plain { .. });
                if plain && (url.as_str() != text || ours.without_query() != format!("{}://{}{}", url.scheme(), want.0, want.1)) {
                    return Err(format!("{text:?} was read in place, but url::Url writes it {:?}", url.as_str()));
                }
                if ours.to_url().map(|u| u.into_owned()).as_ref() != Ok(url) {
                    return Err(format!("{text:?}: to_url differs"));
                }
                Ok(plain)
            }
            (Err(_), Err(_)) => Ok(false),
            _ => Err(format!("{text:?}: ours {:?}, url::Url {:?}", ours.as_ref().map(|u| u.path()), theirs.as_ref().map(|u| u.path()))),
        }
    }

    #[test]
    fn a_runtime_url_is_read_in_place() {
        for text in [
            "https://go.example.com/summer",
            "https://go.example.com/summer?utm_source=x&b=%20c",
            "https://go.example.com/",
            "https://go.example.com/a/b.c/~d?",
            "http://localhost/x?y=1?z",
            "https://a-b.c9.example/%E2%9C%93/x",
            "http://127.0.0.1/l/7?utm_source=bench",
            "https://10.255.0.9/x",
        ] {
            assert_eq!(agrees(text), Ok(true), "{text}");
        }
        let url = RequestUrl::parse("https://go.example.com/a?q=1").unwrap();
        assert_eq!((url.host(), url.path(), url.query(), url.without_query().as_ref()), ("go.example.com", "/a", Some("q=1"), "https://go.example.com/a"));
    }

    #[test]
    fn anything_a_parser_would_rewrite_is_parsed() {
        for text in [
            "HTTPS://go.example.com/x",
            "https://Go.Example.com/x",
            "https://go.example.com:443/x",
            "https://go.example.com:8443/x",
            "https://user:pw@go.example.com/x",
            "https://go.example.com",
            "https://go.example.com?x",
            "https://127.1/x",
            "https://127.0.0.01/x",
            "https://127.0.0.256/x",
            "https://1.2.3.4.5/x",
            "https://0x7f.0.0.1/x",
            "https://1.example.123/x",
            "https://xn--bcher-kva.example/x",
            "https://xn--a.example/x",
            "https://bücher.example/x",
            "https://[::1]/x",
            "https://go.example.com./x",
            "https://a..b/x",
            "https://go.example.com/a/../b",
            "https://go.example.com/a/./b",
            "https://go.example.com/%2e%2E/b",
            "https://go.example.com/.%2e/b",
            "https://go.example.com/a b",
            "https://go.example.com/a\\b",
            "https://go.example.com/ä",
            "https://go.example.com/a%zz",
            "https://go.example.com/a{b}",
            "https://go.example.com/a?b'c",
            "https://go.example.com/a#frag",
            "ftp://go.example.com/x",
        ] {
            assert_eq!(agrees(text), Ok(false), "{text}");
        }
        let url = RequestUrl::parse("https://user:pw@go.example.com:8443/a?secret=1").unwrap();
        assert_eq!(url.without_query(), "https://go.example.com/a", "no credentials, port or query in logs");
    }

    proptest::proptest! {
        #[test]
        fn reading_in_place_agrees_with_url_parse(
            scheme in proptest::sample::select(vec!["https://", "http://", "HTTPS://", "https:", "ftp://"]),
            host in proptest::prop_oneof![
                "[a-z0-9.-]{0,12}",
                "[a-zA-Z0-9.:@\\[\\]-]{0,10}",
                proptest::sample::select(vec!["go.example.com", "127.1", "0x7f.1", "1.2.3.4", "a.b9", "a.9b", "xn--bcher-kva.de", "xn--zz.de", "a.-b-", "bücher.de", "ß.de", "a.com.", "[::1]"]).prop_map(str::to_string),
            ],
            path in "(/[a-zA-Z0-9%.~!$&'()*+,;=:@ \\\\{}\"<>^`|#?äE-]{0,6}){0,4}",
            query in proptest::option::of("[a-zA-Z0-9%.~!$&'()*+,;=:@/?# \"<>^`|ä-]{0,10}"),
        ) {
            agrees(&format!("{scheme}{host}{path}{}", query.map(|q| format!("?{q}")).unwrap_or_default())).map_err(TestCaseError::fail)?;
        }

        /// Mostly plain URLs, so that the in-place reading is exercised at its edges.
        #[test]
        fn nearly_plain_urls_agree_with_url_parse(
            host in proptest::prop_oneof!["[a-z0-9][a-z0-9-]{0,4}(\\.[a-z0-9x-]{1,5}){0,2}", "[0-9]{1,4}(\\.[0-9]{1,3}){0,4}"],
            path in "(/(\\.|\\.\\.|%2e|%2E|%41|%4|[a-zA-Z0-9._~!$&()*+,;=:@%-]{0,5})){1,4}",
            query in proptest::option::of("[a-zA-Z0-9._~!$&()*+,;=:@/?%-]{0,8}"),
        ) {
            agrees(&format!("https://{host}{path}{}", query.map(|q| format!("?{q}")).unwrap_or_default())).map_err(TestCaseError::fail)?;
        }
    }
}
