//! Fuzz targets' bodies (feature `fuzzing`): each takes arbitrary bytes and asserts
//! the invariants of one part of the core, so libFuzzer (`fuzz/`, `scripts/fuzz`)
//! and the corpus replay in `scripts/test` (`core/tests/fuzz_corpus.rs`) run the same
//! checks. An assertion failing is a bug found; a panic anywhere is one too.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use url::Url;

use crate::admin::{parse_request, validate_value, AdminOp};
use crate::cache::IsolateCache;
use crate::canon::{canonical_host, canonical_path};
use crate::key::parse_key;
use crate::pattern::substitute;
use crate::query::merge_query;
use crate::record::{parse_link_record, LinkRecord, MAX_TARGET_BYTES};
use crate::request::{Body, RequestFacts, RequestUrl};
use crate::rules::{parse_rules, RuleMatch};
use crate::ryw::PinCheck;
use crate::store::{RouteReads, StoreError, StrongLinks, StrongMode, WriteView};
use crate::strong::link::LinkState;
use crate::strong::msg::{LinkRequest, ShardRequest, StrongAnswer};
use crate::variant::{client_cookie, client_id, languages, CLIENT_COOKIE};
use crate::{handle, Deployment, ExplainAccess};

/// One fuzz target: its name (`scripts/fuzz NAME`, `fuzz/corpus/NAME/`) and body.
pub type Target = (&'static str, fn(&[u8]));

/// The fuzz targets.
pub const TARGETS: [Target; 8] = [
    ("canon", canon),
    ("record", record),
    ("rules", rules),
    ("query", query),
    ("accept_language", accept_language),
    ("cookie", cookie),
    ("admin", admin),
    ("strong", strong),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Two parts of the input, split at the first newline.
fn halves(data: &[u8]) -> (String, String) {
    let s = text(data);
    match s.split_once('\n') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (s, String::new()),
    }
}

fn safe_target(u: &Url) {
    assert!(matches!(u.scheme(), "http" | "https"), "scheme {u}");
    assert!(u.username().is_empty() && u.password().is_none(), "user-info in {u}");
    assert!(u.host_str().is_some_and(|h| !h.is_empty()), "no host in {u}");
    assert!(!u.as_str().chars().any(char::is_control), "control character in {u}");
}

fn safe_record(r: &LinkRecord) {
    safe_target(&r.to);
    assert!(r.to.as_str().len() <= MAX_TARGET_BYTES);
    r.when.iter().for_each(|c| safe_target(&c.to));
    r.canary.iter().for_each(|c| safe_target(&c.to));
    r.fallback.iter().for_each(safe_target);
    assert!(r.max_clicks.is_none() || r.strong, "max_clicks without strong validated");
}

/// Canonical host and path are idempotent; a canonical key parses to itself.
pub fn canon(data: &[u8]) {
    let (host, path) = halves(data);
    if let Ok(h) = canonical_host(&host) {
        assert_eq!(canonical_host(&h).as_ref(), Ok(&h), "host not idempotent: {host:?} -> {h:?}");
        // No port: a colon only inside an IPv6 literal's brackets.
        let ipv6 = h.starts_with('[') && h.ends_with(']');
        assert!((ipv6 || !h.contains(':')) && !h.ends_with('.') && h == h.to_lowercase(), "{h:?}");
    }
    if let Ok(p) = canonical_path(&path) {
        assert_eq!(canonical_path(&p).as_ref(), Ok(&p), "path not idempotent: {path:?} -> {p:?}");
        assert!(p.starts_with('/'), "{p:?}");
        if let Ok(h) = canonical_host(&host) {
            if let Ok(k) = parse_key(&format!("{h}{p}")) {
                assert_eq!(parse_key(&k.key).map(|k2| k2.key), Ok(k.key.clone()), "key not idempotent");
            }
        }
    }
    // The request URL read in place agrees with url::Url (or both refuse it).
    let text = format!("https://{host}{path}");
    match (RequestUrl::parse(&text), Url::parse(&text)) {
        (Ok(ours), Ok(url)) => {
            assert_eq!((ours.host(), ours.path(), ours.query()), (url.host_str().unwrap_or(""), url.path(), url.query()), "{text:?}");
            if matches!(ours, RequestUrl::Plain { .. }) {
                assert_eq!(url.as_str(), text, "read in place, but url::Url writes it otherwise");
            }
        }
        (Err(_), Err(_)) => {}
        (ours, theirs) => panic!("{text:?}: RequestUrl {:?}, url::Url {:?}", ours.map(|u| u.path().to_string()), theirs.map(|u| u.path().to_string())),
    }
}

/// In-memory KV for driving the whole request flow.
struct OneKey(String, String);

impl RouteReads for OneKey {
    async fn get(&self, key: &str, _: PinCheck) -> Result<Option<String>, StoreError> {
        Ok((key == self.0).then(|| self.1.clone()))
    }
}
impl WriteView for OneKey {}
impl StrongLinks for OneKey {
    async fn strong(&self, _: &str, kv_value: &str, _: StrongMode) -> Result<StrongAnswer, StoreError> {
        Ok(StrongAnswer::Serve(kv_value.to_string()))
    }
}
impl crate::store::Admin for OneKey {}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

/// A record that validates is safe to redirect to; one that does not is never
/// redirected to (the whole request flow, with the record at the requested key).
pub fn record(data: &[u8]) {
    let raw = text(data);
    let parsed = parse_link_record(&raw);
    if let Ok(r) = &parsed {
        safe_record(r);
    }
    let store = OneKey("go.example.com/x".into(), raw);
    let url = RequestUrl::parse("https://go.example.com/x?q=1").expect("constant URL");
    let req = RequestFacts { method: "GET", now_ms: 1_780_000_000_000, random: 7, ..RequestFacts::default() };
    let dep = Deployment { env: "fuzz", release: "fuzz", bindings: &[], explain: ExplainAccess::Off, admin_token: None, memory_bytes: 0 };
    let handled = block_on(handle(&url, &req, Some(&store), &RefCell::new(IsolateCache::default()), &dep));
    match (handled.reply.get("location"), &parsed) {
        (Some(location), Ok(_)) => safe_target(&Url::parse(location).expect("Location is a URL")),
        (Some(location), Err(e)) => panic!("redirected to {location} from an invalid record ({e})"),
        (None, _) => {}
    }
}

/// A matched rule's substituted target keeps the template's scheme, host and port.
pub fn rules(data: &[u8]) {
    let (path, raw) = halves(data);
    let Ok(set) = parse_rules(&raw) else { return };
    let Ok(path) = canonical_path(&format!("/{path}")) else { return };
    if let RuleMatch::Hit { record, captures, .. } = set.first_match(&path, 0) {
        safe_record(record);
        for to in std::iter::once(&record.to).chain(record.when.iter().map(|c| &c.to)).chain(record.canary.iter().map(|c| &c.to)) {
            if let Ok(u) = substitute(to, &captures) {
                assert_eq!((u.scheme(), u.host_str(), u.port()), (to.scheme(), to.host_str(), to.port()), "{to} -> {u}");
                safe_target(&u);
            }
        }
    }
}

/// Merging a request's query never changes the target's scheme, host, port or path.
pub fn query(data: &[u8]) {
    let (target, q) = halves(data);
    let Ok(r) = parse_link_record(&serde_json::Value::String(target).to_string()) else { return };
    let mut u = r.to.clone();
    merge_query(&mut u, Some(&q));
    assert_eq!((u.scheme(), u.host_str(), u.port(), u.path()), (r.to.scheme(), r.to.host_str(), r.to.port(), r.to.path()));
    safe_target(&u);
}

/// Language tags come out lower-case, alphabetic, at most 8 letters, without repeats.
pub fn accept_language(data: &[u8]) {
    let tags = languages(Some(&text(data)));
    for (i, t) in tags.iter().enumerate() {
        assert!((1..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase()), "{t:?}");
        assert!(!tags[..i].contains(t), "repeated {t:?}");
    }
}

/// A client id from a cookie is 1-64 of [A-Za-z0-9_-], so the Set-Cookie built from
/// it can carry nothing else.
pub fn cookie(data: &[u8]) {
    let header = text(data);
    let (id, from_cookie) = client_id(Some(&header), 0x1234);
    assert!((1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{id:?}");
    if !from_cookie {
        assert_eq!(id, "0000000000001234");
    }
    let set = client_cookie(&id);
    assert!(set.starts_with(&format!("{CLIENT_COOKIE}={id}; ")) && !set.contains('\n') && set.matches(';').count() == 5, "{set}");
}

/// Admin requests: whatever parses is valid again and canonical (idempotent).
pub fn admin(data: &[u8]) {
    let s = text(data);
    let mut parts = s.splitn(3, '\n');
    let method = ["GET", "PUT", "POST", "DELETE", "PATCH"][parts.next().map_or(0, str::len) % 5];
    let target = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    let Ok(url) = Url::parse(&format!("https://go.example.com/__redirector/admin/{target}")) else { return };
    match parse_request(method, &url, Body::Text(body)) {
        Ok(AdminOp::Write(writes)) => {
            for w in writes {
                assert_eq!(parse_key(&w.key.key).map(|k| k.key), Ok(w.key.key.clone()), "key not canonical");
                if let Some(v) = w.value {
                    let value: serde_json::Value = serde_json::from_str(&v).expect("stored values are JSON");
                    assert_eq!(validate_value(&w.key, &value, "").as_deref(), Ok(v.as_str()), "value not stable");
                    if !w.key.is_rules {
                        safe_record(&parse_link_record(&v).expect("a written link is a valid record"));
                    }
                }
            }
        }
        Ok(AdminOp::List { limit, .. }) => assert!((1..=crate::admin::MAX_LIST).contains(&limit)),
        Ok(_) | Err(_) => {}
    }
}

/// Strong messages never panic to parse; a link's counter never serves past its
/// `max_clicks`, whatever the order of clicks, peeks and updates, and a peek changes
/// nothing.
pub fn strong(data: &[u8]) {
    let s = text(data);
    let _ = serde_json::from_str::<ShardRequest>(&s);
    let _ = serde_json::from_str::<LinkRequest>(&s);
    let Some((&cap, ops)) = data.split_first() else { return };
    let cap = u64::from(cap % 8);
    let record = |max: u64| format!(r#"{{"to":"https://e.example/","strong":true,"max_clicks":{max}}}"#);
    let mut link = LinkState::adopted(Some(record(cap)), 1);
    let (mut served, mut limit, mut version) = (0u64, cap, 1u64);
    for &op in ops.iter().take(256) {
        match op % 4 {
            0 | 1 => {
                if let (StrongAnswer::Serve(_), _) = link.click(0) {
                    served += 1;
                    assert!(link.clicks <= limit, "served click {} past max_clicks {limit}", link.clicks);
                }
            }
            2 => {
                let before = link.clone();
                let _ = link.peek(0);
                assert_eq!(link, before, "peek changed the state");
            }
            _ => {
                version += 1;
                limit = u64::from(op / 4 % 8);
                link.update(Some(record(limit)), version);
            }
        }
        assert!(served <= link.clicks, "served {served} but counted {}", link.clicks);
    }
}
