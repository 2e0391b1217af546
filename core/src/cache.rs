//! The per-isolate cache: parsed link records (and misses) and parsed rule arrays,
//! each with a stated lifetime, bounded in size.
//!
//! | what | lifetime | why |
//! |---|---|---|
//! | link records and misses | [`LINK_CACHE_TTL_MS`] (15 s) | every request reads one; a repeat hit then costs no KV read and no parsing |
//! | rule arrays and their absence | [`RULE_CACHE_TTL_MS`] (30 s) | read on every exact-link miss, change rarely |
//!
//! Both are configurable per deployment (`ROUTE_CACHE_TTL_MS`, `RULES_CACHE_TTL_MS`).
//! The lifetimes bound how late an isolate sees a change that did not come through
//! the admin API of its own location (a write elsewhere, reaching it through KV, or a
//! direct KV edit); admin writes here are handled by read-your-writes:
//!
//! **Staying correct with read-your-writes** (see [`crate::ryw`] and
//! `docs/strong-routes.md`):
//! * strong links are never answered from here: the Durable Object is asked on every
//!   request (only the KV text is kept, to hand to it);
//! * a cached *miss* is re-checked against this location's read-your-writes pin on
//!   every request, so a link created through the admin API is served at once by
//!   every isolate, even one that had just cached it as missing;
//! * the isolate that served an admin write drops its copies of the written keys;
//! * every isolate keeps a view of the location's latest admin write
//!   ([`IsolateCache::marker`], at most [`crate::ryw::MARKER_FRESH_MS`] old): when it
//!   shows a write the isolate has not seen, the whole cache is dropped, so an update
//!   or delete reaches every isolate of the location within that second.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::record::{parse_link_record, LinkRecord, RecordError};
use crate::rules::RuleSet;
use crate::ryw::WriteMarker;

/// How long an isolate keeps a link record or a miss, in milliseconds.
pub const LINK_CACHE_TTL_MS: i64 = 15_000;
/// How long an isolate keeps a rule array (or its absence), in milliseconds.
pub const RULE_CACHE_TTL_MS: i64 = 30_000;
/// Most link keys kept per isolate (about 1-2 KB each).
pub const LINK_CACHE_MAX_ENTRIES: usize = 10_000;
/// Most rule-array keys kept per isolate.
pub const RULE_CACHE_MAX_ENTRIES: usize = 1024;

/// A map whose entries expire `ttl_ms` after insertion, bounded in size. When it is
/// full, a sweep keeps only the live entries read since the previous sweep (a
/// one-bit clock, so a burst of one-off keys cannot push out the hot set) and, if
/// that is still too many, drops everything.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl_ms: i64,
    max_entries: usize,
    entries: HashMap<String, Entry<V>>,
}

