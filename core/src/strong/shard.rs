//! A host's shard (`shard:<host>`): the single writer of its keys' records, and the
//! write-through of those records to KV and to the strong links' counters.
//!
//! Everything here is synchronous over a [`ShardStore`] (the object's SQLite storage;
//! in tests, memory). Durable Objects commit all storage writes made without an
//! intervening `await` as one transaction, so each request below is all or nothing
//! in the object's storage. The slow, failing parts (KV writes, pushes to counters)
//! are queued in the same transaction and carried out afterwards by [`Shard::drain`],
//! in batches that fit one invocation's limits, with retries.
//!
//! The state machine, per key: a write sets the record (`None`: a tombstone, so a
//! stale KV copy is never adopted again) at the shard's next version and queues a KV
//! write of that version, and a counter update if a counter has adopted the key. A
//! queued task is done when its version is written; a newer write replaces it (so a
//! key is written to KV once per drain, whatever the number of writes before it, and
//! never more than once a second: [`KV_WRITE_SPACING_MS`]). A failed task is retried
//! with backoff ([`retry_delay_ms`]) and reported by [`Shard::status`] until done.
//!
//! Bulks across shards are two-phase: each shard stages its part ([`Shard::prepare`]),
//! then the coordinator (the first shard) commits, which decides the bulk, then the
//! others. A shard left with a staged bulk past its deadline asks the coordinator
//! ([`Recovery`]); the coordinator aborts its own undecided bulks at the deadline.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::key::shard_of;
use crate::strong::msg::{KeyWrite, ReadAnswer, StatusAnswer, TxnOutcome, WriteAnswer};

/// Most KV writes and counter pushes one invocation makes (KV allows 1 000
/// operations per invocation; the rest is headroom for the request itself).
pub const DRAIN_BATCH: usize = 500;
/// Most tasks done inline, before a write's answer (the rest go to the alarm).
pub const INLINE_DRAIN: usize = 100;
/// KV accepts one write per second per key.
pub const KV_WRITE_SPACING_MS: i64 = 1_000;
/// How long a shard remembers a decided bulk (for late commits, aborts and
/// questions from shards in doubt): long past any outage a shard in doubt could
/// sit out, since an unknown bulk is answered "aborted".
pub const TXN_MEMORY_MS: i64 = 7 * 24 * 3_600_000;
/// How long a drain holds the tasks it carries out (no other drain takes them
/// meanwhile; if the object dies mid-drain, they are taken again after it).
pub const LEASE_MS: i64 = 60_000;
/// How often a shard in doubt asks an unreachable or undecided coordinator.
pub const ASK_EVERY_MS: i64 = 5_000;

/// What a shard stores per key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The record text; `None` is a tombstone.
    pub value: Option<String>,
    pub version: u64,
    /// A strong link's counter has adopted this key: writes are pushed to it.
    pub linked: bool,
    /// When this key was last written to KV (for KV's one write per second).
    pub kv_written_ms: Option<i64>,
}

/// Where a queued task goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Kv,
    Link,
}

/// A queued write-through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub target: Target,
    pub key: String,
    /// The record version to write.
    pub version: u64,
    pub attempts: u32,
    pub not_before_ms: i64,
    pub queued_ms: i64,
    /// A drain is carrying it out until then (0: none). A newer write of the key
    /// keeps the lease, so the two never race each other to KV.
    pub lease_until_ms: i64,
}

/// The queue at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSummary {
    pub kv: u64,
    pub link: u64,
    /// When the oldest task was queued.
    pub oldest_queued_ms: Option<i64>,
    /// The earliest time a task can be taken (its `not_before`, or its lease's end).
    pub next_due_ms: Option<i64>,
}

/// A staged bulk's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnState {
    Open,
    Committed,
    Aborted,
}

/// A staged bulk as a shard keeps it (its writes are kept apart, see [`ShardStore`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub state: TxnState,
    pub coordinator: String,
    pub deadline_ms: i64,
    /// When it was decided (for forgetting it after [`TXN_MEMORY_MS`]).
    pub decided_ms: Option<i64>,
    /// A shard in doubt asks the coordinator again no sooner than this.
    pub next_ask_ms: Option<i64>,
}

