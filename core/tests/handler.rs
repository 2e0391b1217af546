//! The whole request flow against an in-memory store that can fail on demand.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use redirector_core::cache::IsolateCache;
use redirector_core::click::Outcome;
use redirector_core::key::shard_of;
use redirector_core::ryw::PinCheck;
use redirector_core::store::{Admin, AdminRead, RouteReads, StoreError, StrongLinks, StrongMode, Write, WriteReport, WriteView};
use redirector_core::strong::link::LinkState;
use redirector_core::strong::msg::{KeyWrite, StatusAnswer, StrongAnswer};
use redirector_core::strong::shard::{drain, MemoryShardStore, Outbound, Shard, INLINE_DRAIN};
use redirector_core::handler::refuse;
use redirector_core::{handle, handle_admin, AdminHandled, Body, Deferred, Deployment, ExplainAccess, Handled, RequestFacts, RequestUrl};
use url::Url;

/// The fake store is always ready, so one poll finishes the flow.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("fake store never pends"),
    }
}

/// KV in memory, failing on demand, with the core's own shards and link counters
/// behind the strong links and the admin API (the worker's Durable Objects run the
/// same code, `src/route_do.rs`).
#[derive(Default)]
struct FakeStore {
    data: RefCell<HashMap<String, String>>,
    fail: bool,
    reads: RefCell<Vec<String>>,
    shards: RefCell<HashMap<String, RefCell<Shard<MemoryShardStore>>>>,
    links: RefCell<HashMap<String, LinkState>>,
}

impl FakeStore {
    fn with(pairs: &[(&str, &str)]) -> Self {
        let data = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self { data: RefCell::new(data), ..Self::default() }
    }

    fn with_shard<T>(&self, shard: &str, f: impl FnOnce(&RefCell<Shard<MemoryShardStore>>) -> T) -> T {
        let mut shards = self.shards.borrow_mut();
        let cell = shards.entry(shard.to_string()).or_insert_with(|| RefCell::new(Shard::new(MemoryShardStore::default())));
        f(cell)
    }

    fn clicks(&self, key: &str) -> u64 {
        self.links.borrow().get(key).map_or(0, |l| l.clicks)
    }
}

impl RouteReads for FakeStore {
    async fn get(&self, key: &str, _pins: PinCheck) -> Result<Option<String>, StoreError> {
        self.reads.borrow_mut().push(key.to_string());
        if self.fail {
            return Err(StoreError("injected".into()));
        }
        Ok(self.data.borrow().get(key).cloned())
    }
}

impl WriteView for FakeStore {}

impl StrongLinks for FakeStore {
    async fn strong(&self, key: &str, kv_value: &str, mode: StrongMode) -> Result<StrongAnswer, StoreError> {
        let shard = shard_of(key);
        let known = self.links.borrow().get(key).cloned();
        let mut link = match (known, mode) {
            (Some(link), _) => link,
            (None, StrongMode::Click) => {
                let adopted = self.with_shard(shard, |s| s.borrow_mut().adopt(key, kv_value)).map_err(|e| StoreError(e.to_string()))?;
                LinkState::adopted(adopted.value, adopted.version)
            }
            (None, StrongMode::Peek) => {
                let read = self.with_shard(shard, |s| s.borrow().read(key)).map_err(|e| StoreError(e.to_string()))?;
                if read.known { LinkState::adopted(read.value, read.version) } else { LinkState::adopted(Some(kv_value.into()), 0) }
            }
        };
        Ok(match mode {
            StrongMode::Peek => link.peek(NOW),
            StrongMode::Click => {
                let (answer, _) = link.click(NOW);
                self.links.borrow_mut().insert(key.to_string(), link);
                answer
            }
        })
    }
}

impl Outbound for FakeStore {
    fn now_ms(&self) -> i64 {
        NOW
    }
    async fn kv_write(&self, key: &str, value: Option<&str>) -> Result<(), String> {
        match value {
            Some(v) => self.data.borrow_mut().insert(key.into(), v.into()),
            None => self.data.borrow_mut().remove(key),
        };
        Ok(())
    }
    async fn link_update(&self, key: &str, value: Option<&str>, version: u64) -> Result<(), String> {
        if let Some(link) = self.links.borrow_mut().get_mut(key) {
            link.update(value.map(str::to_string), version);
        }
        Ok(())
    }
}

impl Admin for FakeStore {
    async fn admin_read(&self, key: &redirector_core::key::RouteKey) -> Result<Option<AdminRead>, StoreError> {
        let read = self.with_shard(&key.shard, |s| s.borrow().read(&key.key)).map_err(|e| StoreError(e.to_string()))?;
        Ok(read.value.map(|value| AdminRead { value, source: "durable_object", clicks: Some(self.clicks(&key.key)) }))
    }

    async fn admin_write(&self, writes: &[Write]) -> Result<WriteReport, StoreError> {
        if self.fail {
            return Err(StoreError("injected".into()));
        }
        let mut by_shard: std::collections::BTreeMap<&str, Vec<KeyWrite>> = Default::default();
        for w in writes {
            by_shard.entry(&w.key.shard).or_default().push(KeyWrite { key: w.key.key.clone(), value: w.value.clone() });
        }
        let mut kv_pending = 0;
        for (shard, writes) in by_shard {
            kv_pending += self.with_shard(shard, |cell| -> Result<u64, StoreError> {
                cell.borrow_mut().write(&writes, NOW).map_err(|e| StoreError(e.to_string()))?;
                block_on(drain(cell, self, INLINE_DRAIN))?;
                Ok(cell.borrow().status()?.kv_pending)
            })?;
        }
        Ok(WriteReport { kv_pending, links_pending: 0, shards_pending: vec![] })
    }

    async fn admin_status(&self, shard: &str) -> Result<StatusAnswer, StoreError> {
        self.with_shard(shard, |s| s.borrow().status())
    }
}

const NOW: i64 = 1_780_000_000_000; // 2026-05-28

fn run(store: Option<&FakeStore>, method: &str, url: &str) -> Handled {
    let req = RequestFacts {
        method,
        country: Some("DE"),
        colo: Some("FRA"),
        referer: Some("https://news.example.org/x"),
        user_agent: Some(BROWSER),
        now_ms: NOW,
        ..RequestFacts::default()
    };
    run_with(store, &req, url, &RefCell::new(IsolateCache::default()))
}

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131 Safari/537.36";

