//! A small user-agent classifier for click events (and, later, `device` conditions).
//!
//! It answers one of `bot`, `mobile`, `tablet`, `desktop`, `unknown` by substring tests
//! on the `User-Agent` header, case-insensitively, in that order of precedence:
//!
//! * `bot`: contains `bot`, `crawl`, `spider`, `slurp`, `facebookexternalhit`,
//!   `preview`, `curl/`, `wget/`, `python-`, `go-http-client`, `okhttp`, `headless`.
//! * `tablet`: `ipad`, `tablet`, `kindle`, `silk/`, or `android` without `mobile`.
//! * `mobile`: `mobi`, `iphone`, `ipod`, `android`, `windows phone`.
//! * `desktop`: any other non-empty header.
//! * `unknown`: no header, or an empty one.
//!
//! It is deliberately small (no regex, no database): good enough to split traffic in
//! analytics, and documented so nobody mistakes it for a device database.

/// Form factor of the client, as reported in click events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UaClass {
    Bot,
    Mobile,
    Tablet,
    Desktop,
    Unknown,
}

impl UaClass {
    pub fn as_str(self) -> &'static str {
        match self {
            UaClass::Bot => "bot",
            UaClass::Mobile => "mobile",
            UaClass::Tablet => "tablet",
            UaClass::Desktop => "desktop",
            UaClass::Unknown => "unknown",
        }
    }
}

const BOT_MARKERS: [&str; 12] = [
    "bot", "crawl", "spider", "slurp", "facebookexternalhit", "preview", "curl/", "wget/",
    "python-", "go-http-client", "okhttp", "headless",
];

/// Classify a `User-Agent` header value.
pub fn classify(user_agent: Option<&str>) -> UaClass {
    let Some(ua) = user_agent.map(str::trim).filter(|s| !s.is_empty()) else {
        return UaClass::Unknown;
    };
    // Bound the work on hostile headers: real UAs are well under 512 bytes.
    let mut end = ua.len().min(512);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    let ua = ua[..end].to_ascii_lowercase();
    let has = |needle: &str| ua.contains(needle);
    if BOT_MARKERS.iter().any(|m| has(m)) {
        UaClass::Bot
    } else if has("ipad") || has("tablet") || has("kindle") || has("silk/") || (has("android") && !has("mobile")) {
        UaClass::Tablet
    } else if has("mobi") || has("iphone") || has("ipod") || has("android") || has("windows phone") {
        UaClass::Mobile
    } else {
        UaClass::Desktop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let cases: &[(Option<&str>, UaClass)] = &[
            (None, UaClass::Unknown),
            (Some("  "), UaClass::Unknown),
            (Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"), UaClass::Bot),
            (Some("curl/8.5.0"), UaClass::Bot),
            (Some("facebookexternalhit/1.1"), UaClass::Bot),
            (Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"), UaClass::Mobile),
            (Some("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36"), UaClass::Mobile),
            (Some("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 Chrome/120 Safari/537.36"), UaClass::Tablet),
            (Some("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"), UaClass::Tablet),
            (Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"), UaClass::Desktop),
            (Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15"), UaClass::Desktop),
        ];
        for (ua, want) in cases {
            assert_eq!(classify(*ua), *want, "{ua:?}");
        }
    }

    #[test]
    fn hostile_header_is_bounded_and_safe() {
        let ua = format!("{}é{}", "x".repeat(511), "bot".repeat(1000));
        // 'bot' is past the 512-byte window; the cut lands inside 'é' and must not panic.
        assert_eq!(classify(Some(&ua)), UaClass::Desktop);
    }
}
