//! Choosing the target within a record: `when` conditions, then the `canary` split.
//!
//! * **Conditions** are tried in array order; the first whose every present list
//!   matches wins (its `to`, and its `status` if given). `country` compares
//!   `cf.country` case-insensitively. `device` uses [`crate::ua::device_tags`].
//!   `language` uses the primary tags of `Accept-Language` in the header's q-order
//!   (ties keep header order; `q=0` and `*` are ignored): the client's first language
//!   is tried against every condition, then its second, and so on, so a client's
//!   preference decides between language conditions, and array order decides
//!   everything else.
//! * **Canary** applies when no condition matched: a client is in the canary when
//!   `bucket(route id, client id) < percent * 100`, with buckets 0..10000 from a
//!   64-bit FNV-1a hash (mixed by the SplitMix64 finaliser). The client id is the
//!   `rdr_cid` cookie the worker sets on the first answer; without it, a new random
//!   id (so clients behind one address, with one browser, are split fairly, and the
//!   cookie carries nothing about the client). A client that refuses cookies gets a
//!   new random assignment on every request: it may see either variant, and across
//!   such clients the split still converges to `percent`.

use crate::record::{Canary, Condition, LinkRecord};
use crate::ua::DeviceTags;

/// The cookie that keeps a client in its canary bucket.
pub const CLIENT_COOKIE: &str = "rdr_cid";

/// What the client presented that conditions and canaries look at.
#[derive(Debug, Clone, Copy)]
pub struct ClientFacts<'a> {
    pub country: Option<&'a str>,
    pub accept_language: Option<&'a str>,
    pub device: DeviceTags,
    /// Stable client id (cookie, or derived; see [`client_id`]).
    pub client_id: &'a str,
}

/// Which target of a record was chosen; reported in click events (blob13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The record has neither conditions nor a canary.
    Plain,
    /// A record with a canary (or conditions) served its default `to`.
    Control,
    /// Served `canary.to`.
    Canary,
    /// Served `when[i].to`.
    When(usize),
}

impl Variant {
    pub fn label(self) -> String {
        match self {
            Variant::Plain => String::new(),
            Variant::Control => "control".into(),
            Variant::Canary => "canary".into(),
            Variant::When(i) => format!("when:{i}"),
        }
    }
}

/// The chosen target template and status.
pub struct Choice<'r> {
    pub to: &'r url::Url,
    pub status: u16,
    pub variant: Variant,
}

/// Choose the record's target for this client.
pub fn choose<'r>(record: &'r LinkRecord, route_id: &str, client: &ClientFacts<'_>) -> Choice<'r> {
    if let Some(i) = matching_condition(&record.when, client) {
        let c = &record.when[i];
        return Choice { to: &c.to, status: c.status.unwrap_or(record.status), variant: Variant::When(i) };
    }
    if let Some(Canary { to, percent }) = &record.canary {
        let variant = if in_canary(route_id, client.client_id, *percent) { Variant::Canary } else { Variant::Control };
        let to = if variant == Variant::Canary { to } else { &record.to };
        return Choice { to, status: record.status, variant };
    }
    let variant = if record.when.is_empty() { Variant::Plain } else { Variant::Control };
    Choice { to: &record.to, status: record.status, variant }
}

/// Index of the condition that applies, if any (see the module docs for the order).
pub fn matching_condition(conditions: &[Condition], client: &ClientFacts<'_>) -> Option<usize> {
    if conditions.is_empty() {
        return None;
    }
    let languages = languages(client.accept_language);
    let passes = languages.iter().map(|l| Some(l.as_str())).chain(std::iter::once(None));
    for language in passes {
        for (i, c) in conditions.iter().enumerate() {
            let language_ok = match (&c.language, language) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(list), Some(l)) => list.iter().any(|x| x.eq_ignore_ascii_case(l)),
            };
            let country_ok = c.country.as_ref().is_none_or(|list| {
                client.country.is_some_and(|cc| list.iter().any(|x| x.eq_ignore_ascii_case(cc)))
            });
            let device_ok = c.device.as_ref().is_none_or(|list| client.device.matches_any(list));
            if language_ok && country_ok && device_ok {
                return Some(i);
            }
        }
    }
    None
}

/// Primary language tags of an `Accept-Language` header, lower case, in q-order.
pub fn languages(header: Option<&str>) -> Vec<String> {
    let Some(header) = header else { return Vec::new() };
    let mut tags: Vec<(u16, usize, String)> = Vec::new();
    for (pos, item) in header.split(',').take(32).enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        if primary.is_empty() || primary == "*" || primary.len() > 8 || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            continue;
        }
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").map(parse_q))
            .unwrap_or(1000);
        if q == 0 || tags.iter().any(|(_, _, t)| *t == primary) {
            continue;
        }
        tags.push((q, pos, primary));
    }
    tags.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    tags.into_iter().map(|(_, _, t)| t).collect()
}

/// q-value in thousandths; malformed values count as 0 (not acceptable).
fn parse_q(q: &str) -> u16 {
    q.trim().parse::<f32>().ok().filter(|v| (0.0..=1.0).contains(v)).map_or(0, |v| (v * 1000.0).round() as u16)
}

/// Whether this client falls in the canary share of this route.
pub fn in_canary(route_id: &str, client_id: &str, percent: u8) -> bool {
    bucket(route_id, client_id) < u32::from(percent.min(100)) * 100
}

/// The client's bucket for this route, 0..10000.
pub fn bucket(route_id: &str, client_id: &str) -> u32 {
    let mut h = Fnv::new();
    h.write(route_id.as_bytes());
    h.write(&[0]);
    h.write(client_id.as_bytes());
    (mix(h.0) % 10_000) as u32
}

