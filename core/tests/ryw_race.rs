//! Read-your-writes when a KV read and the write-marker read are in flight together
//! (the `Refresh::Ahead` path): both orders of completion, driven by hand.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use redirector_core::cache::IsolateCache;
use redirector_core::lookup::{lookup, Found};
use redirector_core::ryw::{PinCheck, MARKER_FRESH_MS};
use redirector_core::store::{RouteReads, StoreError, StrongLinks, StrongMode, WriteView};
use redirector_core::strong::msg::StrongAnswer;

const OLD: &str = r#""https://example.com/v1""#;
const NEW: &str = r#""https://example.com/v2""#;
const KEY: &str = "go.example.com/moving";

/// A future that waits until its flag is set.
struct Gate<'a>(&'a Cell<bool>);

impl Future for Gate<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0.get() { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// One location: KV still has the old value (it lags), another isolate has written
/// the new one, pinned it and stamped the marker.
struct Location {
    kv_open: Cell<bool>,
    marker_open: Cell<bool>,
    written_at: Cell<Option<i64>>,
    checks: RefCell<Vec<PinCheck>>,
}

impl RouteReads for Location {
    async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError> {
        self.checks.borrow_mut().push(pins);
        Gate(&self.kv_open).await;
        let pinned = self.written_at.get().is_some() && key == KEY;
        Ok(match (key, pins) {
            (KEY, PinCheck::Always) if pinned => Some(NEW.into()),
            (KEY, _) => Some(OLD.into()),
            _ => None,
        })
    }
}

impl WriteView for Location {
    async fn last_write(&self) -> Result<Option<i64>, StoreError> {
        Gate(&self.marker_open).await;
        Ok(self.written_at.get())
    }
}

impl StrongLinks for Location {
    async fn strong(&self, _: &str, _: &str, _: StrongMode) -> Result<StrongAnswer, StoreError> {
        Err(StoreError("no strong links here".into()))
    }
}

fn poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn target(found: Option<Found>) -> String {
    found.expect("found").record.to.to_string()
}

fn open(store: &Location) {
    store.kv_open.set(true);
    store.marker_open.set(true);
}

/// Serve a request with both reads open (they finish in one poll).
fn serve(store: &Location, cache: &RefCell<IsolateCache>, now: i64) -> String {
    open(store);
    let mut f = pin!(lookup(store, cache, "go.example.com", "/moving", now, StrongMode::Click, None));
    match poll(f.as_mut()) {
        Poll::Ready(found) => target(found.unwrap()),
        Poll::Pending => panic!("open reads never pend"),
    }
}

/// Bug: in the `Refresh::Ahead` path, when the marker read finished first and
/// cleared the isolate cache, the KV read still in flight put the old value back,
/// for the link's cache lifetime (15 s) instead of "within a second".
#[test]
fn a_kv_read_in_flight_never_puts_a_stale_value_back_after_the_cache_is_dropped() {
    for marker_first in [true, false] {
        let store = Location { kv_open: Cell::new(true), marker_open: Cell::new(true), written_at: Cell::new(None), checks: RefCell::default() };
        let cache = RefCell::new(IsolateCache::default());
        // A fresh view of a quiet location, read at 0.
        assert_eq!(serve(&store, &cache, 0), "https://example.com/v1");
        cache.borrow_mut().invalidate(KEY); // the link is not cached: the next request reads KV
        // Another isolate of the location writes v2 at 100 (pin + marker); KV lags.
        store.written_at.set(Some(100));
        store.kv_open.set(false);
        store.marker_open.set(false);
        let ahead = MARKER_FRESH_MS / 2;
        let mut request = pin!(lookup(&store, &cache, "go.example.com", "/moving", ahead, StrongMode::Click, None));
        assert!(poll(request.as_mut()).is_pending(), "both reads in flight");
        assert_eq!(store.checks.borrow().last(), Some(&PinCheck::OnMiss), "the view was fresh: KV alone");
        let (first, second) = if marker_first { (&store.marker_open, &store.kv_open) } else { (&store.kv_open, &store.marker_open) };
        first.set(true);
        assert!(poll(request.as_mut()).is_pending());
        second.set(true);
        let Poll::Ready(found) = poll(request.as_mut()) else { panic!("both reads done") };
        // The request that raced the write may answer the old value: it began first.
        assert_eq!(target(found.unwrap()), "https://example.com/v1");
        // The next request must not: the cache holds nothing from before the write.
        assert_eq!(serve(&store, &cache, ahead + 1), "https://example.com/v2", "marker first: {marker_first}");
    }
}