/// The shard's storage: synchronous, as a Durable Object's SQLite storage is.
pub trait ShardStore {
    fn record(&self, key: &str) -> Result<Option<Stored>, StoreError>;
    fn put_record(&mut self, key: &str, stored: &Stored) -> Result<(), StoreError>;
    fn version(&self) -> Result<u64, StoreError>;
    fn set_version(&mut self, version: u64) -> Result<(), StoreError>;
    fn last_error(&self) -> Result<Option<String>, StoreError>;
    fn set_last_error(&mut self, error: Option<&str>) -> Result<(), StoreError>;
    /// Queue a task, replacing any task for the same target and key.
    fn enqueue(&mut self, task: &Task) -> Result<(), StoreError>;
    /// Remove the task for `target` and `key` if it is still for `version`.
    fn dequeue(&mut self, target: Target, key: &str, version: u64) -> Result<(), StoreError>;
    /// Up to `limit` tasks due and not leased at `now_ms`: counter updates first,
    /// then oldest first.
    fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Task>, StoreError>;
    /// Counts and times over the whole queue, computed by the store (one query), not
    /// by reading every task.
    fn queue_summary(&self) -> Result<QueueSummary, StoreError>;
    /// The queued task for `target` and `key`.
    fn task(&self, target: Target, key: &str) -> Result<Option<Task>, StoreError>;
    fn txn(&self, id: &str) -> Result<Option<Txn>, StoreError>;
    fn put_txn(&mut self, id: &str, txn: &Txn) -> Result<(), StoreError>;
    fn forget_txn(&mut self, id: &str) -> Result<(), StoreError>;
    fn txns(&self) -> Result<Vec<(String, Txn)>, StoreError>;
    fn stage(&mut self, id: &str, write: &KeyWrite) -> Result<(), StoreError>;
    fn staged(&self, id: &str) -> Result<Vec<KeyWrite>, StoreError>;
    /// The open bulk that has staged `key`, if any.
    fn staged_by(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn unstage(&mut self, id: &str) -> Result<(), StoreError>;
}

/// Why a shard refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardError {
    Storage(StoreError),
    /// A key is staged by another open bulk.
    Conflict { key: String, txn: String },
    /// The bulk is not in a state that allows this (e.g. commit after abort).
    Txn { txn: String, state: &'static str },
    /// A message that does not belong to this shard.
    WrongShard(String),
}

impl std::fmt::Display for ShardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShardError::Storage(e) => e.fmt(f),
            ShardError::Conflict { key, txn } => write!(f, "{key} is staged by bulk {txn}"),
            ShardError::Txn { txn, state } => write!(f, "bulk {txn} is {state}"),
            ShardError::WrongShard(key) => write!(f, "{key} does not belong to this shard"),
        }
    }
}

impl From<StoreError> for ShardError {
    fn from(e: StoreError) -> Self {
        ShardError::Storage(e)
    }
}

/// A task to carry out, with the record it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub task: Task,
    /// The record's current text (`None`: delete) and version: normally the task's
    /// own; if a newer write raced ahead, the newer one (its own task follows).
    pub value: Option<String>,
    pub version: u64,
}

/// What a shard in doubt does about an open bulk past its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Ask the coordinator ([`crate::strong::msg::ShardRequest::Decision`]), then call
    /// [`Shard::resolve`] with its answer.
    Ask { txn: String, coordinator: String },
}

/// Delay before retry `attempts` (1, 2, ...) of a failed task: 1 s doubling to 60 s.
pub fn retry_delay_ms(attempts: u32) -> i64 {
    1_000i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(6)).min(60_000)
}

/// Where the queued work goes: KV, and the strong links' counters.
#[allow(async_fn_in_trait)]
pub trait Outbound {
    /// Write `value` at `key` in KV (`None`: delete).
    async fn kv_write(&self, key: &str, value: Option<&str>) -> Result<(), String>;
    /// Tell the counter of the strong link at `key` its record changed.
    async fn link_update(&self, key: &str, value: Option<&str>, version: u64) -> Result<(), String>;
    /// The time now (Unix ms), read when the work is done.
    fn now_ms(&self) -> i64;
}

/// One invocation's share of the queue: up to `limit` due tasks, taken (leased),
/// carried out together, then recorded. Returns how many tasks were tried.
pub async fn drain<S: ShardStore, O: Outbound>(shard: &RefCell<Shard<S>>, out: &O, limit: usize) -> Result<usize, StoreError> {
    let work = shard.borrow_mut().work(out.now_ms(), limit)?;
    let tried = work.len();
    carry_out(shard, out, work).await?;
    Ok(tried)
}

/// Carry out tasks already taken ([`Shard::work`], [`Shard::work_for`]) together,
/// then record how each went; how many failed. The shard is never borrowed across
/// an await (the object keeps serving other requests meanwhile).
pub async fn carry_out<S: ShardStore, O: Outbound>(shard: &RefCell<Shard<S>>, out: &O, work: Vec<Work>) -> Result<usize, StoreError> {
    let results = join_all(work.iter().map(|w| async move {
        match w.task.target {
            Target::Kv => out.kv_write(&w.task.key, w.value.as_deref()).await,
            Target::Link => out.link_update(&w.task.key, w.value.as_deref(), w.version).await,
        }
    }))
    .await;
    let now_ms = out.now_ms();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let mut shard = shard.borrow_mut();
    for (w, result) in work.iter().zip(results) {
        shard.done(w, result, now_ms)?;
    }
    shard.settle()?;
    Ok(failed)
}

/// The shard state machine over its storage.
pub struct Shard<S> {
    pub store: S,
}