fn deployment(bindings: &[(String, bool)]) -> Deployment<'_> {
    Deployment { env: "test", release: "abc123", bindings, explain: ExplainAccess::On, admin_token: Some("admin-secret"), memory_bytes: 0 }
}

fn run_with(store: Option<&FakeStore>, req: &RequestFacts<'_>, url: &str, rules: &RefCell<IsolateCache>) -> Handled {
    let url = RequestUrl::parse(url).unwrap();
    let bindings = vec![("ROUTES_KV_TEST".to_string(), store.is_some())];
    block_on(handle(&url, req, store, rules, &deployment(&bindings)))
}

fn get(store: &FakeStore, url: &str) -> Handled {
    run(Some(store), "GET", url)
}

fn routes() -> FakeStore {
    FakeStore::with(&[
        ("go.example.com/summer", r#"{"to":"https://shop.example.com/sale?src=go","id":"summer"}"#),
        ("go.example.com/bare", r#""https://example.com/bare""#),
        ("go.example.com/perm", r#"{"to":"https://example.com/p","status":301}"#),
        ("go.example.com/noq", r#"{"to":"https://example.com/n","forward_query":false}"#),
        ("go.example.com/off", r#"{"to":"https://example.com/off","enabled":false}"#),
        ("*/off", r#"{"to":"https://example.com/any-off"}"#),
        ("go.example.com/later", r#"{"to":"https://example.com/later","starts":"2030-01-01T00:00:00Z"}"#),
        ("go.example.com/gone", r#"{"to":"https://example.com/gone","expires":"2020-01-01T00:00:00Z"}"#),
        ("*/help", r#"{"to":"https://help.example.com/","status":307}"#),
        ("go.example.com/evil", r#""javascript:alert(1)""#),
        ("*/evil", r#""https://fallback.example.com""#),
        ("go.example.com/caf%C3%A9", r#""https://example.com/cafe""#),
        ("go.example.com/strong", r#"{"to":"https://example.com/s","strong":true,"max_clicks":5}"#),
    ])
}

#[test]
fn exact_links_follow_the_contract() {
    let store = routes();
    // (url, status, location)
    let cases: &[(&str, u16, Option<&str>)] = &[
        ("https://go.example.com/summer", 302, Some("https://shop.example.com/sale?src=go")),
        ("https://GO.example.com./summer/?src=x&a=1", 302, Some("https://shop.example.com/sale?src=go&a=1")),
        ("https://go.example.com:8443//summer", 302, Some("https://shop.example.com/sale?src=go")),
        ("https://go.example.com/Summer", 404, None),
        ("https://go.example.com/bare", 302, Some("https://example.com/bare")),
        ("https://go.example.com/perm", 301, Some("https://example.com/p")),
        ("https://go.example.com/noq?a=1", 302, Some("https://example.com/n")),
        ("https://go.example.com/off", 302, Some("https://example.com/any-off")),
        ("https://go.example.com/later", 404, None),
        ("https://go.example.com/gone", 404, None),
        ("https://other.example.net/help", 307, Some("https://help.example.com/")),
        ("https://go.example.com/evil", 500, None),
        ("https://go.example.com/cafe%CC%81", 302, Some("https://example.com/cafe")),
        ("https://go.example.com/caf%c3%a9", 302, Some("https://example.com/cafe")),
        ("https://go.example.com/nothing", 404, None),
    ];
    for (url, status, location) in cases {
        let h = get(&store, url);
        assert_eq!(h.reply.status, *status, "{url}");
        assert_eq!(h.reply.get("location"), *location, "{url}");
        assert_eq!(h.click.status, *status, "{url}");
    }
}

#[test]
fn cache_control_by_status() {
    let store = routes();
    assert_eq!(get(&store, "https://go.example.com/perm").reply.get("cache-control"), Some("public, max-age=3600"));
    assert_eq!(get(&store, "https://go.example.com/summer").reply.get("cache-control"), Some("private, no-store"));
    assert_eq!(get(&store, "https://x.example.com/help").reply.get("cache-control"), Some("private, no-store"));
    assert_eq!(get(&store, "https://go.example.com/none").reply.get("cache-control"), Some("no-store"));
    assert_eq!(get(&store, "https://go.example.com/evil").reply.get("cache-control"), Some("no-store"));
}

#[test]
fn methods() {
    let store = routes();
    let head = run(Some(&store), "HEAD", "https://go.example.com/summer");
    assert_eq!((head.reply.status, head.reply.body.as_str()), (302, ""));
    assert_eq!(head.reply.get("location"), Some("https://shop.example.com/sale?src=go"));
    let miss = run(Some(&store), "HEAD", "https://go.example.com/none");
    assert_eq!((miss.reply.status, miss.reply.body.as_str()), (404, ""));

    let options = run(Some(&store), "OPTIONS", "https://go.example.com/summer");
    assert_eq!(options.reply.status, 204);
    assert_eq!(options.reply.get("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(options.click.outcome, Outcome::Options);

    for m in ["POST", "PUT", "DELETE", "PATCH", "get", "TRACE"] {
        let fresh = routes();
        let h = run(Some(&fresh), m, "https://go.example.com/summer");
        assert_eq!(h.reply.status, 405, "{m}");
        assert_eq!(h.reply.get("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(h.reply.get("location"), None);
        assert!(fresh.reads.borrow().is_empty(), "{m} must not read KV");
    }
}

#[test]
fn store_failure_is_503_never_404() {
    let failing = FakeStore { fail: true, ..routes() };
    let h = get(&failing, "https://go.example.com/summer");
    assert_eq!(h.reply.status, 503);
    assert_eq!(h.reply.get("retry-after"), Some("5"));
    assert_eq!(h.reply.get("cache-control"), Some("no-store"));
    assert_eq!(h.click.outcome, Outcome::StoreError);
    assert!(h.fault.is_some());

    let missing = run(None, "GET", "https://go.example.com/summer");
    assert_eq!(missing.reply.status, 503);
}

#[test]
fn invalid_record_is_a_fault_without_location() {
    let store = routes();
    let h = get(&store, "https://go.example.com/evil");
    assert_eq!(h.reply.status, 500);
    assert_eq!(h.reply.get("location"), None);
    assert_eq!(h.click.outcome, Outcome::InvalidRecord);
    assert_eq!(h.click.route_id, "go.example.com/evil");
    let fault = h.fault.expect("reported");
    assert!(fault.to_string().contains("scheme"), "{fault}");
    // The invalid record stops the lookup: the valid `*/evil` is not used.
    assert_eq!(*store.reads.borrow(), vec!["go.example.com/evil".to_string()]);
}

#[test]
fn lookup_reads_in_order_and_stops_at_first_hit() {
    let store = routes();
    get(&store, "https://go.example.com/summer");
    assert_eq!(*store.reads.borrow(), vec!["go.example.com/summer"]);
    store.reads.borrow_mut().clear();
    get(&store, "https://go.example.com/help");
    assert_eq!(*store.reads.borrow(), vec!["go.example.com/help", "*/help"]);
    store.reads.borrow_mut().clear();
    get(&store, "https://go.example.com/none");
    assert_eq!(
        *store.reads.borrow(),
        vec!["go.example.com/none", "*/none", "rules:go.example.com", "rules:*", "fallback:go.example.com"]
    );
}

fn rule_routes() -> FakeStore {
    FakeStore::with(&[
        ("old.example.com/blog/pinned", r#""https://new.example.com/pinned""#),
        ("rules:old.example.com", r#"[
            {"from":"/blog/:year/:slug","to":"https://new.example.com/posts/:year/:slug","status":301},
            {"from":"/docs/*","to":"https://docs.example.com/:splat"},
            {"from":"/shop/:item","to":"https://shop.example.com/item?id=:item","when":[{"country":["DE"],"to":"https://shop.example.de/artikel/:item"}]},
            {"from":"/bad/:x","to":"javascript:alert(1)"}
        ]"#),
        ("rules:*", r#"[{"from":"/blog/*","to":"https://any.example.com/:splat"}, {"from":"/go/:id","to":"https://any.example.com/go/:id"}]"#),
        ("rules:broken.example.com", "{not json"),
    ])
}

#[test]
fn rules_follow_the_lookup_order() {
    let store = rule_routes();
    let cases: &[(&str, u16, Option<&str>)] = &[
        ("https://old.example.com/blog/pinned", 302, Some("https://new.example.com/pinned")),
        ("https://old.example.com/blog/2024/hello?x=1", 301, Some("https://new.example.com/posts/2024/hello?x=1")),
        ("https://old.example.com/blog/2024", 302, Some("https://any.example.com/2024")),
        ("https://old.example.com/docs", 302, Some("https://docs.example.com/")),
        ("https://old.example.com/docs/a/b%2Fc", 302, Some("https://docs.example.com/a/b%2Fc")),
        ("https://old.example.com/shop/42", 302, Some("https://shop.example.de/artikel/42")),
        ("https://other.example.com/go/x", 302, Some("https://any.example.com/go/x")),
        ("https://old.example.com/bad/1", 500, None),
        ("https://broken.example.com/go/x", 500, None),
        ("https://other.example.com/nothing", 404, None),
    ];
    for (url, status, location) in cases {
        let h = get(&store, url);
        assert_eq!((h.reply.status, h.reply.get("location")), (*status, *location), "{url}");
    }
    let h = get(&store, "https://old.example.com/blog/2024/hello");
    assert_eq!(h.click.route_id, "rules:old.example.com[0]");
    let h = get(&store, "https://old.example.com/shop/42");
    assert_eq!(h.click.variant, "when:0");
    assert_eq!(h.reply.get("cache-control"), Some("private, no-store"));
}

#[test]
fn rule_arrays_are_read_once_per_cache_lifetime() {
    let store = rule_routes();
    let rules = RefCell::new(IsolateCache::new(1000, 1000));
    let at = |now_ms| RequestFacts { method: "GET", now_ms, ..RequestFacts::default() };
    for now in [0, 10, 999] {
        run_with(Some(&store), &at(now), "https://old.example.com/docs/a", &rules);
    }
    let rule_reads = |s: &FakeStore| s.reads.borrow().iter().filter(|k| k.starts_with("rules:")).count();
    assert_eq!(rule_reads(&store), 1);
    run_with(Some(&store), &at(1000), "https://old.example.com/docs/a", &rules);
    assert_eq!(rule_reads(&store), 2, "re-read after the TTL");
    // absence is cached too
    let none = FakeStore::with(&[]);
    for now in [1001, 1002, 1003] {
        run_with(Some(&none), &at(now), "https://x.example.com/a", &rules);
    }
    assert_eq!(rule_reads(&none), 2, "rules:x.example.com and rules:* each read once for three misses");
}

#[test]
fn repeat_hits_and_misses_come_from_the_isolate_cache() {
    let store = routes();
    let cache = RefCell::new(IsolateCache::new(5000, 30_000));
    let at = |now_ms| RequestFacts { method: "GET", now_ms, ..RequestFacts::default() };
    let first = run_with(Some(&store), &at(0), "https://go.example.com/summer", &cache);
    assert_eq!(first.reply.status, 302);
    assert_eq!(store.reads.borrow().len(), 1, "a first hit is one KV read");
    let again = run_with(Some(&store), &at(4999), "https://go.example.com/summer?x=1", &cache);
    assert_eq!(again.reply.get("location"), Some("https://shop.example.com/sale?src=go&x=1"));
    assert_eq!(store.reads.borrow().len(), 1, "a repeat hit within the lifetime reads nothing");
    run_with(Some(&store), &at(5000), "https://go.example.com/summer", &cache);
    assert_eq!(store.reads.borrow().len(), 2, "re-read after the lifetime");

    store.reads.borrow_mut().clear();
    run_with(Some(&store), &at(6000), "https://go.example.com/none", &cache);
    let first_miss = store.reads.borrow().len();
    assert_eq!(first_miss, 5, "a miss reads every step and the host fallback once");
    run_with(Some(&store), &at(6001), "https://go.example.com/none", &cache);
    assert_eq!(store.reads.borrow().len(), first_miss, "a repeat miss reads nothing");
}

#[test]
fn a_cached_miss_sees_a_read_your_writes_pin() {
    let store = location();
    let cache = RefCell::new(IsolateCache::default());
    let url = "https://go.example.com/brand-new";
    assert_eq!(get_at(&store, &cache, url, 0).reply.status, 404);
    let reads = store.checks.borrow().len();
    // another isolate in this location writes the link and pins it
    store.pins.borrow_mut().insert("go.example.com/brand-new".into(), Some(r#""https://example.com/new""#.into()));
    let h = get_at(&store, &cache, url, 1);
    assert_eq!(h.reply.get("location"), Some("https://example.com/new"));
    assert_eq!(store.checks.borrow().len(), reads, "answered from the cached miss and its pin, no KV read");
}

/// A location with pins and a write marker, as another isolate's admin write leaves
/// them: `pins` are the pinned values, `last_write` the marker.
struct Location {
    kv: FakeStore,
    pins: RefCell<HashMap<String, Option<String>>>,
    last_write: std::cell::Cell<Option<i64>>,
    checks: RefCell<Vec<PinCheck>>,
}

impl RouteReads for Location {
    async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError> {
        self.checks.borrow_mut().push(pins);
        let kv = self.kv.get(key, pins).await?;
        let pinned = (pins == PinCheck::Always || kv.is_none()).then(|| self.pins.borrow().get(key).cloned()).flatten();
        Ok(pinned.unwrap_or(kv))
    }
    async fn pinned(&self, key: &str) -> Option<Option<String>> {
        self.pins.borrow().get(key).cloned()
    }
}

impl WriteView for Location {
    async fn last_write(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.last_write.get())
    }
}

impl StrongLinks for Location {
    async fn strong(&self, key: &str, kv_value: &str, mode: StrongMode) -> Result<StrongAnswer, StoreError> {
        self.kv.strong(key, kv_value, mode).await
    }
}

impl Admin for Location {
    async fn admin_read(&self, key: &redirector_core::key::RouteKey) -> Result<Option<AdminRead>, StoreError> {
        self.kv.admin_read(key).await
    }
    async fn admin_write(&self, writes: &[Write]) -> Result<WriteReport, StoreError> {
        self.kv.admin_write(writes).await
    }
    async fn admin_status(&self, shard: &str) -> Result<StatusAnswer, StoreError> {
        self.kv.admin_status(shard).await
    }
}

fn location() -> Location {
    Location { kv: routes(), pins: RefCell::default(), last_write: Default::default(), checks: RefCell::default() }
}

fn get_at(store: &Location, cache: &RefCell<IsolateCache>, url: &str, now_ms: i64) -> Handled {
    let bindings = vec![];
    let dep = Deployment { env: "t", release: "r", bindings: &bindings, explain: ExplainAccess::Off, admin_token: None, memory_bytes: 0 };
    let req = RequestFacts { method: "GET", now_ms, ..RequestFacts::default() };
    block_on(handle(&RequestUrl::parse(url).unwrap(), &req, Some(store), cache, &dep))
}

#[test]
fn an_update_elsewhere_in_the_location_reaches_a_cached_hit_within_a_second() {
    use redirector_core::ryw::MARKER_FRESH_MS;
    let store = location();
    let cache = RefCell::new(IsolateCache::default());
    let url = "https://go.example.com/summer";
    assert_eq!(get_at(&store, &cache, url, 0).reply.get("location"), Some("https://shop.example.com/sale?src=go"));
    // Another isolate updates the link: KV still has the old record; pin and marker are set.
    store.pins.borrow_mut().insert("go.example.com/summer".into(), Some(r#""https://example.com/v2""#.into()));
    store.last_write.set(Some(100));
    // The view read at 0 is trusted for half a second: the cached record still answers.
    let before = get_at(&store, &cache, url, MARKER_FRESH_MS / 2 - 1);
    assert_eq!(before.reply.get("location"), Some("https://shop.example.com/sale?src=go"));
    // Then the marker is re-read alongside a request (which still answers from the
    // fresh view); it shows a write this isolate has not seen, so the cache is dropped
    // and the next request's KV read checks the pin.
    let during = get_at(&store, &cache, url, MARKER_FRESH_MS / 2);
    assert_eq!(during.reply.get("location"), Some("https://shop.example.com/sale?src=go"));
    let after = get_at(&store, &cache, url, MARKER_FRESH_MS / 2 + 1);
    assert_eq!(after.reply.get("location"), Some("https://example.com/v2"));
    assert_eq!(store.checks.borrow().last(), Some(&PinCheck::Always));
}

#[test]
fn after_an_idle_spell_the_marker_is_read_before_the_cache_is_trusted() {
    use redirector_core::ryw::MARKER_FRESH_MS;
    let store = location();
    let cache = RefCell::new(IsolateCache::default());
    let url = "https://go.example.com/summer";
    get_at(&store, &cache, url, 0);
    store.pins.borrow_mut().insert("go.example.com/summer".into(), Some(r#""https://example.com/v2""#.into()));
    store.last_write.set(Some(100));
    // No request for longer than the view stays fresh: the next one reads it first.
    let h = get_at(&store, &cache, url, 2 * MARKER_FRESH_MS);
    assert_eq!(h.reply.get("location"), Some("https://example.com/v2"));
}

#[test]
fn a_quiet_location_reads_kv_alone_and_a_miss_still_finds_a_new_link() {
    let store = location();
    let cache = RefCell::new(IsolateCache::default());
    assert_eq!(get_at(&store, &cache, "https://go.example.com/summer", 0).reply.status, 302);
    assert_eq!(store.checks.borrow().as_slice(), [PinCheck::OnMiss], "no write in the location: KV alone");
    // A link created a moment ago elsewhere in the location, marker not yet re-read:
    store.pins.borrow_mut().insert("go.example.com/brand-new".into(), Some(r#""https://example.com/new""#.into()));
    store.last_write.set(Some(10));
    let h = get_at(&store, &cache, "https://go.example.com/brand-new", 20);
    assert_eq!(h.reply.get("location"), Some("https://example.com/new"), "a KV miss asks the pin");
}

#[test]
fn the_writing_isolate_checks_pins_after_its_own_write() {
    let store = location();
    let cache = RefCell::new(IsolateCache::default());
    get_at(&store, &cache, "https://go.example.com/summer", 0);
    cache.borrow_mut().marker.wrote(5);
    cache.borrow_mut().invalidate("go.example.com/summer");
    get_at(&store, &cache, "https://go.example.com/summer", 6);
    assert_eq!(store.checks.borrow().as_slice(), [PinCheck::OnMiss, PinCheck::Always]);
}

#[test]
fn canary_answers_set_a_sticky_cookie_and_no_store() {
    let store = FakeStore::with(&[("go.example.com/c", r#"{"to":"https://old.example.com/","status":301,"canary":{"to":"https://new.example.com/","percent":100}}"#)]);
    let h = get(&store, "https://go.example.com/c");
    assert_eq!(h.reply.get("location"), Some("https://new.example.com/"));
    assert_eq!(h.reply.get("cache-control"), Some("private, no-store"), "even a 301");
    assert!(h.reply.get("set-cookie").unwrap().starts_with("rdr_cid="));
    assert_eq!(h.click.variant, "canary");
    let req = RequestFacts { method: "GET", cookie: Deferred::Text("rdr_cid=abc"), now_ms: NOW, ..RequestFacts::default() };
    let h = run_with(Some(&store), &req, "https://go.example.com/c", &RefCell::new(IsolateCache::default()));
    assert_eq!(h.reply.get("set-cookie"), None, "a client with the cookie keeps it");
}

#[test]
fn accept_language_and_cookie_are_read_only_for_records_that_vary() {
    let store = FakeStore::with(&[
        ("go.example.com/plain", "https://example.com/plain"),
        ("go.example.com/by-lang", r#"{"to":"https://example.com/en","when":[{"language":["de"],"to":"https://example.com/de"}]}"#),
    ]);
    let reads = RefCell::new(Vec::new());
    let language = || {
        reads.borrow_mut().push("accept-language");
        Some("de-DE,de;q=0.9".to_string())
    };
    let cookie = || {
        reads.borrow_mut().push("cookie");
        None
    };
    let req = RequestFacts { method: "GET", accept_language: Deferred::Read(&language), cookie: Deferred::Read(&cookie), now_ms: NOW, ..RequestFacts::default() };
    let cache = RefCell::new(IsolateCache::default());
    let h = run_with(Some(&store), &req, "https://go.example.com/plain", &cache);
    assert_eq!(h.reply.get("location"), Some("https://example.com/plain"));
    assert!(reads.borrow().is_empty(), "a plain record reads neither header");
    let h = run_with(Some(&store), &req, "https://go.example.com/by-lang", &cache);
    assert_eq!(h.reply.get("location"), Some("https://example.com/de"), "the deferred header is the one read");
    assert_eq!(reads.borrow().as_slice(), ["cookie", "accept-language"], "each read once");
}

#[test]
fn reserved_paths_and_health() {
    let store = routes();
    let h = get(&store, "https://go.example.com/__redirector/health");
    assert_eq!(h.reply.status, 200);
    let body: serde_json::Value = serde_json::from_str(&h.reply.body).unwrap();
    assert_eq!(body["env"], "test");
    assert_eq!(body["release"], "abc123");
    assert_eq!(body["bindings"]["ROUTES_KV_TEST"], true);
    assert_eq!(h.click.outcome, Outcome::Health);

    let other = get(&store, "https://go.example.com/__redirector/anything");
    assert_eq!(other.reply.status, 404);
    assert!(store.reads.borrow().is_empty(), "reserved paths are never looked up");

    let unhealthy = run(None, "GET", "https://go.example.com/__redirector/health");
    assert_eq!(unhealthy.reply.status, 503);
}

#[test]
fn hostile_and_oversized_urls() {
    let store = routes();
    let long = format!("https://go.example.com/{}", "a".repeat(3000));
    let h = get(&store, &long);
    assert_eq!(h.reply.status, 414);
    assert!(store.reads.borrow().is_empty());
    // Keys over KV's 512-byte limit cannot exist: a miss, not a store error; only
    // the rule arrays are read.
    let h = get(&store, &format!("https://go.example.com/{}", "b".repeat(600)));
    assert_eq!(h.reply.status, 404);
    assert_eq!(*store.reads.borrow(), vec!["rules:go.example.com", "rules:*", "fallback:go.example.com"]);
    // A hostile query never changes the target's host.
    let h = get(&store, "https://go.example.com/summer?x=@evil.com&%0d%0a=1");
    let loc = Url::parse(h.reply.get("location").unwrap()).unwrap();
    assert_eq!(loc.host_str(), Some("shop.example.com"));
}

#[test]
fn click_carries_the_schema_fields() {
    let store = routes();
    let h = get(&store, "https://go.example.com/summer?a=1");
    let c = &h.click;
    assert_eq!(c.blobs(), [
        "summer",
        "go.example.com",
        "/summer",
        "https://shop.example.com/sale?src=go&a=1",
        "redirect",
        "DE",
        "FRA",
        "news.example.org",
        "desktop",
        "test",
        "abc123",
        "GET",
        "",
        "person",
    ]);
    assert_eq!(c.doubles(), [302.0, 0.0]);
    assert_eq!(c.index(), "go.example.com");
    let miss = get(&store, "https://go.example.com/none");
    assert_eq!((miss.click.outcome, miss.click.route_id.as_str(), miss.click.target.as_str()), (Outcome::Miss, "", ""));
}

#[test]
fn strong_routes_ask_the_authority_and_respect_the_cap() {
    let store = routes();
    for _ in 0..5 {
        assert_eq!(get(&store, "https://go.example.com/strong").reply.status, 302);
    }
    let capped = get(&store, "https://go.example.com/strong");
    assert_eq!(capped.reply.status, 404, "max_clicks reached: treated as absent");
    assert_eq!(store.clicks("go.example.com/strong"), 5);
    // The kill switch: an admin write reaches the counter, whatever KV says.
    let store = routes();
    assert_eq!(get(&store, "https://go.example.com/strong").reply.status, 302);
    let off = r#"{"to":"https://example.com/s","strong":true,"enabled":false}"#;
    let url = "https://go.example.com/__redirector/admin/route?key=go.example.com/strong";
    assert_eq!(admin(&store, "PUT", url, Some("Bearer admin-secret"), off).reply.status, 200);
    store.data.borrow_mut().insert("go.example.com/strong".into(), r#"{"to":"https://example.com/s","strong":true}"#.into());
    assert_eq!(get(&store, "https://go.example.com/strong").reply.status, 404);
}

/// Bug: explain went through the click path, so each explain of a capped strong link
/// used one of its `max_clicks` (and adopted KV's copy into the Durable Object).
#[test]
fn explain_never_spends_a_click_or_adopts() {
    let store = FakeStore::with(&[("go.example.com/one", r#"{"to":"https://example.com/s","strong":true,"max_clicks":1}"#)]);
    let url = "https://go.example.com/__redirector/explain?url=https://go.example.com/one";
    for _ in 0..3 {
        let h = get(&store, url);
        let body: serde_json::Value = serde_json::from_str(&h.reply.body).unwrap();
        assert_eq!(body["status"], 302, "{body}");
    }
    assert!(store.links.borrow().is_empty(), "no counter was created");
    assert!(store.shards.borrow().values().all(|s| s.borrow().status().unwrap().version == 0), "nothing adopted");
    assert_eq!(get(&store, "https://go.example.com/one").reply.status, 302, "the one click is still there");
    assert_eq!(get(&store, "https://go.example.com/one").reply.status, 404);
    let body: serde_json::Value = serde_json::from_str(&get(&store, url).reply.body).unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(store.clicks("go.example.com/one"), 1);
}

/// Bug: a strong 301, and a permanent answer reached past a capped strong link, were
/// cacheable for an hour: caches kept redirecting past the kill switch and the cap.
#[test]
fn answers_that_a_strong_link_can_take_back_are_never_cached() {
    let store = FakeStore::with(&[
        ("go.example.com/s", r#"{"to":"https://example.com/s","status":301,"strong":true,"max_clicks":1}"#),
        ("*/s", r#"{"to":"https://example.com/fallback","status":301}"#),
        ("go.example.com/soon", r#"{"to":"https://example.com/soon","status":308,"expires":"2026-05-28T20:36:40Z"}"#),
    ]);
    let first = get(&store, "https://go.example.com/s");
    assert_eq!((first.reply.status, first.reply.get("cache-control")), (301, Some("private, no-store")));
    let past = get(&store, "https://go.example.com/s");
    assert_eq!(past.reply.get("location"), Some("https://example.com/fallback"));
    assert_eq!(past.reply.get("cache-control"), Some("private, no-store"), "reached past a capped strong link");
    assert_eq!(get(&store, "https://x.example.com/s").reply.get("cache-control"), Some("public, max-age=3600"));
    // NOW is 2026-05-28T20:26:40Z: ten minutes before `expires`.
    assert_eq!(get(&store, "https://go.example.com/soon").reply.get("cache-control"), Some("public, max-age=600"));
}

#[test]
fn strong_route_without_an_authority_is_503() {
    struct NoAuthority(FakeStore);
    impl RouteReads for NoAuthority {
        async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError> {
            self.0.get(key, pins).await
        }
    }
    // The traits' defaults: no authority.
    impl WriteView for NoAuthority {}
    impl StrongLinks for NoAuthority {}
    impl Admin for NoAuthority {}
    let store = NoAuthority(routes());
    let url = RequestUrl::parse("https://go.example.com/strong").unwrap();
    let bindings = vec![];
    let dep = Deployment { env: "t", release: "r", bindings: &bindings, explain: ExplainAccess::Off, admin_token: None, memory_bytes: 0 };
    let req = RequestFacts { method: "GET", now_ms: NOW, ..RequestFacts::default() };
    let h = block_on(handle(&url, &req, Some(&store), &RefCell::new(IsolateCache::default()), &dep));
    assert_eq!(h.reply.status, 503);
    assert_eq!(h.reply.get("cache-control"), Some("no-store"));
    assert_eq!(h.reply.get("retry-after"), Some("5"));
    // ordinary links still serve
    let url = RequestUrl::parse("https://go.example.com/summer").unwrap();
    let h = block_on(handle(&url, &req, Some(&store), &RefCell::new(IsolateCache::default()), &dep));
    assert_eq!(h.reply.status, 302);
}

/// An admin request, as the control script serves it.
fn admin_handled(store: &FakeStore, method: &str, url: &str, auth: Option<&str>, body: &str) -> AdminHandled {
    let req = RequestFacts { method, authorization: auth, body: Body::Text(body), now_ms: NOW, ..RequestFacts::default() };
    block_on(handle_admin(&RequestUrl::parse(url).unwrap(), &req, Some(store), &deployment(&[])))
}

fn admin(store: &FakeStore, method: &str, url: &str, auth: Option<&str>, body: &str) -> Handled {
    admin_handled(store, method, url, auth, body).handled
}

#[test]
fn the_admin_api_is_the_control_scripts_alone() {
    let store = routes();
    let url = "https://go.example.com/__redirector/admin/route?key=go.example.com/new";
    let body = r#"{"to":"https://example.com/new"}"#;
    // The edge's flow never serves it (the edge script forwards it before the flow).
    let req = RequestFacts { method: "PUT", authorization: Some("Bearer admin-secret"), body: Body::Text(body), now_ms: NOW, ..RequestFacts::default() };
    let edge = run_with(Some(&store), &req, url, &RefCell::new(IsolateCache::default()));
    assert_eq!(edge.reply.status, 405);
    assert!(!store.data.borrow().contains_key("go.example.com/new"), "nothing written");
    let read = RequestFacts { method: "GET", authorization: Some("Bearer admin-secret"), now_ms: NOW, ..RequestFacts::default() };
    let edge = run_with(Some(&store), &read, url, &RefCell::new(IsolateCache::default()));
    assert_eq!((edge.reply.status, edge.click.outcome), (404, Outcome::Miss), "a reserved path, never looked up");
    // The control's flow serves nothing else.
    let other = admin_handled(&store, "GET", "https://go.example.com/summer", None, "");
    assert_eq!((other.handled.reply.status, other.writes.len()), (404, 0));
    // An accepted write hands back what it wrote (for the edge's pins); a read does not.
    let written = admin_handled(&store, "PUT", url, Some("Bearer admin-secret"), body);
    assert_eq!(written.handled.reply.status, 200);
    assert_eq!(written.writes.iter().map(|w| (w.key.key.as_str(), w.value.as_deref())).collect::<Vec<_>>(), [("go.example.com/new", Some(body))]);
    assert_eq!(written.handled.click.route_id, "go.example.com/new");
    let read = admin_handled(&store, "GET", url, Some("Bearer admin-secret"), "");
    assert_eq!((read.handled.reply.status, read.writes.len()), (200, 0));
    // A refused write hands back none.
    let refused = admin_handled(&store, "PUT", url, Some("Bearer admin-secret"), r#"{"to":"javascript:alert(1)"}"#);
    assert_eq!((refused.handled.reply.status, refused.writes.len()), (400, 0));
}

#[test]
fn an_unreachable_control_script_is_a_503_with_one_click_and_a_fault() {
    let url = RequestUrl::parse("https://go.example.com/__redirector/admin/route?key=go.example.com/a").unwrap();
    let req = RequestFacts { method: "PUT", user_agent: Some(BROWSER), now_ms: NOW, ..RequestFacts::default() };
    let error = redirector_core::Error::StoreUnavailable(StoreError("CONTROL_TEST binding is not configured".into()));
    let h = refuse(&url, &req, &deployment(&[]), error);
    assert_eq!((h.reply.status, h.click.status, h.click.method.as_str()), (503, 503, "PUT"));
    assert_eq!(h.click.path, "/__redirector/admin/route");
    assert!(h.fault.is_some(), "reported");
}

#[test]
fn a_forwarded_write_makes_the_edge_isolate_forget_its_copy() {
    let store = routes();
    let cache = RefCell::new(IsolateCache::default());
    let req = RequestFacts { method: "GET", now_ms: NOW, ..RequestFacts::default() };
    assert_eq!(run_with(Some(&store), &req, "https://go.example.com/summer", &cache).reply.status, 302);
    store.data.borrow_mut().remove("go.example.com/summer");
    assert_eq!(run_with(Some(&store), &req, "https://go.example.com/summer", &cache).reply.status, 302, "cached");
    cache.borrow_mut().wrote(NOW, ["go.example.com/summer"]);
    assert_eq!(run_with(Some(&store), &req, "https://go.example.com/summer", &cache).reply.status, 404);
}

#[test]
fn admin_api_auth_validation_and_writes() {
    let store = routes();
    let url = "https://go.example.com/__redirector/admin/route?key=go.example.com/new";
    let body = r#"{"to":"https://example.com/new"}"#;
    assert_eq!(admin(&store, "PUT", url, None, body).reply.status, 401);
    assert_eq!(admin(&store, "PUT", url, Some("Bearer wrong"), body).reply.get("www-authenticate"), Some("Bearer"));
    let ok = admin(&store, "PUT", url, Some("Bearer admin-secret"), body);
    assert_eq!(ok.reply.status, 200);
    assert_eq!(ok.click.outcome, Outcome::Admin);
    assert_eq!(store.data.borrow()["go.example.com/new"], body, "written through to KV");

    let bad = admin(&store, "PUT", url, Some("Bearer admin-secret"), r#"{"to":"javascript:alert(1)"}"#);
    assert_eq!(bad.reply.status, 400);
    let json: serde_json::Value = serde_json::from_str(&bad.reply.body).unwrap();
    assert_eq!(json["field"], "to");
    assert_eq!(store.data.borrow()["go.example.com/new"], body, "nothing written");

    let bulk = r#"[{"key":"a.com/1","value":"https://e.com/1"},{"key":"a.com/2","value":{"to":"https://e.com","status":999}}]"#;
    let refused = admin(&store, "POST", "https://h/__redirector/admin/bulk", Some("Bearer admin-secret"), bulk);
    assert_eq!(refused.reply.status, 400);
    assert!(!store.data.borrow().contains_key("a.com/1"), "all or nothing");
}

#[test]
fn admin_api_is_off_without_a_token() {
    let store = routes();
    let url = RequestUrl::parse("https://go.example.com/__redirector/admin/route?key=a.com/x").unwrap();
    let bindings = vec![];
    let dep = Deployment { env: "t", release: "r", bindings: &bindings, explain: ExplainAccess::Off, admin_token: None, memory_bytes: 0 };
    let req = RequestFacts { method: "GET", authorization: Some("Bearer "), now_ms: NOW, ..RequestFacts::default() };
    let h = block_on(handle(&url, &req, Some(&store), &RefCell::new(IsolateCache::default()), &dep));
    assert_eq!(h.reply.status, 404);
}

/// Bug (review): a 301 reached past a record that starts later was cacheable for an
/// hour, so caches kept it after the skipped record started.
#[test]
fn an_answer_reached_past_a_record_that_starts_later_is_cached_until_then_at_most() {
    let store = FakeStore::with(&[
        // NOW is 2026-05-28T20:26:40Z: this one starts in ten minutes.
        ("go.example.com/launch", r#"{"to":"https://example.com/new","starts":"2026-05-28T20:36:40Z"}"#),
        ("*/launch", r#"{"to":"https://example.com/teaser","status":301}"#),
    ]);
    let h = get(&store, "https://go.example.com/launch");
    assert_eq!(h.reply.get("location"), Some("https://example.com/teaser"));
    assert_eq!(h.reply.get("cache-control"), Some("public, max-age=600"));
    assert_eq!(get(&store, "https://other.example.com/launch").reply.get("cache-control"), Some("public, max-age=3600"));
}

/// The same for rules: a 301 from a rule reached past an earlier rule that starts
/// later is cached only until that rule starts.
#[test]
fn an_answer_reached_past_a_rule_that_starts_later_is_cached_until_then_at_most() {
    let store = FakeStore::with(&[(
        "rules:go.example.com",
        r#"[{"from":"/old/:id","to":"https://example.com/new/:id","starts":"2026-05-28T20:36:40Z"},{"from":"/*","to":"https://example.com/all","status":301}]"#,
    )]);
    let h = get(&store, "https://go.example.com/old/7");
    assert_eq!(h.reply.get("location"), Some("https://example.com/all"));
    assert_eq!(h.reply.get("cache-control"), Some("public, max-age=600"));
    assert_eq!(get(&store, "https://go.example.com/other").reply.get("cache-control"), Some("public, max-age=3600"));
}

fn as_agent(store: &FakeStore, method: &str, user_agent: &str, url: &str) -> Handled {
    let req = RequestFacts { method, user_agent: Some(user_agent), now_ms: NOW, ..RequestFacts::default() };
    run_with(Some(store), &req, url, &RefCell::new(IsolateCache::default()))
}

/// Bug: link previews, bots and HEAD requests were redirected like people, written
/// as ordinary clicks and spent `max_clicks`.
#[test]
fn regression_previews_bots_and_head_are_answered_but_never_spend_a_cap() {
    let store = routes();
    let url = "https://go.example.com/strong";
    for (method, ua, audience) in [
        ("GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview"),
        ("GET", "WhatsApp/2.23.20.0 A", "preview"),
        ("GET", "Mozilla/5.0 (compatible; Googlebot/2.1)", "bot"),
        ("HEAD", BROWSER, "head"),
    ] {
        for _ in 0..10 {
            let h = as_agent(&store, method, ua, url);
            assert_eq!(h.reply.status, 302, "{ua}: answered");
            assert_eq!(h.click.audience, audience, "{ua}");
        }
    }
    assert_eq!(store.clicks("go.example.com/strong"), 0, "no cap spent");
    for _ in 0..5 {
        let h = as_agent(&store, "GET", BROWSER, url);
        assert_eq!((h.reply.status, h.click.audience), (302, "person"));
    }
    assert_eq!(store.clicks("go.example.com/strong"), 5);
    assert_eq!(as_agent(&store, "GET", BROWSER, url).reply.status, 404, "the cap holds for people");
    // A capped link answers previews as it would answer people.
    assert_eq!(as_agent(&store, "GET", "Twitterbot/1.0", url).reply.status, 404);
}

/// Bug: a plain URL put in KV without JSON quotes (`wrangler kv key put KEY
/// https://...`) answered 500 "misconfigured".
#[test]
fn regression_plain_text_url_in_kv_redirects() {
    let store = FakeStore::with(&[("go.example.com/x", "https://shop.example.com/x"), ("go.example.com/nl", "https://shop.example.com/x\n")]);
    let h = get(&store, "https://go.example.com/x?a=1");
    assert_eq!((h.reply.status, h.reply.get("location")), (302, Some("https://shop.example.com/x?a=1")));
    let bad = get(&store, "https://go.example.com/nl");
    assert_eq!((bad.reply.status, bad.reply.get("location")), (500, None), "a newline is still a fault");
}

fn fallback_routes() -> FakeStore {
    FakeStore::with(&[
        ("go.example.com/off", r#"{"to":"https://example.com/off","enabled":false,"fallback":"https://example.com/ended?from=off","id":"off"}"#),
        ("go.example.com/gone", r#"{"to":"https://example.com/gone","expires":"2020-01-01T00:00:00Z","fallback":"https://example.com/ended","forward_query":false}"#),
        ("go.example.com/later", r#"{"to":"https://example.com/later","starts":"2030-01-01T00:00:00Z","fallback":"https://example.com/never"}"#),
        ("go.example.com/capped", r#"{"to":"https://example.com/c","strong":true,"max_clicks":1,"fallback":"https://example.com/sold-out"}"#),
        ("*/gone", r#"{"to":"https://example.com/any-gone"}"#),
        ("rules:go.example.com", r#"[{"from":"/old/*","to":"https://example.com/old","expires":"2020-01-01T00:00:00Z","fallback":"https://example.com/archive"}]"#),
        ("fallback:go.example.com", r#"{"to":"https://seller.example.com/","status":302,"forward_query":false}"#),
        ("fallback:bad.example.com", r#""javascript:alert(1)""#),
    ])
}

#[test]
fn an_ended_record_sends_its_visitors_to_its_fallback() {
    let store = fallback_routes();
    let h = get(&store, "https://go.example.com/off?utm=1");
    assert_eq!((h.reply.status, h.reply.get("location")), (302, Some("https://example.com/ended?from=off&utm=1")));
    assert_eq!((h.click.outcome, h.click.route_id.as_str()), (Outcome::Fallback, "off"));
    assert_eq!(h.reply.get("cache-control"), Some("private, no-store"));
    // A later step that answers wins over the fallback (the contract's fall-through).
    let h = get(&store, "https://go.example.com/gone");
    assert_eq!((h.click.outcome, h.reply.get("location")), (Outcome::Redirect, Some("https://example.com/any-gone")));
    // A record yet to start has not ended: no fallback, the host's applies.
    let h = get(&store, "https://go.example.com/later");
    assert_eq!((h.click.outcome, h.reply.get("location")), (Outcome::Fallback, Some("https://seller.example.com/")));
    assert_eq!(h.click.route_id, "fallback:go.example.com");
    // A strong link past its cap.
    assert_eq!(get(&store, "https://go.example.com/capped").reply.get("location"), Some("https://example.com/c"));
    let h = get(&store, "https://go.example.com/capped");
    assert_eq!((h.reply.status, h.reply.get("location")), (302, Some("https://example.com/sold-out")));
    // An expired rule.
    let h = get(&store, "https://go.example.com/old/a/b");
    assert_eq!((h.click.outcome, h.reply.get("location")), (Outcome::Fallback, Some("https://example.com/archive")));
    assert_eq!(h.click.route_id, "rules:go.example.com[0]");
}

#[test]
fn a_host_fallback_answers_unknown_paths_and_is_validated() {
    let store = fallback_routes();
    let h = get(&store, "https://go.example.com/nothing-here?x=1");
    assert_eq!((h.reply.status, h.reply.get("location")), (302, Some("https://seller.example.com/")));
    assert_eq!(h.click.outcome, Outcome::Fallback);
    assert_eq!(
        *store.reads.borrow(),
        ["go.example.com/nothing-here", "*/nothing-here", "rules:go.example.com", "rules:*", "fallback:go.example.com"],
        "the host fallback is read last, only on a miss"
    );
    let bad = get(&store, "https://bad.example.com/x");
    assert_eq!((bad.reply.status, bad.reply.get("location")), (500, None), "an invalid fallback is never redirected to");
    assert_eq!(get(&store, "https://other.example.com/x").reply.status, 404);
}
