//! Rule patterns (`from`) and placeholder substitution into targets (`to`).
//!
//! A pattern is a canonical path whose segments may be `:name` placeholders (one
//! non-empty segment each) and whose last segment may be `*` (the rest of the path,
//! zero or more segments, available to `to` as `:splat`).
//!
//! Substitution only ever touches the path, query and fragment of the target, never
//! its scheme or authority, and every substituted value is percent-encoded down to
//! unreserved characters (`/` between splat segments excepted). So `?`, `#`, `&`,
//! `@`, `:` or `%2F` in a request path can never change where the target points; the
//! result is re-parsed and its origin checked against the template's as well.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::{Position, Url};

use crate::canon::canonical_path;
use crate::record::MAX_TARGET_BYTES;

/// Everything but unreserved characters (RFC 3986) is encoded in substituted values.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(String),
    Param(String),
}

/// A parsed `from` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<Seg>,
    splat: bool,
}

/// Values captured by a match: `(name, canonical segment)` pairs and the splat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    pub params: Vec<(String, String)>,
    pub splat: Option<String>,
}

/// Why a pattern is not valid.
pub type PatternError = String;

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Pattern {
    /// Parse a `from` value such as `/blog/:year/:slug` or `/docs/*`.
    pub fn parse(from: &str) -> Result<Pattern, PatternError> {
        if !from.starts_with('/') {
            return Err("must start with '/'".into());
        }
        let raw: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
        let mut segments = Vec::with_capacity(raw.len());
        let mut splat = false;
        for (i, seg) in raw.iter().enumerate() {
            if *seg == "*" {
                if i + 1 != raw.len() {
                    return Err("'*' may only be the last segment".into());
                }
                splat = true;
            } else if let Some(name) = seg.strip_prefix(':') {
                if !is_name(name) || name == "splat" {
                    return Err(format!("placeholder {seg:?} must be ':' and a name (letters, digits, '_'), not ':splat'"));
                }
                if segments.contains(&Seg::Param(name.to_string())) {
                    return Err(format!("placeholder {seg:?} is used twice"));
                }
                segments.push(Seg::Param(name.to_string()));
            } else {
                let canonical = canonical_path(&format!("/{seg}")).map_err(|e| e.to_string())?;
                match canonical.strip_prefix('/') {
                    Some(lit) if !lit.is_empty() && !lit.contains('/') => segments.push(Seg::Literal(lit.to_string())),
                    _ => return Err(format!("segment {seg:?} is not a plain path segment")),
                }
            }
        }
        Ok(Pattern { segments, splat })
    }

    /// The first segment, if it is a literal (used to index rule arrays).
    pub fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Seg::Literal(lit)) => Some(lit),
            _ => None,
        }
    }

    /// Whether every path `other` matches, this pattern matches too (so a rule with
    /// this pattern placed earlier leaves `other` nothing: it is shadowed). Used by
    /// the routes tool's lints.
    pub fn covers(&self, other: &Pattern) -> bool {
        // Segment by segment: a literal covers only the same literal; a placeholder
        // covers any one segment (but not a splat's zero); the rest must line up.
        if self.segments.len() > other.segments.len() {
            return false;
        }
        let pairs_ok = self.segments.iter().zip(&other.segments).all(|(mine, theirs)| match (mine, theirs) {
            (Seg::Param(_), _) => true,
            (Seg::Literal(a), Seg::Literal(b)) => a == b,
            (Seg::Literal(_), Seg::Param(_)) => false,
        });
        if !pairs_ok {
            return false;
        }
        if self.splat {
            return true;
        }
        // No splat here: `other` must have exactly as many segments and no splat.
        self.segments.len() == other.segments.len() && !other.splat
    }

    /// The one path this pattern matches when it has no placeholder and no splat.
    pub fn literal_path(&self) -> Option<String> {
        if self.splat {
            return None;
        }
        let mut path = String::new();
        for seg in &self.segments {
            let Seg::Literal(lit) = seg else { return None };
            path.push('/');
            path.push_str(lit);
        }
        Some(if path.is_empty() { "/".to_string() } else { path })
    }

    /// Placeholder names, in order (and `splat` when the pattern ends in `*`).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.segments.iter().filter_map(|s| match s {
            Seg::Param(n) => Some(n.as_str()),
            Seg::Literal(_) => None,
        }).collect();
        if self.splat {
            names.push("splat");
        }
        names
    }

    /// Match a canonical path; `None` when it does not match.
    pub fn matches(&self, path: &str) -> Option<Captures> {
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        let mut caps = Captures::default();
        for seg in &self.segments {
            let part = parts.next()?;
            match seg {
                Seg::Literal(lit) if lit == part => {}
                Seg::Literal(_) => return None,
                Seg::Param(name) => caps.params.push((name.clone(), part.to_string())),
            }
        }
        let rest: Vec<&str> = parts.collect();
        if self.splat {
            caps.splat = Some(rest.join("/"));
        } else if !rest.is_empty() {
            return None;
        }
        Some(caps)
    }
}