impl<S: ShardStore> Shard<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// Apply `writes` (validated by the worker) at the next version; queue their
    /// write-through.
    pub fn write(&mut self, writes: &[KeyWrite], now_ms: i64) -> Result<(), ShardError> {
        self.check_owned(writes)?;
        for w in writes {
            if let Some(txn) = self.store.staged_by(&w.key)? {
                return Err(ShardError::Conflict { key: w.key.clone(), txn });
            }
        }
        self.apply(writes, now_ms)?;
        Ok(())
    }

    fn check_owned(&self, writes: &[KeyWrite]) -> Result<(), ShardError> {
        let Some(first) = writes.first() else { return Ok(()) };
        let shard = shard_of(&first.key);
        match writes.iter().find(|w| shard_of(&w.key) != shard) {
            Some(w) => Err(ShardError::WrongShard(w.key.clone())),
            None => Ok(()),
        }
    }

    fn apply(&mut self, writes: &[KeyWrite], now_ms: i64) -> Result<u64, StoreError> {
        let version = self.store.version()? + 1;
        for w in writes {
            let previous = self.store.record(&w.key)?.unwrap_or_default();
            let stored = Stored { value: w.value.clone(), version, ..previous.clone() };
            self.store.put_record(&w.key, &stored)?;
            let spaced = previous.kv_written_ms.map_or(now_ms, |at| at + KV_WRITE_SPACING_MS);
            let mut targets = vec![(Target::Kv, spaced.max(now_ms))];
            if previous.linked {
                targets.push((Target::Link, now_ms));
            }
            for (target, not_before_ms) in targets {
                // A task a drain is carrying out keeps its lease: this newer one
                // follows when that one is done.
                let lease_until_ms = self.store.task(target, &w.key)?.map_or(0, |t| t.lease_until_ms);
                let task = Task { target, key: w.key.clone(), version, attempts: 0, not_before_ms, queued_ms: now_ms, lease_until_ms };
                self.store.enqueue(&task)?;
            }
        }
        self.store.set_version(version)?;
        Ok(version)
    }

    /// The authoritative copy of `key`.
    pub fn read(&self, key: &str) -> Result<ReadAnswer, ShardError> {
        Ok(match self.store.record(key)? {
            Some(s) => ReadAnswer { known: true, value: s.value, version: s.version },
            None => ReadAnswer::default(),
        })
    }

    /// A strong link's counter adopts the key: the shard's copy, or KV's when the
    /// shard has none (stored at a new version; KV already has it). Either way, later
    /// writes of the key are pushed to the counter.
    pub fn adopt(&mut self, key: &str, kv_value: &str) -> Result<ReadAnswer, ShardError> {
        let stored = match self.store.record(key)? {
            Some(s) if s.linked => s,
            Some(s) => {
                let s = Stored { linked: true, ..s };
                self.store.put_record(key, &s)?;
                s
            }
            None => {
                let version = self.store.version()? + 1;
                let s = Stored { value: Some(kv_value.to_string()), version, linked: true, kv_written_ms: None };
                self.store.put_record(key, &s)?;
                self.store.set_version(version)?;
                s
            }
        };
        Ok(ReadAnswer { known: true, value: stored.value, version: stored.version })
    }

    /// Take up to `limit` tasks due at `now_ms`, each with the record it carries,
    /// and lease them ([`LEASE_MS`]) in the same step, so that no other drain of
    /// this object (a write's, the alarm's) takes them meanwhile.
    pub fn work(&mut self, now_ms: i64, limit: usize) -> Result<Vec<Work>, StoreError> {
        let tasks = self.store.due(now_ms, limit)?;
        self.lease(tasks, now_ms)
    }

    /// Take the tasks of `target` for `keys` that are not leased, whenever they are
    /// due: a write's own counter updates go out before its answer, ahead of the
    /// queue.
    pub fn work_for(&mut self, target: Target, keys: &[&str], now_ms: i64) -> Result<Vec<Work>, StoreError> {
        let mut tasks = Vec::new();
        for key in keys {
            if let Some(t) = self.store.task(target, key)?.filter(|t| t.lease_until_ms <= now_ms) {
                tasks.push(t);
            }
        }
        self.lease(tasks, now_ms)
    }

    fn lease(&mut self, tasks: Vec<Task>, now_ms: i64) -> Result<Vec<Work>, StoreError> {
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            let task = Task { lease_until_ms: now_ms + LEASE_MS, ..task };
            self.store.enqueue(&task)?;
            let (value, version) = self.store.record(&task.key)?.map_or((None, task.version), |s| (s.value, s.version));
            out.push(Work { task, value, version });
        }
        Ok(out)
    }

    /// Record how a task went: done, or to be retried with backoff. A newer write
    /// that arrived meanwhile (its task kept the lease) is released to go next, a
    /// second after a KV write of the key.
    pub fn done(&mut self, work: &Work, result: Result<(), String>, now_ms: i64) -> Result<(), StoreError> {
        let task = &work.task;
        let Some(current) = self.store.task(task.target, &task.key)? else { return Ok(()) };
        if current.lease_until_ms != task.lease_until_ms {
            // Our lease ran out (a call slower than LEASE_MS) and another drain has
            // the task in hand: it finishes it. (Should our late KV write land after
            // that drain's, KV holds an older value until the key's next write: the
            // one case the lease cannot rule out.)
            return Ok(());
        }
        let newer = current.version > work.version;
        let wrote_kv = result.is_ok() && task.target == Target::Kv;
        if wrote_kv {
            if let Some(s) = self.store.record(&task.key)? {
                self.store.put_record(&task.key, &Stored { kv_written_ms: Some(now_ms), ..s })?;
            }
        }
        match result {
            Ok(()) if !newer => self.store.dequeue(task.target, &task.key, current.version)?,
            Ok(()) => {
                let not_before_ms = if wrote_kv { current.not_before_ms.max(now_ms + KV_WRITE_SPACING_MS) } else { current.not_before_ms };
                self.store.enqueue(&Task { lease_until_ms: 0, not_before_ms, ..current })?;
            }
            Err(e) => {
                let retry = if newer {
                    Task { lease_until_ms: 0, ..current }
                } else {
                    let attempts = current.attempts + 1;
                    Task { attempts, not_before_ms: now_ms + retry_delay_ms(attempts), lease_until_ms: 0, ..current }
                };
                self.store.enqueue(&retry)?;
                self.store.set_last_error(Some(&format!("{:?} {}: {e}", task.target, task.key)))?;
            }
        }
        Ok(())
    }

    /// When the object must wake up next: the earliest queued task (or lease end),
    /// open bulk deadline (or next question), or decided bulk to forget.
    pub fn next_alarm(&self) -> Result<Option<i64>, StoreError> {
        let tasks = self.store.queue_summary()?.next_due_ms;
        let txns = self.store.txns()?.into_iter().map(|(_, t)| match t.decided_ms {
            Some(at) => at + TXN_MEMORY_MS,
            None => t.deadline_ms.max(t.next_ask_ms.unwrap_or(0)),
        });
        Ok(tasks.into_iter().chain(txns).min())
    }

    /// After a batch: the last failure is forgotten once the queue is empty.
    pub fn settle(&mut self) -> Result<(), StoreError> {
        let q = self.store.queue_summary()?;
        if q.kv + q.link == 0 && self.store.last_error()?.is_some() {
            self.store.set_last_error(None)?;
        }
        Ok(())
    }

    /// How far the write-through has got.
    pub fn status(&self) -> Result<StatusAnswer, StoreError> {
        let q = self.store.queue_summary()?;
        let open = self.store.txns()?.iter().filter(|(_, t)| t.state == TxnState::Open).count() as u64;
        Ok(StatusAnswer {
            version: self.store.version()?,
            kv_pending: q.kv,
            links_pending: q.link,
            oldest_pending_ms: q.oldest_queued_ms,
            last_error: self.store.last_error()?,
            open_txns: open,
        })
    }

    /// How many of `keys` still have a task for `target` (a write's own counter
    /// updates not yet taken, for its answer).
    pub fn pending_for(&self, target: Target, keys: &[String]) -> Result<u64, StoreError> {
        let mut n = 0;
        for key in keys {
            n += u64::from(self.store.task(target, key)?.is_some());
        }
        Ok(n)
    }

    /// What a write or commit left to do.
    pub fn pending(&self) -> Result<WriteAnswer, ShardError> {
        let s = self.status()?;
        Ok(WriteAnswer { version: s.version, kv_pending: s.kv_pending, links_pending: s.links_pending })
    }

    /// Stage this shard's part of a bulk across shards; nothing is visible yet.
    pub fn prepare(&mut self, id: &str, coordinator: &str, writes: &[KeyWrite], deadline_ms: i64) -> Result<(), ShardError> {
        self.check_owned(writes)?;
        match self.store.txn(id)? {
            Some(t) if t.state == TxnState::Open => return Ok(()),
            Some(t) => return Err(ShardError::Txn { txn: id.into(), state: state_name(t.state) }),
            None => {}
        }
        for w in writes {
            if let Some(txn) = self.store.staged_by(&w.key)? {
                return Err(ShardError::Conflict { key: w.key.clone(), txn });
            }
        }
        for w in writes {
            self.store.stage(id, w)?;
        }
        let txn = Txn { state: TxnState::Open, coordinator: coordinator.into(), deadline_ms, decided_ms: None, next_ask_ms: None };
        self.store.put_txn(id, &txn)?;
        Ok(())
    }

    /// Apply a staged bulk (idempotent once committed).
    pub fn commit(&mut self, id: &str, now_ms: i64) -> Result<(), ShardError> {
        let Some(txn) = self.store.txn(id)? else {
            return Err(ShardError::Txn { txn: id.into(), state: "unknown" });
        };
        match txn.state {
            TxnState::Committed => return Ok(()),
            TxnState::Aborted => return Err(ShardError::Txn { txn: id.into(), state: "aborted" }),
            TxnState::Open => {}
        }
        let writes = self.store.staged(id)?;
        self.store.unstage(id)?;
        self.apply(&writes, now_ms)?;
        self.store.put_txn(id, &Txn { state: TxnState::Committed, decided_ms: Some(now_ms), ..txn })?;
        Ok(())
    }

    /// Drop a staged bulk, unless it has committed here: the answer says which. A
    /// bulk this shard never saw is remembered as aborted, so a late prepare of it is
    /// refused.
    pub fn abort(&mut self, id: &str, now_ms: i64) -> Result<TxnOutcome, ShardError> {
        match self.store.txn(id)? {
            Some(t) if t.state == TxnState::Committed => Ok(TxnOutcome::Committed),
            Some(t) if t.state == TxnState::Aborted => Ok(TxnOutcome::Aborted),
            found => {
                self.store.unstage(id)?;
                let (coordinator, deadline_ms) = found.map_or((String::new(), now_ms), |t| (t.coordinator, t.deadline_ms));
                let txn = Txn { state: TxnState::Aborted, coordinator, deadline_ms, decided_ms: Some(now_ms), next_ask_ms: None };
                self.store.put_txn(id, &txn)?;
                Ok(TxnOutcome::Aborted)
            }
        }
    }

    /// The coordinator's answer to a shard in doubt. An open bulk past its deadline
    /// is aborted here first: the coordinator's state is the decision.
    pub fn decision(&mut self, id: &str, now_ms: i64) -> Result<TxnOutcome, ShardError> {
        Ok(match self.store.txn(id)? {
            Some(t) if t.state == TxnState::Committed => TxnOutcome::Committed,
            Some(t) if t.state == TxnState::Open && now_ms < t.deadline_ms => TxnOutcome::Open,
            _ => self.abort(id, now_ms)?,
        })
    }

    /// The alarm's housekeeping for bulks: forget decided ones after
    /// [`TXN_MEMORY_MS`]; abort this shard's own undecided ones past their deadline
    /// (when it is the coordinator); and list the others to ask about.
    pub fn recover(&mut self, this_shard: &str, now_ms: i64) -> Result<Vec<Recovery>, ShardError> {
        let mut ask = Vec::new();
        for (id, txn) in self.store.txns()? {
            match (txn.state, txn.decided_ms) {
                (_, Some(at)) if now_ms >= at + TXN_MEMORY_MS => self.store.forget_txn(&id)?,
                (TxnState::Open, _) if now_ms >= txn.deadline_ms => {
                    if txn.coordinator == this_shard {
                        self.abort(&id, now_ms)?;
                    } else if txn.next_ask_ms.is_none_or(|at| now_ms >= at) {
                        // Ask now; unless the answer settles it, again in a while.
                        self.store.put_txn(&id, &Txn { next_ask_ms: Some(now_ms + ASK_EVERY_MS), ..txn.clone() })?;
                        ask.push(Recovery::Ask { txn: id, coordinator: txn.coordinator });
                    }
                }
                _ => {}
            }
        }
        Ok(ask)
    }

    /// Apply the coordinator's answer for a bulk this shard was in doubt about.
    pub fn resolve(&mut self, id: &str, outcome: TxnOutcome, now_ms: i64) -> Result<(), ShardError> {
        match outcome {
            TxnOutcome::Committed => self.commit(id, now_ms),
            TxnOutcome::Aborted => self.abort(id, now_ms).map(|_| ()),
            TxnOutcome::Open => Ok(()),
        }
    }
}

