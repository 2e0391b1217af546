//! The routes as the worker would see them, offline: an in-memory store behind the
//! core's seams, so `explain` and the loop lint run the worker's own lookup and
//! decision code ([`redirector_core::decide`], [`redirector_core::explain`]).
//!
//! Strong links answer as their record says (no Durable Object offline: no click
//! counts, so `max_clicks` is never reached here).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use redirector_core::cache::IsolateCache;
use redirector_core::decide::{canonical, decide, Purpose};
use redirector_core::explain::explain;
use redirector_core::ryw::PinCheck;
use redirector_core::store::{Admin, RouteReads, StoreError, StrongLinks, StrongMode, WriteView};
use redirector_core::strong::msg::StrongAnswer;
use redirector_core::RequestFacts;
use serde_json::Value;
use url::Url;

/// KV as the route files would fill it.
pub struct Offline {
    kv: HashMap<String, String>,
}

impl Offline {
    pub fn new(kv: &BTreeMap<String, Value>) -> Self {
        Offline { kv: kv.iter().map(|(k, v)| (k.clone(), v.to_string())).collect() }
    }
}

impl RouteReads for Offline {
    async fn get(&self, key: &str, _pins: PinCheck) -> Result<Option<String>, StoreError> {
        Ok(self.kv.get(key).cloned())
    }
}

impl WriteView for Offline {}

impl StrongLinks for Offline {
    async fn strong(&self, _key: &str, kv_value: &str, _mode: StrongMode) -> Result<StrongAnswer, StoreError> {
        Ok(StrongAnswer::Serve(kv_value.to_string()))
    }
}

impl Admin for Offline {}

/// Run a future that never waits (the in-memory store answers at once).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

/// A fresh isolate cache that keeps nothing between calls' answers stale: the files
/// do not change while the command runs.
fn cache() -> RefCell<IsolateCache> {
    RefCell::new(IsolateCache::default())
}

/// Where `url` redirects (a GET from a plain client, now), if it does.
pub fn resolve(store: &Offline, url: &Url, now_ms: i64) -> Option<Url> {
    let (host, path) = canonical(url.host_str().unwrap_or(""), url.path()).ok()?;
    let req = RequestFacts { method: "GET", now_ms, ..RequestFacts::default() };
    block_on(decide(url.query(), &host, &path, &req, store, &cache(), Purpose::Explain)).result.ok().map(|r| r.location)
}

/// The client a request comes from, for `explain`.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub country: Option<String>,
    pub language: Option<String>,
    pub user_agent: Option<String>,
    pub cookie: Option<String>,
}

/// The worker's explain JSON for `url`, computed from the files.
pub fn explain_json(store: &Offline, url: &str, client: &Client, now_ms: i64) -> Value {
    let mut endpoint = Url::parse("https://offline.invalid/__redirector/explain").expect("a valid constant URL");
    endpoint.query_pairs_mut().append_pair("url", url);
    let req = RequestFacts {
        method: "GET",
        user_agent: client.user_agent.as_deref(),
        accept_language: client.language.as_deref().into(),
        cookie: client.cookie.as_deref().into(),
        explain_country: client.country.as_deref(),
        now_ms,
        ..RequestFacts::default()
    };
    let reply = block_on(explain(&endpoint, &req, store, &cache()));
    serde_json::from_str(&reply.body).unwrap_or_else(|_| serde_json::json!({ "status": reply.status, "error": reply.body }))
}