#[derive(Debug)]
struct Entry<V> {
    at: i64,
    /// Read since the last sweep.
    used: Cell<bool>,
    value: V,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl_ms: i64, max_entries: usize) -> Self {
        Self { ttl_ms, max_entries, entries: HashMap::new() }
    }

    /// The value for `key` if it is younger than the lifetime.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<V> {
        let entry = self.entries.get(key)?;
        if now_ms < entry.at || now_ms - entry.at >= self.ttl_ms {
            return None;
        }
        entry.used.set(true);
        Some(entry.value.clone())
    }

    pub fn insert(&mut self, key: &str, value: V, now_ms: i64) {
        if self.ttl_ms <= 0 {
            return;
        }
        if self.entries.len() >= self.max_entries && !self.entries.contains_key(key) {
            let ttl = self.ttl_ms;
            self.entries.retain(|_, e| now_ms >= e.at && now_ms - e.at < ttl && e.used.replace(false));
            if self.entries.len() >= self.max_entries {
                self.entries.clear();
            }
        }
        self.entries.insert(key.to_string(), Entry { at: now_ms, used: Cell::new(false), value });
    }

    pub fn invalidate(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A link record as KV holds it, parsed once.
#[derive(Debug)]
pub struct CachedLink {
    pub raw: String,
    pub record: Result<Rc<LinkRecord>, RecordError>,
}

impl CachedLink {
    pub fn parse(raw: String) -> Self {
        let record = parse_link_record(&raw).map(Rc::new);
        Self { raw, record }
    }
}

/// A cached link lookup: `None` is a miss.
pub type CachedLinkEntry = Option<Rc<CachedLink>>;
/// A cached rule array: absent, parsed, or invalid as a whole.
pub type CachedRules = Option<Rc<Result<RuleSet, RecordError>>>;

/// Everything an isolate caches.
#[derive(Debug)]
pub struct IsolateCache {
    pub links: TtlCache<CachedLinkEntry>,
    pub rules: TtlCache<CachedRules>,
    /// What this isolate knows of the location's latest admin write.
    pub marker: WriteMarker,
    /// Bumped whenever entries are dropped because they may be stale: a read that
    /// started under an older generation must not put its value back
    /// ([`IsolateCache::generation`]).
    generation: u64,
}

impl Default for IsolateCache {
    fn default() -> Self {
        Self::new(LINK_CACHE_TTL_MS, RULE_CACHE_TTL_MS)
    }
}

impl IsolateCache {
    pub fn new(link_ttl_ms: i64, rule_ttl_ms: i64) -> Self {
        Self {
            links: TtlCache::new(link_ttl_ms, LINK_CACHE_MAX_ENTRIES),
            rules: TtlCache::new(rule_ttl_ms, RULE_CACHE_MAX_ENTRIES),
            marker: WriteMarker::default(),
            generation: 0,
        }
    }

    /// The current generation. A store read takes it before it starts and hands it
    /// to [`IsolateCache::insert_link`] / [`IsolateCache::insert_rules`], which keep
    /// the value only if nothing was dropped meanwhile: a read in flight while a newer
    /// write became known may carry the old value, and must not cache it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn insert_link(&mut self, key: &str, link: CachedLinkEntry, now_ms: i64, read_at: u64) {
        if read_at == self.generation {
            self.links.insert(key, link, now_ms);
        }
    }

    pub fn insert_rules(&mut self, key: &str, rules: CachedRules, now_ms: i64, read_at: u64) {
        if read_at == self.generation {
            self.rules.insert(key, rules, now_ms);
        }
    }

    /// Forget every record and rule array (the marker stays).
    pub fn clear(&mut self) {
        self.generation += 1;
        self.links.clear();
        self.rules.clear();
    }

    /// An admin write this location has just made (its edge isolate forwarded it):
    /// note its time in the marker and forget the written keys.
    pub fn wrote<'k>(&mut self, now_ms: i64, keys: impl IntoIterator<Item = &'k str>) {
        self.marker.wrote(now_ms);
        for key in keys {
            self.invalidate(key);
        }
    }

    /// Forget a key this isolate has just written.
    pub fn invalidate(&mut self, key: &str) {
        self.generation += 1;
        self.links.invalidate(key);
        self.rules.invalidate(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_and_bounds() {
        let mut cache: TtlCache<Option<u8>> = TtlCache::new(1000, 4);
        assert_eq!(cache.get("a", 0), None);
        cache.insert("a", None, 0);
        assert_eq!(cache.get("a", 999), Some(None), "absence is cached");
        assert_eq!(cache.get("a", 1000), None, "expired");
        assert_eq!(cache.get("a", -1), None, "a clock that went back does not serve");
        cache.insert("a", Some(1), 1000);
        assert_eq!(cache.get("a", 1500), Some(Some(1)));
        cache.invalidate("a");
        assert_eq!(cache.get("a", 1500), None);
        for i in 0..10 {
            cache.insert(&format!("k{i}"), Some(i), 2000);
        }
        assert!(cache.len() <= 4);
        let mut off: TtlCache<u8> = TtlCache::new(0, 4);
        off.insert("k", 1, 0);
        assert!(off.is_empty(), "lifetime 0 disables the cache");
    }

    #[test]
    fn a_full_cache_keeps_what_was_read_since_the_last_sweep() {
        let mut cache: TtlCache<u8> = TtlCache::new(1000, 4);
        for (i, key) in ["hot", "a", "b", "c"].into_iter().enumerate() {
            cache.insert(key, i as u8, 0);
        }
        assert_eq!(cache.get("hot", 10), Some(0));
        cache.insert("d", 9, 20);
        assert_eq!(cache.get("hot", 30), Some(0), "read since the last sweep: kept");
        assert_eq!((cache.get("a", 30), cache.get("b", 30), cache.get("c", 30)), (None, None, None));
        assert_eq!(cache.get("d", 30), Some(9));
        // Every entry read: nothing to choose, everything goes.
        for key in ["x", "y"] {
            cache.insert(key, 1, 40);
            cache.get(key, 41);
        }
        cache.get("d", 41);
        cache.get("hot", 41);
        cache.insert("z", 2, 50);
        assert_eq!(cache.len(), 1);
    }
}