fn state_name(state: TxnState) -> &'static str {
    match state {
        TxnState::Open => "open",
        TxnState::Committed => "committed",
        TxnState::Aborted => "aborted",
    }
}

/// A [`ShardStore`] in memory: the native tests' shard, and a model of the SQLite one.
#[derive(Debug, Default, Clone)]
pub struct MemoryShardStore {
    pub records: BTreeMap<String, Stored>,
    pub version: u64,
    pub last_error: Option<String>,
    pub queue: BTreeMap<(Target, String), Task>,
    pub txns: BTreeMap<String, Txn>,
    pub staged: HashMap<String, Vec<KeyWrite>>,
}

impl ShardStore for MemoryShardStore {
    fn record(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        Ok(self.records.get(key).cloned())
    }
    fn put_record(&mut self, key: &str, stored: &Stored) -> Result<(), StoreError> {
        self.records.insert(key.into(), stored.clone());
        Ok(())
    }
    fn version(&self) -> Result<u64, StoreError> {
        Ok(self.version)
    }
    fn set_version(&mut self, version: u64) -> Result<(), StoreError> {
        self.version = version;
        Ok(())
    }
    fn last_error(&self) -> Result<Option<String>, StoreError> {
        Ok(self.last_error.clone())
    }
    fn set_last_error(&mut self, error: Option<&str>) -> Result<(), StoreError> {
        self.last_error = error.map(str::to_string);
        Ok(())
    }
    fn enqueue(&mut self, task: &Task) -> Result<(), StoreError> {
        self.queue.insert((task.target, task.key.clone()), task.clone());
        Ok(())
    }
    fn dequeue(&mut self, target: Target, key: &str, version: u64) -> Result<(), StoreError> {
        let k = (target, key.to_string());
        if self.queue.get(&k).is_some_and(|t| t.version == version) {
            self.queue.remove(&k);
        }
        Ok(())
    }
    fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Task>, StoreError> {
        let mut due: Vec<Task> = self.queue.values().filter(|t| t.not_before_ms <= now_ms && t.lease_until_ms <= now_ms).cloned().collect();
        due.sort_by_key(|t| (t.target != Target::Link, t.queued_ms, t.version));
        due.truncate(limit);
        Ok(due)
    }
    fn queue_summary(&self) -> Result<QueueSummary, StoreError> {
        let count = |target| self.queue.values().filter(|t| t.target == target).count() as u64;
        Ok(QueueSummary {
            kv: count(Target::Kv),
            link: count(Target::Link),
            oldest_queued_ms: self.queue.values().map(|t| t.queued_ms).min(),
            next_due_ms: self.queue.values().map(|t| t.not_before_ms.max(t.lease_until_ms)).min(),
        })
    }
    fn task(&self, target: Target, key: &str) -> Result<Option<Task>, StoreError> {
        Ok(self.queue.get(&(target, key.to_string())).cloned())
    }

