//! Canonical host and path, as defined in ROUTES.md ("Canonical host and path").
//!
//! Both the KV keys written by tools and the lookups made by the worker go through
//! these two functions, so a route matches however the request spelled its URL.
//!
//! * Host: lower case, IDN as punycode, no port, no trailing dot.
//! * Path: starts with `/`; dot segments resolved; runs of `/` collapsed; trailing `/`
//!   removed (except the root); escapes of unreserved characters decoded; other escapes
//!   upper-case hex; non-ASCII text in NFC, percent-encoded as UTF-8; `%2F` stays encoded.
//!
//! Neither function panics, whatever the input; both bound their work by
//! [`MAX_PATH_BYTES`] / [`MAX_HOST_BYTES`].

use std::fmt;

/// Longest raw request path we canonicalise. Longer paths answer 414 without a lookup.
pub const MAX_PATH_BYTES: usize = 2048;
/// DNS limit for a host name (RFC 1035), after the port and trailing dot are removed.
pub const MAX_HOST_BYTES: usize = 253;

/// Why a host or path has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanonError {
    EmptyHost,
    HostTooLong,
    InvalidHost,
    PathNotAbsolute,
    PathTooLong,
}

impl fmt::Display for CanonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CanonError::EmptyHost => "host is empty",
            CanonError::HostTooLong => "host is longer than 253 bytes",
            CanonError::InvalidHost => "host is not a valid domain or IP address",
            CanonError::PathNotAbsolute => "path does not start with '/'",
            CanonError::PathTooLong => "path is longer than 2048 bytes",
        })
    }
}

impl std::error::Error for CanonError {}

/// Canonical host: lower case, punycode, no port, no trailing dot.
///
/// Accepts `Example.COM`, `example.com:8443`, `example.com.`, `bücher.example`,
/// `[::1]:8787`, `127.0.0.1`.
pub fn canonical_host(raw: &str) -> Result<String, CanonError> {
    if is_plain_host(raw) {
        return Ok(raw.to_string());
    }
    parse_host(raw)
}

/// The full host canonicalisation, without the fast path (public for the property
/// test that checks the two agree).
#[doc(hidden)]
pub fn parse_host(raw: &str) -> Result<String, CanonError> {
    let host = strip_port(raw.trim());
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(CanonError::EmptyHost);
    }
    // Allow for IDN expansion before the final check, but refuse absurd input early.
    if host.len() > MAX_HOST_BYTES * 4 {
        return Err(CanonError::HostTooLong);
    }
    // url's WHATWG host parser does IDNA (UTS 46) to ASCII and lower-casing for us
    // (in the worker, with the runtime's IDNA: crate::unicode).
    let parsed = crate::unicode::parse_host(host).map_err(|_| CanonError::InvalidHost)?;
    let out = parsed.to_string();
    if out.is_empty() {
        return Err(CanonError::EmptyHost);
    }
    // "a.." has an empty last label: not a host name, and not one dot to drop.
    if out.ends_with('.') {
        return Err(CanonError::InvalidHost);
    }
    if out.len() > MAX_HOST_BYTES {
        return Err(CanonError::HostTooLong);
    }
    Ok(out)
}

/// Already canonical, and safe to take as it is: lower-case ASCII letters, digits, `-`
/// and `.` in non-empty labels, no punycode label (which the slow path validates), and
/// a last label that is not a number (`123`, `0x1f`, `0x`: the WHATWG parser would
/// read the host as IPv4).
/// This is the common case (hosts from a parsed request URL) and skips IDNA; it is
/// also what `url::Url` keeps as it is ([`crate::request::RequestUrl`]).
pub(crate) fn is_plain_host(host: &str) -> bool {
    host.len() <= MAX_HOST_BYTES
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with("xn--")
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && host.rsplit('.').next().is_some_and(|last| !is_numeric_label(last))
}

fn is_numeric_label(label: &str) -> bool {
    label.bytes().all(|b| b.is_ascii_digit())
        || label.strip_prefix("0x").is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: keep through the closing bracket.
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    }
}

