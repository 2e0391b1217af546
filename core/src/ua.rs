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
//! For `device` conditions ([`device_tags`]) a client also gets an OS tag: `ios` for
//! `iphone`/`ipad`/`ipod`, `android` for `android`; bots get only `bot`, so crawlers
//! always see a rule's default target. A client matches a condition's `device` list
//! when any of its tags is in the list.
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

/// Lower-cased header, cut to 512 bytes on a char boundary (real UAs are shorter;
/// hostile ones must not cost more); `None` when absent or blank.
fn normalised(user_agent: Option<&str>) -> Option<String> {
    let ua = user_agent.map(str::trim).filter(|s| !s.is_empty())?;
    let mut end = ua.len().min(512);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    Some(ua[..end].to_ascii_lowercase())
}

fn class_of(ua: &str) -> UaClass {
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

/// Classify a `User-Agent` header value.
pub fn classify(user_agent: Option<&str>) -> UaClass {
    normalised(user_agent).map_or(UaClass::Unknown, |ua| class_of(&ua))
}

/// Operating system, for `ios`/`android` device conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Ios,
    Android,
    Other,
}

/// The device tags a client matches (`device` conditions): its class and its OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTags {
    pub class: UaClass,
    pub os: Os,
}

impl DeviceTags {
    /// Whether any tag of this client is named in `list` (values from ROUTES.md).
    pub fn matches_any(&self, list: &[String]) -> bool {
        list.iter().any(|d| match d.as_str() {
            "ios" => self.os == Os::Ios,
            "android" => self.os == Os::Android,
            other => other == self.class.as_str() && self.class != UaClass::Unknown,
        })
    }
}

/// Class and OS of a `User-Agent` header (see the module docs).
pub fn device_tags(user_agent: Option<&str>) -> DeviceTags {
    let Some(ua) = normalised(user_agent) else {
        return DeviceTags { class: UaClass::Unknown, os: Os::Other };
    };
    let class = class_of(&ua);
    let os = if class == UaClass::Bot {
        Os::Other
    } else if ua.contains("iphone") || ua.contains("ipad") || ua.contains("ipod") {
        Os::Ios
    } else if ua.contains("android") {
        Os::Android
    } else {
        Os::Other
    };
    DeviceTags { class, os }
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
    fn device_tags_table() {
        let list = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let iphone = device_tags(Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"));
        assert_eq!((iphone.class, iphone.os), (UaClass::Mobile, Os::Ios));
        assert!(iphone.matches_any(&list(&["ios"])) && iphone.matches_any(&list(&["mobile"])));
        assert!(!iphone.matches_any(&list(&["android", "desktop"])));
        let tablet = device_tags(Some("Mozilla/5.0 (Linux; Android 13; SM-X710) Chrome/120 Safari/537.36"));
        assert_eq!((tablet.class, tablet.os), (UaClass::Tablet, Os::Android));
        let bot = device_tags(Some("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X) (compatible; Googlebot/2.1)"));
        assert_eq!((bot.class, bot.os), (UaClass::Bot, Os::Other));
        assert!(bot.matches_any(&list(&["bot"])) && !bot.matches_any(&list(&["android", "mobile"])));
        let unknown = device_tags(None);
        assert!(!unknown.matches_any(&list(&["desktop", "mobile", "tablet", "bot", "ios", "android"])));
    }

    #[test]
    fn hostile_header_is_bounded_and_safe() {
        let ua = format!("{}é{}", "x".repeat(511), "bot".repeat(1000));
        // 'bot' is past the 512-byte window; the cut lands inside 'é' and must not panic.
        assert_eq!(classify(Some(&ua)), UaClass::Desktop);
    }
}
