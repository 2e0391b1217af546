//! A small user-agent classifier for click events (and, later, `device` conditions).
//!
//! It answers one of `bot`, `mobile`, `tablet`, `desktop`, `unknown` by substring tests
//! on the `User-Agent` header, case-insensitively, in that order of precedence:
//!
//! * `bot`: contains `bot`, `crawl`, `spider`, `slurp`, `facebookexternalhit`,
//!   `preview`, `curl/`, `wget/`, `python-`, `go-http-client`, `okhttp`, `headless`,
//!   or is a link-preview fetcher (below).
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
//! **Audience** ([`audience`], click blob14): `preview` for the link-preview fetchers
//! of chat and social apps ([`PREVIEW_MARKERS`]: Slack, Twitter/X, Facebook,
//! WhatsApp, Discord, Telegram, LinkedIn, iMessage (which sends Facebook's and
//! Twitter's tokens), Skype and Teams, Pinterest, Reddit, Mastodon, embed services), `bot` for any other `bot` class, `head` for a HEAD request from anyone
//! else, `person` otherwise. Only a `person` spends a strong link's `max_clicks`, and
//! every count the project reports is of `person` events (docs/clicks.md).
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

/// Link-preview fetchers (lower case substrings of their `User-Agent`).
/// Tokens that also appear in in-app browsers (a person clicking inside the Pinterest
/// or Teams app) are left out on purpose.
pub const PREVIEW_MARKERS: [&str; 19] = [
    "slackbot", "slack-imgproxy", "twitterbot", "facebookexternalhit", "facebot", "meta-externalagent",
    "whatsapp", "discordbot", "telegrambot", "linkedinbot", "skypeuripreview", "pinterestbot",
    "redditbot", "mastodon", "embedly", "iframely", "vkshare", "google-pagerenderer", "bitlybot",
];

/// Who sent a request, as click events report it (blob14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Person,
    Preview,
    Bot,
    Head,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Person => "person",
            Audience::Preview => "preview",
            Audience::Bot => "bot",
            Audience::Head => "head",
        }
    }
}

/// Who sent a request with this method and `User-Agent` (see the module docs).
pub fn audience(method: &str, user_agent: Option<&str>) -> Audience {
    UserAgent::parse(user_agent).audience(method)
}

/// A `User-Agent` header searched once for every marker: the click's class and
/// audience and the device conditions all ask this, not the header again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserAgent(Option<Found>);

impl UserAgent {
    pub fn parse(user_agent: Option<&str>) -> UserAgent {
        UserAgent(normalised(user_agent).map(|ua| Found::in_ua(&ua)))
    }

    /// Who sent a request with this method (see the module docs).
    pub fn audience(self, method: &str) -> Audience {
        match self.0 {
            Some(f) if f.any(PREVIEW) => Audience::Preview,
            Some(f) if f.class() == UaClass::Bot => Audience::Bot,
            _ if method.eq_ignore_ascii_case("HEAD") => Audience::Head,
            _ => Audience::Person,
        }
    }

    pub fn class(self) -> UaClass {
        self.0.map_or(UaClass::Unknown, Found::class)
    }

    pub fn device_tags(self) -> DeviceTags {
        match self.0 {
            Some(found) => {
                let class = found.class();
                DeviceTags { class, os: found.os(class) }
            }
            None => DeviceTags { class: UaClass::Unknown, os: Os::Other },
        }
    }
}

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

/// Every substring the classifier tests for, in one table: the bot markers, the
/// preview markers, then the device words. Bit `i` of a [`Found`] is `MARKERS[i]`.
const MARKERS: [&str; 41] = {
    let mut all = [""; 41];
    let mut i = 0;
    while i < BOT_MARKERS.len() {
        all[i] = BOT_MARKERS[i];
        i += 1;
    }
    while i < BOT_MARKERS.len() + PREVIEW_MARKERS.len() {
        all[i] = PREVIEW_MARKERS[i - BOT_MARKERS.len()];
        i += 1;
    }
    let words = ["ipad", "tablet", "kindle", "silk/", "android", "mobile", "mobi", "iphone", "ipod", "windows phone"];
    while i < all.len() {
        all[i] = words[i - BOT_MARKERS.len() - PREVIEW_MARKERS.len()];
        i += 1;
    }
    all
};
const fn bit(i: usize) -> u64 {
    1 << i
}
const BOTS: u64 = bit(BOT_MARKERS.len()) - 1;
/// Where the device words start in [`MARKERS`].
const W: usize = BOT_MARKERS.len() + PREVIEW_MARKERS.len();
const PREVIEW: u64 = (bit(W) - 1) & !BOTS;
const IPAD: u64 = bit(W);
const TABLET: u64 = bit(W + 1);
const KINDLE: u64 = bit(W + 2);
const SILK: u64 = bit(W + 3);
const ANDROID: u64 = bit(W + 4);
const MOBILE: u64 = bit(W + 5);
const MOBI: u64 = bit(W + 6);
const IPHONE: u64 = bit(W + 7);
const IPOD: u64 = bit(W + 8);
const WINDOWS_PHONE: u64 = bit(W + 9);

/// For each byte, the markers that start with it.
const BY_FIRST_BYTE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < MARKERS.len() {
        table[MARKERS[i].as_bytes()[0] as usize] |= bit(i);
        i += 1;
    }
    table
};

/// Which [`MARKERS`] occur in a (normalised) user agent. Found in one pass over it,
/// trying at each position only the markers that start with its byte: what used to
/// be some sixty `str::contains` calls per request, each setting up its own search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found(u64);