/// Canonical path (see the module docs). The query string must not be included.
pub fn canonical_path(raw: &str) -> Result<String, CanonError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(CanonError::PathTooLong);
    }
    if !raw.starts_with('/') {
        return Err(CanonError::PathNotAbsolute);
    }
    if is_plain_path(raw) {
        return Ok(raw.to_string());
    }
    // Percent-encoding can make a path up to three times longer: the limit holds for
    // the canonical form too, or canonicalising it again would refuse it.
    let path = rewrite_path(raw);
    if path.len() > MAX_PATH_BYTES {
        return Err(CanonError::PathTooLong);
    }
    Ok(path)
}

/// The full path canonicalisation of an absolute path, without the fast path (public
/// for the property test that checks the two agree).
#[doc(hidden)]
pub fn rewrite_path(raw: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    for raw_segment in raw.split('/') {
        let segment = canonical_segment(raw_segment);
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(raw.len() + 1);
    if segments.is_empty() {
        out.push('/');
    }
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    out
}

/// Already canonical: only unreserved characters and `/`, no empty, `.` or `..`
/// segment, no trailing `/` (the root excepted). The common case; skips the rewrite.
fn is_plain_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    path[1..].split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.bytes().all(is_unreserved))
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// ASCII that may stay literal in a canonical path segment: unreserved, sub-delims,
/// `:` and `@` (RFC 3986 `pchar`), plus `%` handled separately.
fn is_literal_pchar(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@'
        )
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 0xF) as usize] as char);
}

/// Canonicalise one segment (no `/` inside; `%2F` stays an escape).
///
/// Bytes that are text (unreserved and literal `pchar` ASCII, and any non-ASCII, raw or
/// escaped) are gathered into runs; each run is NFC-normalised as a whole, so a
/// combining mark composes with the letter before it. ASCII that must stay escaped
/// ends a run, so normalisation can never reach into an escape.
fn canonical_segment(seg: &str) -> String {
    let bytes = seg.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut text: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (value, escaped, width) = if b == b'%' {
            match (bytes.get(i + 1).copied().and_then(hex_val), bytes.get(i + 2).copied().and_then(hex_val)) {
                (Some(h), Some(l)) => ((h << 4) | l, true, 3),
                // A lone '%' is data, so it is written as %25.
                _ => (b'%', true, 1),
            }
        } else {
            (b, false, 1)
        };
        i += width;
        if value >= 0x80 || is_unreserved(value) || (!escaped && is_literal_pchar(value)) {
            text.push(value);
        } else {
            flush_text(&mut out, &mut text);
            push_escaped(&mut out, value);
        }
    }
    flush_text(&mut out, &mut text);
    out
}