/// Why a substituted target was refused (it would be too long, or not a URL with
/// the template's origin: the latter cannot happen by construction, and is checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstituteError {
    TooLong,
    OriginChanged,
}

/// Substitute `:name` and `:splat` in the path, query and fragment of `template`.
/// Tokens that name no capture are left as they are.
pub fn substitute(template: &Url, caps: &Captures) -> Result<Url, SubstituteError> {
    let head = &template[..Position::BeforePath];
    let tail = &template[Position::BeforePath..];
    if !tail.contains(':') {
        return Ok(template.clone());
    }
    let mut out = String::with_capacity(template.as_str().len() + 64);
    out.push_str(head);
    let bytes = tail.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            let name = &tail[start..end];
            if let Some(value) = lookup(caps, name) {
                push_value(&mut out, value, name == "splat");
                i = end;
                continue;
            }
        }
        // copy one UTF-8 char (the tail of a serialised URL is ASCII, but be exact)
        let ch_len = tail[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&tail[i..i + ch_len]);
        i += ch_len;
    }
    if out.len() > MAX_TARGET_BYTES {
        return Err(SubstituteError::TooLong);
    }
    let url = Url::parse(&out).map_err(|_| SubstituteError::OriginChanged)?;
    if url.scheme() != template.scheme()
        || url.host_str() != template.host_str()
        || url.port() != template.port()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(SubstituteError::OriginChanged);
    }
    Ok(url)
}

fn lookup<'a>(caps: &'a Captures, name: &str) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    if name == "splat" {
        return caps.splat.as_deref();
    }
    caps.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Append a captured value: decode the canonical segment(s), then encode everything