    fn txn(&self, id: &str) -> Result<Option<Txn>, StoreError> {
        Ok(self.txns.get(id).cloned())
    }
    fn put_txn(&mut self, id: &str, txn: &Txn) -> Result<(), StoreError> {
        self.txns.insert(id.into(), txn.clone());
        Ok(())
    }
    fn forget_txn(&mut self, id: &str) -> Result<(), StoreError> {
        self.txns.remove(id);
        Ok(())
    }
    fn txns(&self) -> Result<Vec<(String, Txn)>, StoreError> {
        Ok(self.txns.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    fn stage(&mut self, id: &str, write: &KeyWrite) -> Result<(), StoreError> {
        self.staged.entry(id.into()).or_default().push(write.clone());
        Ok(())
    }
    fn staged(&self, id: &str) -> Result<Vec<KeyWrite>, StoreError> {
        Ok(self.staged.get(id).cloned().unwrap_or_default())
    }
    fn staged_by(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.staged.iter().find(|(_, ws)| ws.iter().any(|w| w.key == key)).map(|(id, _)| id.clone()))
    }
    fn unstage(&mut self, id: &str) -> Result<(), StoreError> {
        self.staged.remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_780_000_000_000;

    fn shard() -> Shard<MemoryShardStore> {
        Shard::new(MemoryShardStore::default())
    }

    fn put(key: &str, value: &str) -> KeyWrite {
        KeyWrite { key: key.into(), value: Some(value.into()) }
    }

    /// A KV that fails the writes whose ordinal is in `fail` (1-based), counting
    /// operations per drain call as the platform does per invocation.
    #[derive(Default)]
    struct Kv {
        data: HashMap<String, String>,
        writes: usize,
        fail: Vec<usize>,
        last_write_at: HashMap<String, i64>,
        too_fast: usize,
    }

    /// One invocation: carry out up to `limit` due tasks against `kv`.
    fn drain(shard: &mut Shard<MemoryShardStore>, kv: &mut Kv, now: i64, limit: usize) -> usize {
        let work = shard.work(now, limit).unwrap();
        for w in &work {
            let result = match w.task.target {
                Target::Kv => {
                    kv.writes += 1;
                    if kv.last_write_at.get(&w.task.key).is_some_and(|at| now - at < KV_WRITE_SPACING_MS) {
                        kv.too_fast += 1;
                    }
                    kv.last_write_at.insert(w.task.key.clone(), now);
                    if kv.fail.contains(&kv.writes) {
                        Err(format!("injected failure of write {}", kv.writes))
                    } else {
                        match &w.value {
                            Some(v) => kv.data.insert(w.task.key.clone(), v.clone()),
                            None => kv.data.remove(&w.task.key),
                        };
                        Ok(())
                    }
                }
                Target::Link => Ok(()),
            };
            shard.done(w, result, now).unwrap();
        }
        shard.settle().unwrap();
        work.len()
    }

    #[test]
    fn a_write_is_authoritative_at_once_and_reaches_kv_through_the_queue() {
        let mut s = shard();
        s.write(&[put("a.com/x", "\"https://e.com/1\"")], T).unwrap();
        let answer = s.pending().unwrap();
        assert_eq!((answer.version, answer.kv_pending), (1, 1));
        assert_eq!(s.read("a.com/x").unwrap().value.as_deref(), Some("\"https://e.com/1\""));
        let mut kv = Kv::default();
        assert_eq!(drain(&mut s, &mut kv, T, INLINE_DRAIN), 1);
        assert_eq!(kv.data["a.com/x"], "\"https://e.com/1\"");
        assert_eq!(s.status().unwrap().kv_pending, 0);
        assert_eq!(s.next_alarm().unwrap(), None);
        s.write(&[KeyWrite { key: "a.com/x".into(), value: None }], T + 5_000).unwrap();
        assert_eq!(s.read("a.com/x").unwrap(), ReadAnswer { known: true, value: None, version: 2 }, "a tombstone");
        drain(&mut s, &mut kv, T + 5_000, INLINE_DRAIN);
        assert!(!kv.data.contains_key("a.com/x"));
    }

    #[test]
    fn writes_in_quick_succession_reach_kv_once_a_second_newest_value_last() {
        let mut s = shard();
        let mut kv = Kv::default();
        s.write(&[put("a.com/x", "1")], T).unwrap();
        drain(&mut s, &mut kv, T, INLINE_DRAIN);
        s.write(&[put("a.com/x", "2")], T + 100).unwrap();
        s.write(&[put("a.com/x", "3")], T + 200).unwrap();
        assert_eq!(drain(&mut s, &mut kv, T + 300, INLINE_DRAIN), 0, "not before a second has passed");
        assert_eq!(s.next_alarm().unwrap(), Some(T + KV_WRITE_SPACING_MS));
        assert_eq!(drain(&mut s, &mut kv, T + KV_WRITE_SPACING_MS, INLINE_DRAIN), 1, "two writes, one KV write");
        assert_eq!(kv.data["a.com/x"], "3");
        assert_eq!(kv.too_fast, 0);
    }

    /// Bug: a bulk of up to 10 000 keys was one object request doing a KV get and put
    /// per key (KV allows 1 000 operations per invocation), and a KV failure midway
    /// was "rolled back" with errors ignored, leaving KV half-written.
    #[test]
    fn a_bulk_of_10000_keys_with_a_failing_write_reaches_kv_whole_within_the_limits() {
        let mut s = shard();
        let writes: Vec<KeyWrite> = (0..10_000).map(|i| put(&format!("a.com/k{i}"), &format!("\"https://e.com/{i}\""))).collect();
        s.write(&writes, T).unwrap();
        assert_eq!(s.pending().unwrap().kv_pending, 10_000);
        // Every key is authoritative at once, before any of it reaches KV.
        assert_eq!(s.read("a.com/k9999").unwrap().value.as_deref(), Some("\"https://e.com/9999\""));
        let mut kv = Kv { fail: vec![3, 777], ..Kv::default() };
        let mut now = T;
        let mut invocations = 0;
        assert_eq!(drain(&mut s, &mut kv, now, INLINE_DRAIN), INLINE_DRAIN);
        while let Some(at) = s.next_alarm().unwrap() {
            now = now.max(at);
            let done = drain(&mut s, &mut kv, now, DRAIN_BATCH);
            assert!(done <= DRAIN_BATCH, "one invocation stays within KV's operation limit");
            let status = s.status().unwrap();
            if status.kv_pending > 0 && kv.writes >= 777 && invocations < 30 {
                assert!(status.last_error.is_some(), "a failure is reported until the queue empties");
            }
            invocations += 1;
            assert!(invocations < 100, "the drain ends");
        }
        assert_eq!(kv.data.len(), 10_000, "every key reached KV, the failed ones on retry");
        assert_eq!(kv.data["a.com/k2"], "\"https://e.com/2\"");
        let status = s.status().unwrap();
        assert_eq!((status.kv_pending, status.last_error), (0, None));
        assert!(now - T >= retry_delay_ms(1), "the failed writes waited for their retry");
    }

    #[test]
    fn a_newer_write_replaces_a_failed_task_and_retries_back_off() {
        let mut s = shard();
        s.write(&[put("a.com/x", "1")], T).unwrap();
        let mut kv = Kv { fail: vec![1, 2], ..Kv::default() };
        drain(&mut s, &mut kv, T, INLINE_DRAIN);
        assert_eq!(s.next_alarm().unwrap(), Some(T + 1_000));
        drain(&mut s, &mut kv, T + 1_000, INLINE_DRAIN);
        assert_eq!(s.next_alarm().unwrap(), Some(T + 1_000 + 2_000), "backoff doubles");
        s.write(&[put("a.com/x", "2")], T + 1_500).unwrap();
        drain(&mut s, &mut kv, T + 2_000, INLINE_DRAIN);
        assert_eq!(kv.data["a.com/x"], "2");
        assert_eq!(retry_delay_ms(30), 60_000);
    }

    #[test]
    fn adoption_takes_kv_once_then_the_shard_copy_wins_and_pushes_to_the_counter() {
        let mut s = shard();
        let first = s.adopt("a.com/s", "{\"to\":\"https://e.com\",\"strong\":true}").unwrap();
        assert!(first.known && first.version == 1);
        let again = s.adopt("a.com/s", "{\"to\":\"https://edited-in-kv.example\",\"strong\":true}").unwrap();
        assert_eq!(again.value, first.value, "a KV edit is not adopted again");
        assert_eq!(s.status().unwrap().kv_pending, 0, "adoption writes nothing to KV");
        s.write(&[put("a.com/s", "{\"to\":\"https://e.com\",\"strong\":true,\"enabled\":false}")], T).unwrap();
        let work = s.work(T, 10).unwrap();
        let link = work.iter().find(|w| w.task.target == Target::Link).expect("the counter is told");
        assert_eq!((link.task.version, link.value.as_deref().map(|v| v.contains("false"))), (2, Some(true)));
        // A deleted key is never adopted from KV again.
        s.write(&[KeyWrite { key: "a.com/gone".into(), value: None }], T).unwrap();
        assert_eq!(s.adopt("a.com/gone", "\"https://stale.example\"").unwrap().value, None);
    }

    #[test]
    fn writes_for_another_shard_are_refused() {
        let mut s = shard();
        let err = s.write(&[put("a.com/x", "1"), put("b.com/x", "1")], T).unwrap_err();
        assert_eq!(err, ShardError::WrongShard("b.com/x".into()));
        assert_eq!(s.status().unwrap().version, 0, "nothing written");
    }

    #[test]
    fn a_bulk_across_shards_commits_everywhere_or_nowhere() {
        let (mut a, mut b) = (shard(), shard());
        let deadline = T + 30_000;
        a.prepare("t1", "a.com", &[put("a.com/x", "1")], deadline).unwrap();
        b.prepare("t1", "a.com", &[put("b.com/x", "1")], deadline).unwrap();
        assert_eq!(a.read("a.com/x").unwrap(), ReadAnswer::default(), "staged is invisible");
        assert!(matches!(a.write(&[put("a.com/x", "2")], T), Err(ShardError::Conflict { .. })), "staged keys are locked");
        a.commit("t1", T).unwrap();
        b.commit("t1", T).unwrap();
        assert_eq!(b.read("b.com/x").unwrap().value.as_deref(), Some("1"));
        assert!(b.commit("t1", T).is_ok(), "commit is idempotent");
        assert_eq!(b.abort("t1", T).unwrap(), TxnOutcome::Committed, "too late to abort");

        // Aborted: nothing visible, a late commit or prepare is refused.
        a.prepare("t2", "a.com", &[put("a.com/y", "1")], deadline).unwrap();
        a.abort("t2", T).unwrap();
        assert_eq!(a.read("a.com/y").unwrap(), ReadAnswer::default());
        assert!(a.commit("t2", T).is_err());
        b.abort("t3", T).unwrap();
        assert!(b.prepare("t3", "a.com", &[put("b.com/z", "1")], deadline).is_err(), "abort before prepare sticks");
    }

    #[test]
    fn a_shard_left_in_doubt_follows_the_coordinator_both_ways() {
        for committed in [true, false] {
            let (mut coord, mut other) = (shard(), shard());
            let deadline = T + 30_000;
            coord.prepare("t", "a.com", &[put("a.com/x", "1")], deadline).unwrap();
            other.prepare("t", "a.com", &[put("b.com/x", "1")], deadline).unwrap();
            if committed {
                coord.commit("t", T).unwrap();
            }
            // The worker died here. Before the deadline, nobody acts.
            assert!(other.recover("b.com", T + 1).unwrap().is_empty());
            assert_eq!(other.next_alarm().unwrap(), Some(deadline));
            let asks = other.recover("b.com", deadline).unwrap();
            assert_eq!(asks, vec![Recovery::Ask { txn: "t".into(), coordinator: "a.com".into() }]);
            let outcome = coord.decision("t", deadline).unwrap();
            assert_eq!(outcome, if committed { TxnOutcome::Committed } else { TxnOutcome::Aborted });
            other.resolve("t", outcome, deadline).unwrap();
            let seen = other.read("b.com/x").unwrap().value;
            assert_eq!(seen.is_some(), committed);
            assert_eq!(coord.read("a.com/x").unwrap().value.is_some(), committed);
            assert!(coord.commit("t", deadline).is_ok() == committed, "the decision stands");
        }
    }

    /// Bug (review): two drains of one object (a write's and the alarm's) could take
    /// the same task, or an older value's write could land in KV after a newer one,
    /// leaving KV stale while the status said it had caught up.
    #[test]
    fn two_drains_never_race_one_key_to_kv() {
        for first_succeeds in [true, false] {
            let mut s = shard();
            s.write(&[put("a.com/x", "1")], T).unwrap();
            let a = s.work(T, INLINE_DRAIN).unwrap();
            assert_eq!(a.len(), 1);
            assert!(s.work(T, INLINE_DRAIN).unwrap().is_empty(), "leased: no other drain takes it");
            s.write(&[put("a.com/x", "2")], T + 10).unwrap();
            assert!(s.work(T + 10, INLINE_DRAIN).unwrap().is_empty(), "the newer write waits for the one in flight");
            let result = if first_succeeds { Ok(()) } else { Err("down".to_string()) };
            s.done(&a[0], result, T + 20).unwrap();
            let released = if first_succeeds { T + 20 + KV_WRITE_SPACING_MS } else { T + 20 };
            if first_succeeds {
                assert!(s.work(released - 1, INLINE_DRAIN).unwrap().is_empty(), "KV's second between writes of a key");
            }
            let b = s.work(released, INLINE_DRAIN).unwrap();
            assert_eq!((b.len(), b[0].value.as_deref()), (1, Some("2")), "first ok: {first_succeeds}");
            s.done(&b[0], Ok(()), released).unwrap();
            assert_eq!(s.status().unwrap().kv_pending, 0);
        }
    }

    #[test]
    fn a_drain_that_dies_is_taken_over_after_the_lease() {
        let mut s = shard();
        s.write(&[put("a.com/x", "1")], T).unwrap();
        let slow = s.work(T, 10).unwrap();
        assert_eq!(slow.len(), 1);
        // The object died, or its call hangs: nobody reports back in time.
        assert_eq!(s.next_alarm().unwrap(), Some(T + LEASE_MS));
        s.write(&[put("a.com/x", "2")], T + LEASE_MS).unwrap();
        let other = s.work(T + LEASE_MS, 10).unwrap();
        assert_eq!(other.len(), 1, "taken again once the lease ends");
        // The slow drain reports at last: it must not release the task the other
        // drain holds.
        s.done(&slow[0], Ok(()), T + LEASE_MS + 5).unwrap();
        assert!(s.work(T + LEASE_MS + 10, 10).unwrap().is_empty(), "still leased by the other drain");
        s.done(&other[0], Ok(()), T + LEASE_MS + 20).unwrap();
        assert_eq!(s.status().unwrap().kv_pending, 0);
    }

    #[test]
    fn a_writes_own_counter_updates_go_out_ahead_of_the_queue() {
        let mut s = shard();
        s.adopt("a.com/s", "{\"to\":\"https://e.com\",\"strong\":true}").unwrap();
        let bulk: Vec<KeyWrite> = (0..300).map(|i| put(&format!("a.com/k{i}"), "1")).collect();
        s.write(&bulk, T).unwrap();
        s.write(&[put("a.com/s", "{\"to\":\"https://e.com\",\"strong\":true,\"enabled\":false}")], T + 1).unwrap();
        let urgent = s.work_for(Target::Link, &["a.com/s"], T + 1).unwrap();
        assert_eq!(urgent.len(), 1);
        assert!(urgent[0].value.as_deref().is_some_and(|v| v.contains("false")));
        assert!(s.work(T + 1, 1).unwrap().iter().all(|w| w.task.target == Target::Kv), "leased: not taken twice");
    }

    #[test]
    fn a_shard_in_doubt_asks_the_coordinator_every_few_seconds_not_in_a_loop() {
        let mut other = shard();
        other.prepare("t", "a.com", &[put("b.com/x", "1")], T).unwrap();
        assert_eq!(other.recover("b.com", T).unwrap().len(), 1);
        assert!(other.recover("b.com", T + 10).unwrap().is_empty(), "no second question at once");
        assert_eq!(other.next_alarm().unwrap(), Some(T + ASK_EVERY_MS));
        other.resolve("t", TxnOutcome::Open, T + 20).unwrap();
        assert_eq!(other.recover("b.com", T + ASK_EVERY_MS).unwrap().len(), 1);
    }

    #[test]
    fn a_coordinator_aborts_its_own_undecided_bulk_at_the_deadline_and_forgets_it_later() {
        let mut coord = shard();
        coord.prepare("t", "a.com", &[put("a.com/x", "1")], T + 10).unwrap();
        assert_eq!(coord.decision("t", T).unwrap(), TxnOutcome::Open);
        assert!(coord.recover("a.com", T + 10).unwrap().is_empty());
        assert_eq!(coord.decision("t", T + 11).unwrap(), TxnOutcome::Aborted);
        assert!(coord.commit("t", T + 12).is_err(), "a commit after the deadline abort is refused");
        coord.recover("a.com", T + 10 + TXN_MEMORY_MS).unwrap();
        assert!(coord.store.txns.is_empty());
    }
}