/// Write a run of text bytes: valid UTF-8 in NFC, ASCII pchars literal, everything
/// else (non-ASCII, bytes that are not UTF-8) as upper-case escapes.
fn flush_text(out: &mut String, text: &mut Vec<u8>) {
    if text.is_empty() {
        return;
    }
    for chunk in text.utf8_chunks() {
        let valid = chunk.valid();
        let normalised = crate::unicode::nfc(valid);
        for b in normalised.bytes() {
            if b < 0x80 && is_literal_pchar(b) {
                out.push(b as char);
            } else {
                push_escaped(out, b);
            }
        }
        for &b in chunk.invalid() {
            push_escaped(out, b);
        }
    }
    text.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let cases: &[(&str, Result<&str, CanonError>)] = &[
            ("go.example.com", Ok("go.example.com")),
            ("Go.Example.COM", Ok("go.example.com")),
            ("go.example.com.", Ok("go.example.com")),
            ("go.example.com:8443", Ok("go.example.com")),
            ("GO.example.com.:443", Ok("go.example.com")),
            ("bücher.example", Ok("xn--bcher-kva.example")),
            ("BÜCHER.example", Ok("xn--bcher-kva.example")),
            ("xn--bcher-kva.example", Ok("xn--bcher-kva.example")),
            ("127.0.0.1:8787", Ok("127.0.0.1")),
            ("[::1]:8787", Ok("[::1]")),
            ("localhost", Ok("localhost")),
            ("", Err(CanonError::EmptyHost)),
            (".", Err(CanonError::EmptyHost)),
            (":80", Err(CanonError::EmptyHost)),
            ("exa mple.com", Err(CanonError::InvalidHost)),
            ("a/b", Err(CanonError::InvalidHost)),
            ("a..", Err(CanonError::InvalidHost)),
            // regression (found by the fast-path property test): "0x" ends in a number
            ("a.0x", Err(CanonError::InvalidHost)),
            ("a.0x1f", Err(CanonError::InvalidHost)),
            ("a.0xg", Ok("a.0xg")),
        ];
        for (input, want) in cases {
            assert_eq!(canonical_host(input).as_deref().map_err(|e| *e), *want, "host {input:?}");
        }
        assert_eq!(canonical_host(&"a".repeat(300)), Err(CanonError::HostTooLong));
    }

    #[test]
    fn paths() {
        let cases: &[(&str, &str)] = &[
            ("/", "/"),
            ("//", "/"),
            ("/summer", "/summer"),
            ("/summer/", "/summer"),
            ("//a///b//", "/a/b"),
            ("/a/./b/../c", "/a/c"),
            ("/../../a", "/a"),
            ("/a/%2e%2E/b", "/b"),
            ("/Summer", "/Summer"),
            ("/%7Euser/%41%62c", "/~user/Abc"),
            ("/a%2fb", "/a%2Fb"),
            ("/a%2Fb/", "/a%2Fb"),
            ("/a%3ab", "/a%3Ab"),
            ("/a:b@c", "/a:b@c"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("/café", "/caf%C3%A9"),
            // NFD e + combining acute -> NFC é
            ("/cafe%CC%81", "/caf%C3%A9"),
            ("/cafe\u{301}", "/caf%C3%A9"),
            ("/%ff%FE", "/%FF%FE"),
            ("/100%", "/100%25"),
            ("/100%zz", "/100%25zz"),
            ("/a b", "/a%20b"),
            ("/a\"<>\\^`{|}", "/a%22%3C%3E%5C%5E%60%7B%7C%7D"),
            ("/a\r\nb", "/a%0D%0Ab"),
            // KELVIN SIGN is canonically K; GREEK QUESTION MARK is ';'.
            ("/%E2%84%AA", "/K"),
            ("/a%CD%BE", "/a;"),
            // an escaped reserved character never composes with what follows
            ("/%3D%CC%B8", "/%3D%CC%B8"),
            ("/=%CC%B8", "/%E2%89%A0"),
            ("/%C3%28", "/%C3%28"),
            ("/?x", "/%3Fx"),
        ];
        for (input, want) in cases {
            assert_eq!(canonical_path(input).as_deref(), Ok(*want), "path {input:?}");
        }
        assert_eq!(canonical_path("summer"), Err(CanonError::PathNotAbsolute));
        assert_eq!(canonical_path(""), Err(CanonError::PathNotAbsolute));
        assert_eq!(canonical_path(&format!("/{}", "a".repeat(MAX_PATH_BYTES))), Err(CanonError::PathTooLong));
    }

    /// Bug (found by `scripts/fuzz canon`): a path under the limit whose canonical
    /// form, percent-encoded, was over it came back Ok, and canonicalising that again
    /// answered PathTooLong: canonicalisation was not idempotent, and an admin key so
    /// written could never be reached by a request.
    #[test]
    fn regression_a_canonical_path_over_the_limit_is_refused_not_returned() {
        let raw = format!("/{}", "\u{fffd}".repeat(MAX_PATH_BYTES / 3 - 1));
        assert!(raw.len() <= MAX_PATH_BYTES);
        assert_eq!(canonical_path(&raw), Err(CanonError::PathTooLong));
        let fits = format!("/{}", "\u{e9}".repeat(MAX_PATH_BYTES / 6 - 1));
        let once = canonical_path(&fits).unwrap();
        assert_eq!(canonical_path(&once), Ok(once.clone()));
    }
}
