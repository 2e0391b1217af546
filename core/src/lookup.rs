//! Lookup order (ROUTES.md "Lookup order"):
//! 1. exact `<host><path>`; 2. exact `*<path>`; 3. `rules:<host>` in order;
//! 4. `rules:*` in order; 5. no route.
//!
//! A record absent by `enabled`/`starts`/`expires` falls through to the next step (a
//! rule to the next rule). A record that breaks the contract stops the lookup: it is
//! a fault, never a redirect. Every step taken is recorded for `explain`.
//!
//! Fallbacks (an extension, docs/routes.md "Fallbacks") apply only where step 5 would
//! answer 404: first the `fallback` of the first record passed because it is no
//! longer live (disabled, expired, a strong link killed or capped; not one that has
//! yet to start), then the host's `fallback:<host>` record (read only then).

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::join;
use serde::Serialize;

use crate::cache::{CachedLink, IsolateCache};
use crate::error::Error;
use crate::pattern::Captures;
use crate::record::{parse_link_record, LinkRecord};
use crate::key::fallback_key;
use crate::rules::{parse_rules, Rule, RuleMatch};
use crate::ryw::Refresh;
use crate::store::{RouteReads, StrongLinks, StrongMode, WriteView, MAX_KEY_BYTES};
use crate::strong::msg::StrongAnswer;

/// Where the answering record came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Exact,
    Rule { index: usize, from: String, captures: Captures },
    /// The `fallback` of a record that is no longer live (answered as a plain 302).
    Fallback,
    /// A host's `fallback:<host>` (or `fallback:*`) record: the host's unknown paths.
    HostFallback,
}

impl Source {
    /// Whether the answer is a fallback (click outcome `fallback`).
    pub fn is_fallback(&self) -> bool {
        matches!(self, Source::Fallback | Source::HostFallback)
    }
}

/// The record that answered, and the KV key it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub key: String,
    pub source: Source,
    /// Shared with the isolate cache: a hit costs no copy of the record.
    pub record: Rc<LinkRecord>,
    /// The answer rests on strong-link state the worker may take back at any moment
    /// (this record is strong, or the lookup went past a strong link that is absent
    /// now: killed or capped): no cache may keep it.
    pub revocable: bool,
    /// When a record the lookup went past starts (Unix ms): from then the answer
    /// changes, so no cache may keep it longer.
    pub changes_at_ms: Option<i64>,
}

impl Found {
    /// The id reported in click events: the record's `id`, else its key, and for a
    /// rule its key and index (`rules:old.example.com[2]`).
    pub fn route_id(&self) -> String {
        match (&self.record.id, &self.source) {
            (Some(id), _) => id.clone(),
            (None, Source::Exact | Source::Fallback | Source::HostFallback) => self.key.clone(),
            (None, Source::Rule { index, .. }) => format!("{}[{index}]", self.key),
        }
    }
}

/// One lookup step, as `explain` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub key: String,
    pub result: String,
}

/// Names of the four steps, in lookup order.
pub const STEPS: [&str; 4] = ["exact host", "exact any host", "rules host", "rules any host"];
/// Names of the fallback steps, taken only when the four steps found nothing.
pub const FALLBACK_STEPS: [&str; 2] = ["record fallback", "host fallback"];

/// The KV key of step `i` (0-3) for a canonical host and path.
pub fn step_key(i: usize, host: &str, path: &str) -> String {
    match i {
        0 => [host, path].concat(),
        1 => ["*", path].concat(),
        2 => ["rules:", host].concat(),
        _ => "rules:*".to_string(),
    }
}

