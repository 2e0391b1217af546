//! Native cost of the redirect core per request (scripts/bench runs this).
//!
//! * `lookup_cold/N`: a first hit among N links: KV map read + JSON and URL parsing.
//! * `lookup_warm/N`: a repeat hit (isolate cache) among N links, hot set of 1 000.
//! * `rules_1k`: a path that only the last of 1 000 rules matches (exact steps cached
//!   as misses, rule array cached): the worst-case rule scan.
//! * `handle_warm`: the whole flow for a repeat hit: canonicalise, look up, choose,
//!   merge the query, build the reply and the click.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use redirector_core::cache::IsolateCache;
use redirector_core::lookup::lookup;
use redirector_core::ryw::PinCheck;
use redirector_core::store::{Admin, RouteReads, StoreError, StrongLinks, StrongMode, WriteView};
use redirector_core::{handle, Deployment, ExplainAccess, RequestFacts, RequestUrl};

struct MapStore(HashMap<String, String>);

impl RouteReads for MapStore {
    async fn get(&self, key: &str, _pins: PinCheck) -> Result<Option<String>, StoreError> {
        Ok(self.0.get(key).cloned())
    }
}
impl WriteView for MapStore {}
impl StrongLinks for MapStore {}
impl Admin for MapStore {}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the map store never pends"),
    }
}

const HOST: &str = "go.example.com";

fn store(n: usize, rules: usize) -> MapStore {
    let mut map = HashMap::with_capacity(n + 1);
    for i in 0..n {
        map.insert(format!("{HOST}/l/{i}"), format!(r#"{{"to":"https://example.com/target/{i}?src=go","status":302}}"#));
    }
    let rule_list: Vec<String> =
        (0..rules).map(|i| format!(r#"{{"from":"/r{i}/:id/*","to":"https://example.com/r{i}/:id/:splat"}}"#)).collect();
    map.insert(format!("rules:{HOST}"), format!("[{}]", rule_list.join(",")));
    MapStore(map)
}

/// A cheap deterministic sequence of key indexes (xorshift).
struct Keys(u64);
impl Keys {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup_cold");
    for n in [1_000, 100_000, 1_000_000] {
        let s = store(n, 0);
        let cache = RefCell::new(IsolateCache::new(0, 0));
        let mut keys = Keys(0x9E37_79B9_7F4A_7C15);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let path = format!("/l/{}", keys.next(n));
                black_box(block_on(lookup(&s, &cache, HOST, &path, 0, StrongMode::Click, None)).unwrap().unwrap());
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("lookup_warm");
    for n in [1_000, 100_000, 1_000_000] {
        let s = store(n, 0);
        let cache = RefCell::new(IsolateCache::default());
        let hot: Vec<String> = (0..1_000).map(|i| format!("/l/{}", i * (n / 1_000))).collect();
        for p in &hot {
            block_on(lookup(&s, &cache, HOST, p, 0, StrongMode::Click, None)).unwrap();
        }
        let mut keys = Keys(0x2545_F491_4F6C_DD1D);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let path = &hot[keys.next(hot.len())];
                black_box(block_on(lookup(&s, &cache, HOST, path, 1, StrongMode::Click, None)).unwrap().unwrap());
            })
        });
    }
    group.finish();

    let s = store(1_000, 1_000);
    let cache = RefCell::new(IsolateCache::default());
    block_on(lookup(&s, &cache, HOST, "/r999/x/y", 0, StrongMode::Click, None)).unwrap();
    c.bench_function("rules_1k", |b| {
        b.iter(|| {
            black_box(block_on(lookup(&s, &cache, HOST, "/r999/x/y", 1, StrongMode::Click, None)).unwrap().unwrap());
        })
    });

    let s = store(100_000, 0);
    let cache = RefCell::new(IsolateCache::default());
    let bindings = vec![];
    let dep = Deployment { env: "bench", release: "r", bindings: &bindings, explain: ExplainAccess::Off, admin_token: None, memory_bytes: 0 };
    let url = RequestUrl::parse("https://go.example.com/l/4242?utm_source=bench").unwrap();
    let req = RequestFacts { method: "GET", user_agent: Some("Mozilla/5.0 (Windows NT 10.0)"), now_ms: 0, ..RequestFacts::default() };
    block_on(handle(&url, &req, Some(&s), &cache, &dep));
    c.bench_function("handle_warm", |b| {
        b.iter(|| black_box(block_on(handle(&url, &req, Some(&s), &cache, &dep)).reply.status));
    });
}

criterion_group! {
    name = lookup_benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30);
    targets = benches
}
criterion_main!(lookup_benches);