impl Found {
    fn in_ua(ua: &str) -> Found {
        let hay = ua.as_bytes();
        let mut found = 0u64;
        for start in 0..hay.len() {
            let mut candidates = BY_FIRST_BYTE[hay[start] as usize] & !found;
            while candidates != 0 {
                let i = candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                if hay[start..].starts_with(MARKERS[i].as_bytes()) {
                    found |= bit(i);
                }
            }
        }
        Found(found)
    }

    fn any(self, mask: u64) -> bool {
        self.0 & mask != 0
    }

    fn class(self) -> UaClass {
        if self.any(BOTS | PREVIEW) {
            UaClass::Bot
        } else if self.any(IPAD | TABLET | KINDLE | SILK) || (self.any(ANDROID) && !self.any(MOBILE)) {
            UaClass::Tablet
        } else if self.any(MOBI | IPHONE | IPOD | ANDROID | WINDOWS_PHONE) {
            UaClass::Mobile
        } else {
            UaClass::Desktop
        }
    }

    /// The OS tag, given this client's [`Found::class`].
    fn os(self, class: UaClass) -> Os {
        if class == UaClass::Bot {
            Os::Other
        } else if self.any(IPHONE | IPAD | IPOD) {
            Os::Ios
        } else if self.any(ANDROID) {
            Os::Android
        } else {
            Os::Other
        }
    }
}

/// Classify a `User-Agent` header value.
pub fn classify(user_agent: Option<&str>) -> UaClass {
    UserAgent::parse(user_agent).class()
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
    UserAgent::parse(user_agent).device_tags()
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

    /// Bug: link-preview fetchers and HEAD requests counted as clicks (and spent
    /// `max_clicks`); WhatsApp's fetcher was even classed as a desktop.
    #[test]
    fn regression_previews_bots_and_head_are_not_people() {
        let previews = [
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Twitterbot/1.0",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "facebookexternalhit/1.1 Facebot Twitterbot/1.0", // iMessage
            "WhatsApp/2.23.20.0 A",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "TelegramBot (like TwitterBot)",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        ];
        for ua in previews {
            assert_eq!(audience("GET", Some(ua)), Audience::Preview, "{ua}");
            assert_eq!(audience("HEAD", Some(ua)), Audience::Preview, "{ua}");
            assert_eq!(classify(Some(ua)), UaClass::Bot, "{ua}");
        }
        assert_eq!(audience("GET", Some("Mozilla/5.0 (compatible; Googlebot/2.1)")), Audience::Bot);
        assert_eq!(audience("GET", Some("curl/8.5.0")), Audience::Bot);
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131 Safari/537.36";
        assert_eq!(audience("HEAD", Some(chrome)), Audience::Head);
        assert_eq!(audience("GET", Some(chrome)), Audience::Person);
        assert_eq!(audience("GET", None), Audience::Person);
    }

    #[test]
    fn hostile_header_is_bounded_and_safe() {
        let ua = format!("{}é{}", "x".repeat(511), "bot".repeat(1000));
        // 'bot' is past the 512-byte window; the cut lands inside 'é' and must not panic.
        assert_eq!(classify(Some(&ua)), UaClass::Desktop);
    }

    /// The one-pass marker search answers exactly what `str::contains` per marker did.
    fn by_contains(ua: &str) -> (UaClass, Os, bool) {
        let has = |n: &str| ua.contains(n);
        let preview = PREVIEW_MARKERS.iter().any(|m| has(m));
        let class = if BOT_MARKERS.iter().chain(PREVIEW_MARKERS.iter()).any(|m| has(m)) {
            UaClass::Bot
        } else if has("ipad") || has("tablet") || has("kindle") || has("silk/") || (has("android") && !has("mobile")) {
            UaClass::Tablet
        } else if has("mobi") || has("iphone") || has("ipod") || has("android") || has("windows phone") {
            UaClass::Mobile
        } else {
            UaClass::Desktop
        };
        let os = if class == UaClass::Bot {
            Os::Other
        } else if has("iphone") || has("ipad") || has("ipod") {
            Os::Ios
        } else if has("android") {
            Os::Android
        } else {
            Os::Other
        };
        (class, os, preview)
    }

    proptest::proptest! {
        #[test]
        fn one_pass_search_agrees_with_contains(
            parts in proptest::collection::vec(proptest::sample::select(MARKERS.to_vec()), 0..4),
            noise in proptest::collection::vec("[a-z /;()._-]{0,12}", 0..5),
        ) {
            let mut ua = String::new();
            for (i, n) in noise.iter().enumerate() {
                ua.push_str(n);
                if let Some(p) = parts.get(i) { ua.push_str(p); }
            }
            let found = Found::in_ua(&ua);
            let (class, os, preview) = by_contains(&ua);
            proptest::prop_assert_eq!((found.class(), found.os(found.class()), found.any(PREVIEW)), (class, os, preview), "{}", ua);
        }
    }

    #[test]
    fn markers_table_is_complete() {
        assert_eq!(&MARKERS[..BOT_MARKERS.len()], &BOT_MARKERS[..]);
        assert_eq!(&MARKERS[BOT_MARKERS.len()..W], &PREVIEW_MARKERS[..]);
        assert!(MARKERS.iter().all(|m| !m.is_empty() && m.bytes().all(|b| !b.is_ascii_uppercase())));
    }
}