/// Run the lookup steps against `store` (through the isolate `cache`) at `now_ms`.
/// With `trace`, every step taken is recorded for explain (ordinary requests pass
/// `None` and pay nothing for it). `mode` says whether strong links count the click
/// (a redirect) or only say what they would answer (explain).
///
/// When the isolate's view of the location's latest admin write is due for a re-read
/// ([`crate::ryw`]): while the view is still fresh, the read runs alongside the steps
/// (no added latency) and is applied after them; once it is stale (after an idle
/// spell), the read comes first, so the cache is never trusted on a stale view.
pub async fn lookup<S: RouteReads + WriteView + StrongLinks>(
    store: &S,
    cache: &RefCell<IsolateCache>,
    host: &str,
    path: &str,
    now_ms: i64,
    mode: StrongMode,
    trace: Option<&mut Vec<Step>>,
) -> Result<Option<Found>, Error> {
    let due = cache.borrow_mut().marker.refresh_due(now_ms);
    let at = Lookup { store, cache, now_ms, mode };
    match due {
        Refresh::No => steps(&at, host, path, trace).await,
        Refresh::Ahead => join(steps(&at, host, path, trace), read_marker(store, cache, now_ms)).await.0,
        Refresh::Now => {
            read_marker(store, cache, now_ms).await;
            steps(&at, host, path, trace).await
        }
    }
}

/// What every step needs.
struct Lookup<'a, S> {
    store: &'a S,
    cache: &'a RefCell<IsolateCache>,
    now_ms: i64,
    mode: StrongMode,
}

async fn steps<S: RouteReads + StrongLinks>(
    at: &Lookup<'_, S>,
    host: &str,
    path: &str,
    mut trace: Option<&mut Vec<Step>>,
) -> Result<Option<Found>, Error> {
    let tracing = trace.is_some();
    let mut past_strong = false;
    let mut changes_at_ms: Option<i64> = None;
    // The first record passed because it ended, if it names a fallback.
    let mut ended: Option<Found> = None;
    for (i, step) in STEPS.into_iter().enumerate() {
        let key = step_key(i, host, path);
        let mut note = |key: &str, result: String| {
            if let Some(steps) = trace.as_deref_mut() {
                steps.push(Step { step, key: key.to_string(), result });
            }
        };
        if key.len() > MAX_KEY_BYTES {
            note(&key, "skipped: longer than KV's 512-byte key limit".into());
            continue;
        }
        let found = if i < 2 { exact(at, key).await } else { rule(at, key, path).await };
        match found {
            Ok(Outcome::Found(mut found)) => {
                found.revocable |= past_strong;
                found.changes_at_ms = [found.changes_at_ms, changes_at_ms].into_iter().flatten().min();
                if tracing {
                    let result = match &found.source {
                        Source::Exact | Source::Fallback | Source::HostFallback => "matched".into(),
                        Source::Rule { index, from, .. } => format!("matched rule [{index}] {from}"),
                    };
                    note(&found.key, result);
                }
                return Ok(Some(found));
            }
            Ok(Outcome::Absent(key, why)) => note(&key, why.into_owned()),
            Ok(Outcome::Ended(key, why, fallback)) => {
                past_strong |= fallback.revocable;
                note(&key, format!("{why}; fallback {}", fallback.record.to));
                ended = ended.or(Some(fallback));
            }
            Ok(Outcome::NotStarted(key, starts_ms)) => {
                changes_at_ms = Some(changes_at_ms.map_or(starts_ms, |at| at.min(starts_ms)));
                note(&key, "present but not started (starts)".into());
            }
            Ok(Outcome::AbsentUntil(key, why, starts_ms)) => {
                changes_at_ms = Some(changes_at_ms.map_or(starts_ms, |at| at.min(starts_ms)));
                note(&key, why);
            }
            Ok(Outcome::StrongAbsent(key, why)) => {
                past_strong = true;
                note(&key, format!("strong: {why}"));
            }
            Err(e) => {
                note(&step_key(i, host, path), format!("error: {e}"));
                return Err(e);
            }
        }
    }
    let mut note = |step: &'static str, key: &str, result: String| {
        if let Some(steps) = trace.as_deref_mut() {
            steps.push(Step { step, key: key.to_string(), result });
        }
    };
    if let Some(mut found) = ended {
        found.revocable |= past_strong;
        found.changes_at_ms = changes_at_ms;
        note(FALLBACK_STEPS[0], &found.key, format!("redirect to {}", found.record.to));
        return Ok(Some(found));
    }
    let key = fallback_key(host);
    let (key, why) = match exact(at, key).await? {
        Outcome::Found(mut found) => {
            found.source = Source::HostFallback;
            found.revocable |= past_strong;
            found.changes_at_ms = [found.changes_at_ms, changes_at_ms].into_iter().flatten().min();
            note(FALLBACK_STEPS[1], &found.key, "matched".into());
            return Ok(Some(found));
        }
        Outcome::Absent(key, why) | Outcome::Ended(key, why, _) => (key, why.into_owned()),
        Outcome::StrongAbsent(key, why) => (key, why),
        Outcome::NotStarted(key, _) | Outcome::AbsentUntil(key, _, _) => (key, "present but not started (starts)".into()),
    };
    note(FALLBACK_STEPS[1], &key, why);
    Ok(None)
}

