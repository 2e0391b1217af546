//! The Unicode the route contract needs: NFC for the text of a path
//! ([`crate::canon`]) and IDNA (UTS 46, as the WHATWG URL standard applies it) for
//! hosts and target URLs ([`crate::canon`], [`crate::record`]).
//!
//! Natively (the CLI, the tests, the fuzz targets) both come from ICU4X tables:
//! `icu_normalizer`, and the `url` crate's IDNA back end. On wasm32 (the worker) the
//! binary carries no tables (about 58 KB gzip of the wasm): `vendor/idna_adapter`
//! gives `url` no Unicode back end there, so it refuses a non-ASCII host and takes an
//! `xn--` label unchecked. The worker instead [`install`]s the runtime's own
//! `String.prototype.normalize` and WHATWG `URL` (`src/unicode.rs` in the worker),
//! and this module sends them exactly the inputs the tables would have been needed
//! for: text that is not ASCII, and hosts with a non-ASCII character or an `xn--`
//! label. Everything else never leaves wasm: the runtime hands over request URLs
//! in ASCII, so only a request to an IDN host (an `xn--` label, checked again by
//! the runtime's parser) or with non-ASCII text in its path makes a call.
//!
//! The runtime's `URL` is WHATWG's only with workerd's `url_standard` behaviour (the
//! default from compatibility date 2022-10-31; `config/environments.json` sets
//! 2026-04-20 and no `url_original` flag).
//!
//! The worker installs the runtime before anything canonicalises or parses a record
//! (on an instance's first request, and in each Durable Object). Were it missing,
//! hosts and URLs that need IDNA would be refused, and NFC would leave text as it is:
//! keys are written in NFC, so such a path finds no key (a 404), never another
//! route's target.

use std::borrow::Cow;

use url::{Host, Url};

/// The runtime's Unicode, for a build without tables (wasm32).
#[derive(Clone, Copy)]
pub struct Runtime {
    /// `text` in NFC, or `None` if the runtime could not normalise it.
    pub nfc: fn(&str) -> Option<String>,
    /// An absolute URL as the runtime's WHATWG `URL` parser writes it (`href`, its
    /// host in ASCII), or `None` if the parser refuses it.
    pub url_href: fn(&str) -> Option<String>,
}

#[cfg(target_arch = "wasm32")]
static RUNTIME: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();

/// Use `runtime` for NFC and IDNA from now on (wasm32; natively the tables serve and
/// this does nothing). The first call wins; later calls are ignored.
pub fn install(runtime: Runtime) {
    #[cfg(target_arch = "wasm32")]
    let _ = RUNTIME.set(runtime);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = runtime;
}

/// `text` in NFC (Unicode Normalization Form C).
pub fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    #[cfg(not(target_arch = "wasm32"))]
    return icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(text);
    #[cfg(target_arch = "wasm32")]
    match RUNTIME.get().and_then(|r| (r.nfc)(text)) {
        Some(normal) if normal != text => Cow::Owned(normal),
        _ => Cow::Borrowed(text),
    }
}

/// An absolute URL, parsed as `url::Url` does with its IDNA tables.
pub fn parse_url(raw: &str) -> Result<Url, url::ParseError> {
    let parsed = Url::parse(raw);
    if !cfg!(target_arch = "wasm32") {
        return parsed;
    }
    // Without tables, `url` refuses a non-ASCII host (IdnaError) and takes an
    // `xn--` label as it is: both go through the runtime's parser, whose ASCII
    // serialisation `url` then reads (and checks in every other respect) itself.
    let to_runtime = match &parsed {
        Err(e) => *e == url::ParseError::IdnaError,
        Ok(url) => url.host_str().is_some_and(has_punycode_label),
    };
    if !to_runtime {
        return parsed;
    }
    let href = runtime_href(raw).ok_or(url::ParseError::IdnaError)?;
    Url::parse(&href)
}

/// A host (no port) parsed as `url::Host::parse` does with its IDNA tables.
pub fn parse_host(raw: &str) -> Result<Host, url::ParseError> {
    let parsed = Host::parse(raw);
    // Decided on what `url` made of the text, which it percent-decodes first:
    // `b%C3%BCcher` is not ASCII to it, and `xn%2D%2Dzz` is an `xn--` label.
    let to_runtime = match &parsed {
        Err(e) => *e == url::ParseError::IdnaError,
        Ok(Host::Domain(domain)) => has_punycode_label(domain),
        Ok(_) => false,
    };
    if !cfg!(target_arch = "wasm32") || !to_runtime {
        return parsed;
    }
    // Only a host name the WHATWG parser could take goes to the runtime, so that
    // nothing in it can end the host early there ("a/b", "a@b", "a:1").
    if raw.bytes().any(is_forbidden_host_byte) {
        return Err(url::ParseError::InvalidDomainCharacter);
    }
    let href = runtime_href(&format!("http://{raw}/")).ok_or(url::ParseError::IdnaError)?;
    let url = Url::parse(&href)?;
    match (url.host(), url.port(), url.path(), url.query(), url.fragment(), url.username()) {
        (Some(host), None, "/", None, None, "") => Ok(host.to_owned()),
        _ => Err(url::ParseError::InvalidDomainCharacter),
    }
}

/// Whether a label of `host` starts with `xn--` (any case): punycode, which `url`
/// checks only with its tables.
fn has_punycode_label(host: &str) -> bool {
    host.split('.').any(|label| label.as_bytes().get(..4).is_some_and(|start| start.eq_ignore_ascii_case(b"xn--")))
}

/// ASCII that would end or split a host in `http://<host>/` (WHATWG forbidden host
/// code points). `%` passes: the host parser decodes it after the URL is split, as
/// `url::Host::parse` does, and refuses what it decodes to if that is forbidden.
fn is_forbidden_host_byte(b: u8) -> bool {
    b <= 0x20 || b == 0x7f || b"#/:<>?@[\\]^|".contains(&b)
}

#[cfg(target_arch = "wasm32")]
fn runtime_href(raw: &str) -> Option<String> {
    RUNTIME.get().and_then(|r| (r.url_href)(raw))
}

#[cfg(not(target_arch = "wasm32"))]
fn runtime_href(_raw: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_composes_and_leaves_ascii_borrowed() {
        assert_eq!(nfc("cafe\u{301}"), "caf\u{e9}");
        assert!(matches!(nfc("plain/ascii"), Cow::Borrowed(_)));
    }

    #[test]
    fn punycode_labels_in_any_case() {
        assert!(has_punycode_label("a.XN--bcher-kva.example"));
        assert!(!has_punycode_label("xn-.example"));
        assert!(!has_punycode_label("axn--b.example"));
        assert!(!has_punycode_label("\u{fc}\u{fc}x.example"), "a multi-byte character across byte 4 is no panic");
    }

    #[test]
    fn forbidden_host_bytes() {
        for b in *b"/?#@:[]\\ " {
            assert!(is_forbidden_host_byte(b), "{:?}", b as char);
        }
        for b in *b"a-.0Z_%" {
            assert!(!is_forbidden_host_byte(b), "{:?}", b as char);
        }
    }
}