/// Client id: a well-formed `rdr_cid` cookie if present (and `true`), else a new id
/// from `random` (64 random bits the worker drew for this request) and `false`: the
/// worker should set it.
pub fn client_id(cookie_header: Option<&str>, random: u64) -> (String, bool) {
    match cookie_header.and_then(cookie_value) {
        Some(id) => (id.to_string(), true),
        None => (format!("{random:016x}"), false),
    }
}

/// The `rdr_cid` value from a `Cookie` header, if well-formed (1-64 of `[A-Za-z0-9_-]`).
fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == CLIENT_COOKIE
            && (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then_some(value)
    })
}

/// `Set-Cookie` value that keeps a client's id for a year.
pub fn client_cookie(id: &str) -> String {
    format!("{CLIENT_COOKIE}={id}; Max-Age=31536000; Path=/; Secure; HttpOnly; SameSite=Lax")
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// SplitMix64 finaliser: spreads FNV's low-entropy high bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::parse_link_record;
    use crate::ua::device_tags;

    #[test]
    fn accept_language_in_q_order() {
        assert_eq!(languages(Some("de-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5")), ["de", "fr", "en"]);
        assert_eq!(languages(Some("en;q=0.5, fr")), ["fr", "en"]);
        assert_eq!(languages(Some("en;q=0, fr;q=0.1")), ["fr"]);
        assert_eq!(languages(Some("en;q=abc, fr")), ["fr"]);
        assert_eq!(languages(Some("pt-BR;q=0.8, es;q=0.8")), ["pt", "es"]);
        assert!(languages(Some(",,;;=")).is_empty());
        assert!(languages(None).is_empty());
    }

    fn client<'a>(country: Option<&'a str>, lang: Option<&'a str>, ua: Option<&'a str>) -> ClientFacts<'a> {
        ClientFacts { country, accept_language: lang, device: device_tags(ua), client_id: "c1" }
    }

    #[test]
    fn conditions_first_match_and_language_preference() {
        let r = parse_link_record(
            r#"{"to":"https://d.example.com","when":[
                {"country":["DE","AT"],"device":["ios"],"to":"https://de-ios.example.com","status":307},
                {"language":["en"],"to":"https://en.example.com"},
                {"language":["fr"],"to":"https://fr.example.com"},
                {"country":["us"],"to":"https://us.example.com"}]}"#,
        )
        .unwrap();
        let iphone = Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile");
        let pick = |c: ClientFacts| matching_condition(&r.when, &c);
        assert_eq!(pick(client(Some("DE"), None, iphone)), Some(0));
        assert_eq!(pick(client(Some("de"), None, iphone)), Some(0));
        assert_eq!(pick(client(Some("DE"), None, Some("Mozilla/5.0 (Windows NT 10.0)"))), None);
        assert_eq!(pick(client(None, Some("fr, en;q=0.5"), None)), Some(2), "client prefers fr");
        assert_eq!(pick(client(None, Some("en, fr;q=0.5"), None)), Some(1));
        assert_eq!(pick(client(None, Some("es, fr;q=0.5"), None)), Some(2), "second language");
        assert_eq!(pick(client(Some("US"), Some("fr"), None)), Some(2), "fr pass: conditions in array order");
        assert_eq!(pick(client(Some("US"), Some("es"), None)), Some(3));
        assert_eq!(pick(client(None, None, None)), None);
        let choice = choose(&r, "id", &client(Some("AT"), None, iphone));
        assert_eq!((choice.to.as_str(), choice.status, choice.variant), ("https://de-ios.example.com/", 307, Variant::When(0)));
        let choice = choose(&r, "id", &client(Some("JP"), None, None));
        assert_eq!((choice.to.as_str(), choice.status, choice.variant), ("https://d.example.com/", 302, Variant::Control));
    }

    #[test]
    fn canary_share_converges_and_is_sticky() {
        for percent in [0u8, 1, 10, 33, 50, 90, 100] {
            let n = 20_000;
            let hits = (0..n).filter(|i| in_canary("route", &format!("client-{i}"), percent)).count();
            let share = hits as f64 * 100.0 / n as f64;
            assert!((share - f64::from(percent)).abs() <= 1.0, "{percent}% -> {share}");
        }
        assert_eq!(bucket("r", "c"), bucket("r", "c"));
        assert_ne!(bucket("r1", "same-client"), bucket("r2", "same-client"), "routes are independent");
    }

    #[test]
    fn client_ids() {
        assert_eq!(client_id(Some("a=1; rdr_cid=abc-123; b=2"), 7), ("abc-123".to_string(), true));
        let (fresh, from_cookie) = client_id(Some("rdr_cid=bad value!"), 0xdead_beef);
        assert!(!from_cookie);
        assert_eq!(fresh, "00000000deadbeef");
        assert!(client_cookie(&fresh).starts_with(&format!("rdr_cid={fresh};")));
    }

    /// Bug: a client without the cookie was bucketed by a hash of its IP and user
    /// agent, so 30 fresh browser profiles behind one address all landed in the same
    /// variant of a 50 % canary, and the cookie leaked a hash of the address.
    #[test]
    fn regression_fresh_clients_behind_one_address_are_split_fairly() {
        let r = parse_link_record(r#"{"to":"https://a.example.com","canary":{"to":"https://b.example.com","percent":50}}"#).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut canary = 0;
        for _ in 0..200 {
            seed = mix(seed.wrapping_add(1));
            let (id, _) = client_id(None, seed);
            let facts = ClientFacts { country: None, accept_language: None, device: device_tags(Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/131")), client_id: &id };
            canary += usize::from(choose(&r, "r", &facts).variant == Variant::Canary);
        }
        assert!((70..=130).contains(&canary), "{canary} of 200 in the canary");
    }
}