/// Read the location's write marker and apply it: a write this isolate had not seen
/// drops its cache.
async fn read_marker<S: WriteView>(store: &S, cache: &RefCell<IsolateCache>, now_ms: i64) {
    let seen = store.last_write().await;
    let mut cache = cache.borrow_mut();
    match seen {
        Ok(last_write) => {
            if cache.marker.observed(now_ms, last_write) {
                cache.clear();
            }
        }
        // Serve on: cached entries are bounded by their lifetime, KV reads check pins.
        Err(_) => cache.marker.refresh_failed(),
    }
}

// Lives for one step on the stack; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Found(Found),
    /// The key, and why it did not answer.
    Absent(String, Cow<'static, str>),
    /// A strong link the authority says is absent now (killed, capped, deleted).
    StrongAbsent(String, String),
    /// A record that starts later (Unix ms).
    NotStarted(String, i64),
    /// Absent, but a record here starts later (Unix ms).
    AbsentUntil(String, String, i64),
    /// A record that is no longer live and names a fallback: the key, why, and the
    /// answer the fallback gives should nothing later in the lookup answer.
    Ended(String, Cow<'static, str>, Found),
}

async fn exact<S: RouteReads + StrongLinks>(at: &Lookup<'_, S>, key: String) -> Result<Outcome, Error> {
    let Lookup { store, cache, now_ms, mode } = *at;
    // Never hold the RefCell across an await: an isolate serves requests concurrently.
    let (cached, generation) = {
        let cache = cache.borrow();
        (cache.links.get(&key, now_ms), cache.generation())
    };
    let link = match cached {
        Some(Some(link)) => Some(link),
        // A cached miss may have been created since in this location: ask the pin.
        Some(None) => match store.pinned(&key).await {
            Some(value) => remember(cache, &key, value, now_ms, generation),
            None => None,
        },
        None => {
            let pins = cache.borrow().marker.check(now_ms);
            let raw = store.get(&key, pins).await.map_err(Error::StoreUnavailable)?;
            remember(cache, &key, raw, now_ms, generation)
        }
    };
    let Some(link) = link else {
        return Ok(Outcome::Absent(key, "absent".into()));
    };
    let mut record = match &link.record {
        Ok(record) => Rc::clone(record),
        Err(error) => return Err(Error::InvalidRecord { key, error: error.clone() }),
    };
    if record.strong {
        // The Durable Object's answer wins over KV's: it may hold a newer record (a
        // kill switch) and it counts clicks against max_clicks exactly.
        match store.strong(&key, &link.raw, mode).await {
            Ok(StrongAnswer::Serve(authoritative)) => match parse_link_record(&authoritative) {
                Ok(r) => record = Rc::new(r),
                Err(error) => return Err(Error::InvalidRecord { key, error }),
            },
            Ok(StrongAnswer::Absent(why)) => {
                // Killed or capped: the fallback named in the record KV holds.
                return Ok(match ended_with_fallback(&key, &record, true) {
                    Some(found) => Outcome::Ended(key, format!("strong: {why}").into(), found),
                    None => Outcome::StrongAbsent(key, why),
                });
            }
            Err(_) => return Err(Error::StrongUnavailable { key }),
        }
    }
    if !record.is_live(now_ms) {
        if let Some(starts) = record.starts_ms.filter(|s| now_ms < *s && record.enabled) {
            return Ok(Outcome::NotStarted(key, starts));
        }
        let why = not_live(&record, now_ms);
        return Ok(match ended_with_fallback(&key, &record, record.strong) {
            Some(found) => Outcome::Ended(key, why.into(), found),
            None => Outcome::Absent(key, why.into()),
        });
    }
    let revocable = record.strong;
    Ok(Outcome::Found(Found { key, source: Source::Exact, record, revocable, changes_at_ms: None }))
}

/// Cache what a read found (unless the cache was dropped while it was in flight,
/// see [`IsolateCache::generation`]) and return it.
fn remember(cache: &RefCell<IsolateCache>, key: &str, raw: Option<String>, now_ms: i64, generation: u64) -> Option<Rc<CachedLink>> {
    let link = raw.map(|raw| Rc::new(CachedLink::parse(raw)));
    cache.borrow_mut().insert_link(key, link.clone(), now_ms, generation);
    link
}

/// The answer a record's `fallback` gives once the record has ended (it is not
/// live, and not because it has yet to start): a plain 302 to the fallback, with
/// the record's `forward_query` and `id`.
fn ended_with_fallback(key: &str, record: &LinkRecord, revocable: bool) -> Option<Found> {
    let fallback = LinkRecord { forward_query: record.forward_query, id: record.id.clone(), ..LinkRecord::plain(record.fallback.clone()?) };
    Some(Found { key: key.to_string(), source: Source::Fallback, record: Rc::new(fallback), revocable, changes_at_ms: None })
}

fn not_live(record: &LinkRecord, now_ms: i64) -> &'static str {
    if !record.enabled {
        "present but disabled (enabled: false)"
    } else if record.starts_ms.is_some_and(|s| now_ms < s) {
        "present but not started (starts)"
    } else {
        "present but expired (expires)"
    }
}