/// but unreserved characters; splat keeps `/` between its segments.
fn push_value(out: &mut String, value: &str, keep_slashes: bool) {
    let mut first = true;
    for seg in value.split('/') {
        if !first {
            if keep_slashes {
                out.push('/');
            } else {
                out.push_str("%2F");
            }
        }
        first = false;
        let decoded = percent_decode_str(seg).collect::<Vec<u8>>();
        match std::str::from_utf8(&decoded) {
            Ok(text) => out.extend(utf8_percent_encode(text, VALUE)),
            Err(_) => {
                for b in decoded {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps_for(from: &str, path: &str) -> Option<Captures> {
        Pattern::parse(from).unwrap().matches(path)
    }

    #[test]
    fn covers_is_containment_of_what_matches() {
        let p = |s: &str| Pattern::parse(s).unwrap();
        let yes = [("/*", "/a/b"), ("/*", "/"), ("/a/*", "/a/:x"), ("/a/*", "/a/b/*"), ("/:x", "/a"), ("/:x/b", "/a/b"), ("/a/:x/*", "/a/b/c"), ("/a", "/a")];
        let no = [("/a", "/a/*"), ("/:x", "/"), ("/:x", "/a/*"), ("/a/b", "/a/:x"), ("/a/:x", "/a/*"), ("/b/*", "/a/b"), ("/a/b", "/a")];
        for (a, b) in yes {
            assert!(p(a).covers(&p(b)), "{a} covers {b}");
            // Property: whatever b matches, a matches.
            for path in ["/", "/a", "/a/b", "/a/b/c", "/x/y"] {
                if p(b).matches(path).is_some() {
                    assert!(p(a).matches(path).is_some(), "{a} must match {path} since {b} does");
                }
            }
        }
        for (a, b) in no {
            assert!(!p(a).covers(&p(b)), "{a} does not cover {b}");
        }
        assert_eq!(p("/a/b").literal_path().as_deref(), Some("/a/b"));
        assert_eq!(p("/").literal_path().as_deref(), Some("/"));
        assert_eq!(p("/a/:x").literal_path(), None);
        assert_eq!(p("/a/:x/*").names(), ["x", "splat"]);
    }

    #[test]
    fn matching_table() {
        let p = |name: &str, v: &str| (name.to_string(), v.to_string());
        assert_eq!(caps_for("/a/b", "/a/b"), Some(Captures::default()));
        assert_eq!(caps_for("/a/b", "/a/b/c"), None);
        assert_eq!(caps_for("/a/b", "/a"), None);
        assert_eq!(caps_for("/", "/"), Some(Captures::default()));
        assert_eq!(caps_for("/", "/x"), None);
        assert_eq!(caps_for("/blog/:year/:slug", "/blog/2024/hello").unwrap().params, vec![p("year", "2024"), p("slug", "hello")]);
        assert_eq!(caps_for("/blog/:year/:slug", "/blog/2024"), None);
        assert_eq!(caps_for("/docs/*", "/docs").unwrap().splat.as_deref(), Some(""));
        assert_eq!(caps_for("/docs/*", "/docs/a/b").unwrap().splat.as_deref(), Some("a/b"));
        assert_eq!(caps_for("/docs/*", "/doc"), None);
        assert_eq!(caps_for("/*", "/").unwrap().splat.as_deref(), Some(""));
        assert_eq!(caps_for("/u/:id/*", "/u/7/x/y").unwrap(), Captures { params: vec![p("id", "7")], splat: Some("x/y".into()) });
        // literals are canonicalised like keys
        assert!(caps_for("/caf%c3%a9/%7Ex", "/caf%C3%A9/~x").is_some());
        assert!(caps_for("/Docs/*", "/docs/a").is_none(), "case-sensitive");
    }

    #[test]
    fn invalid_patterns() {
        for bad in ["docs", "/a/*/b", "/:", "/:1x", "/:a/:a", "/:splat", "/a/..", "/."] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    fn sub(to: &str, from: &str, path: &str) -> Result<String, SubstituteError> {
        let caps = caps_for(from, path).expect("pattern matches");
        substitute(&Url::parse(to).unwrap(), &caps).map(|u| u.to_string())
    }

    #[test]
    fn substitution_table() {
        assert_eq!(sub("https://new.example.com/p/:year/:slug", "/blog/:year/:slug", "/blog/2024/hi").unwrap(), "https://new.example.com/p/2024/hi");
        assert_eq!(sub("https://new.example.com/docs/:splat", "/docs/*", "/docs/a/b").unwrap(), "https://new.example.com/docs/a/b");
        assert_eq!(sub("https://new.example.com/docs/:splat", "/docs/*", "/docs").unwrap(), "https://new.example.com/docs/");
        assert_eq!(sub("https://n.example.com/s?q=:term&x=1", "/s/:term", "/s/a&b=c").unwrap(), "https://n.example.com/s?q=a%26b%3Dc&x=1");
        assert_eq!(sub("https://n.example.com/:id", "/:id", "/a%2Fb").unwrap(), "https://n.example.com/a%2Fb");
        assert_eq!(sub("https://n.example.com/:id", "/:id", "/caf%C3%A9").unwrap(), "https://n.example.com/caf%C3%A9");
        assert_eq!(sub("https://n.example.com/:id#:id", "/:id", "/x").unwrap(), "https://n.example.com/x#x");
        // unknown tokens and ports stay as they are
        assert_eq!(sub("https://n.example.com:8443/a:b/:id", "/:id", "/x").unwrap(), "https://n.example.com:8443/a:b/x");
        // a value can never become an authority
        assert_eq!(sub("https://n.example.com/:id", "/:id", "/@evil.example.com").unwrap(), "https://n.example.com/%40evil.example.com");
        assert_eq!(sub("https://n.example.com/:splat", "/*", "/..%2F..%2Fevil.com").unwrap(), "https://n.example.com/..%2F..%2Fevil.com");
    }

    #[test]
    fn overlong_result_is_refused() {
        let long = "x".repeat(2000);
        let to = format!("https://n.example.com/:id/:id/:id?{}", "y".repeat(100));
        assert_eq!(sub(&to, "/:id", &format!("/{long}")), Err(SubstituteError::TooLong));
    }
}