async fn rule<S: RouteReads>(at: &Lookup<'_, S>, key: String, path: &str) -> Result<Outcome, Error> {
    let Lookup { store, cache, now_ms, .. } = *at;
    // Never hold the RefCell across the await: an isolate serves requests concurrently.
    let (cached, generation) = {
        let cache = cache.borrow();
        (cache.rules.get(&key, now_ms), cache.generation())
    };
    let rules = match cached {
        Some(rules) => rules,
        None => {
            let pins = cache.borrow().marker.check(now_ms);
            let raw = store.get(&key, pins).await.map_err(Error::StoreUnavailable)?;
            let parsed = raw.map(|r| Rc::new(parse_rules(&r)));
            cache.borrow_mut().insert_rules(&key, parsed.clone(), now_ms, generation);
            parsed
        }
    };
    let Some(rules) = rules else { return Ok(Outcome::Absent(key, "absent".into())) };
    let set = match rules.as_ref() {
        Ok(set) => set,
        Err(error) => return Err(Error::InvalidRecord { key, error: error.clone() }),
    };
    match set.first_match(path, now_ms) {
        RuleMatch::Hit { index, from, record, captures, skipped } => Ok(Outcome::Found(Found {
            source: Source::Rule { index, from: from.to_string(), captures },
            record: Rc::clone(record),
            revocable: false,
            changes_at_ms: set.next_start(&skipped, now_ms),
            key,
        })),
        RuleMatch::Invalid { error, .. } => Err(Error::InvalidRecord { key, error: error.clone() }),
        RuleMatch::Miss { skipped } if skipped.is_empty() => {
            let why = format!("{} rules, none matched", set.rules.len());
            Ok(Outcome::Absent(key, why.into()))
        }
        RuleMatch::Miss { skipped } => {
            let why = format!("{} rules; matched but not live: {skipped:?}", set.rules.len());
            let ended = skipped.iter().find_map(|&i| match &set.rules[i] {
                Rule::Valid { record, .. } if record.starts_ms.is_none_or(|s| now_ms >= s) || !record.enabled => {
                    ended_with_fallback(&key, record, false).map(|mut found| {
                        found.key = format!("{key}[{i}]");
                        found
                    })
                }
                _ => None,
            });
            if let Some(found) = ended {
                return Ok(Outcome::Ended(key, why.into(), found));
            }
            match set.next_start(&skipped, now_ms) {
                Some(at) => Ok(Outcome::AbsentUntil(key, why, at)),
                None => Ok(Outcome::Absent(key, why.into())),
            }
        }
    }
}
