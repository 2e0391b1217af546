//! `RouteDo`, the Durable Object class bound as `ROUTE_DO_<ENV>`: a thin adapter that
//! runs the core's strong-route state machines (`redirector_core::strong`) over the
//! object's storage, alarm and fetch. Two kinds of object share the class, told apart
//! by the message they receive:
//!
//! * a host's **shard** (`shard:<host>`, [`ShardRequest`]): `redirector_core::strong::shard`
//!   over SQLite tables ([`SqlShardStore`]). Each message is handled synchronously
//!   against storage, so its writes commit together; then the queued write-through
//!   (KV, counters) runs, [`INLINE_DRAIN`] tasks before the answer and the rest from
//!   the alarm, [`DRAIN_BATCH`] per invocation.
//! * a strong link's **counter** (`link:<key>`, [`LinkRequest`]):
//!   `redirector_core::strong::link::LinkState`, kept in memory and persisted after
//!   each change (the output gate holds the answer until it is stored).
//!
//! Any failure answers non-200 with a text reason; the worker maps it to a 503.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use redirector_core::key::{link_object, shard_object, shard_of};
use redirector_core::store::StoreError;
use redirector_core::strong::link::LinkState;
use redirector_core::strong::msg::{KeyWrite, LinkReadAnswer, LinkRequest, ReadAnswer, ShardRequest, TxnOutcome, WriteAnswer};
use redirector_core::strong::shard::{
    carry_out, drain, Outbound, QueueSummary, Recovery, Shard, ShardStore, Stored, Target, Task, Txn, TxnState, DRAIN_BATCH,
    INLINE_DRAIN,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::kv::KvStore;
use worker::{SqlStorage, SqlStorageValue};
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::{console_error, durable_object, DurableObject, Env, ObjectNamespace, Request, Response, Result, State};

use crate::bindings::Bindings;
use crate::{now_ms, objects};

#[durable_object]
pub struct RouteDo {
    state: State,
    env: Env,
    /// A counter's state, loaded once from storage.
    link: RefCell<Option<LinkState>>,
    /// A counter's adoption in flight: concurrent first clicks share one request to
    /// the shard.
    adopting: RefCell<Option<js_sys::Promise>>,
    /// A shard's tables exist.
    schema: Cell<bool>,
}

const LINK_STATE: &str = "link";

fn failed(e: impl std::fmt::Display) -> Result<Response> {
    Response::error(e.to_string(), 503)
}

impl DurableObject for RouteDo {
    fn new(state: State, env: Env) -> Self {
        // Shards validate the records they take (the core's NFC and IDNA).
        crate::unicode::install();
        Self { state, env, link: RefCell::new(None), adopting: RefCell::new(None), schema: Cell::new(false) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Ok(text) = req.text().await else { return Response::error("body must be text", 400) };
        let bad = |e: serde_json::Error| Response::error(format!("not a route-do message: {e}"), 400);
        match req.path().as_str() {
            "/link" => match serde_json::from_str::<LinkRequest>(&text) {
                Ok(message) => self.link_request(message).await.or_else(failed),
                Err(e) => bad(e),
            },
            "/shard" => match serde_json::from_str::<ShardRequest>(&text) {
                Ok(message) => self.shard_request(message).await.or_else(failed),
                Err(e) => bad(e),
            },
            _ => Response::error("Not Found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.housekeeping().await {
            console_error!("route-do alarm: {e}");
            // Try again shortly rather than lose the queue.
            self.state.storage().set_alarm(5_000).await?;
        }
        Response::ok("done")
    }
}

// ---------------------------------------------------------------- counters

impl RouteDo {
    fn namespace(&self) -> std::result::Result<ObjectNamespace, String> {
        Bindings::from_env(&self.env).route_do.ok_or_else(|| "ROUTE_DO binding is not configured".to_string())
    }

    async fn ask<A: DeserializeOwned>(&self, object: &str, message: &impl Serialize) -> std::result::Result<A, String> {
        objects::call(&self.namespace()?, object, message).await
    }

    /// The counter's state: memory, else storage.
    async fn load_link(&self) -> Result<Option<LinkState>> {
        if let Some(s) = self.link.borrow().clone() {
            return Ok(Some(s));
        }
        let stored = self.state.storage().get::<LinkState>(LINK_STATE).await?;
        // Another event may have loaded or adopted meanwhile: keep what is newer.
        let mut link = self.link.borrow_mut();
        if let Some(s) = stored {
            match link.as_mut() {
                Some(current) => {
                    current.update(s.value.clone(), s.version);
                }
                None => *link = Some(s),
            }
        }
        Ok(link.clone())
    }

    /// Take the record from the shard (which adopts KV's copy if it has none), once
    /// for all the clicks waiting, and store it: after an eviction the counter
    /// starts from storage, not from another request to the shard.
    async fn adopt(&self, key: &str, kv_value: String) -> Result<()> {
        let pending = self.adopting.borrow().clone();
        let promise = match pending {
            Some(p) => p,
            None => {
                let (ns, shard) = (self.namespace()?, shard_object(shard_of(key)));
                let message = ShardRequest::Adopt { key: key.to_string(), kv_value };
                let p = future_to_promise(async move {
                    let adopted: ReadAnswer = objects::call(&ns, &shard, &message).await.map_err(|e| JsValue::from_str(&e))?;
                    serde_json::to_string(&adopted).map(|t| JsValue::from_str(&t)).map_err(|e| JsValue::from_str(&e.to_string()))
                });
                *self.adopting.borrow_mut() = Some(p.clone());
                p
            }
        };
        let answer = JsFuture::from(promise).await;
        self.adopting.borrow_mut().take();
        let text = answer.map_err(|e| worker::Error::from(format!("adoption failed: {e:?}")))?.as_string().unwrap_or_default();
        let adopted: ReadAnswer = serde_json::from_str(&text)?;
        {
            let mut link = self.link.borrow_mut();
            match link.as_mut() {
                Some(current) => {
                    current.update(adopted.value, adopted.version);
                }
                None => *link = Some(LinkState::adopted(adopted.value, adopted.version)),
            }
        }
        self.save_link().await
    }

    async fn save_link(&self) -> Result<()> {
        let Some(state) = self.link.borrow().clone() else { return Ok(()) };
        self.state.storage().put(LINK_STATE, state).await
    }

    async fn link_request(&self, message: LinkRequest) -> Result<Response> {
        match message {
            LinkRequest::Click { key, kv_value, now_ms } => {
                if self.load_link().await?.is_none() {
                    self.adopt(&key, kv_value).await?;
                }
                // Decide and count in one synchronous step: no interleaving.
                let (answer, changed) = match self.link.borrow_mut().as_mut() {
                    Some(link) => link.click(now_ms),
                    None => return failed("counter lost its state"),
                };
                if changed {
                    self.save_link().await?;
                }
                Response::from_json(&answer)
            }
            LinkRequest::Peek { key, kv_value, now_ms } => {
                let link = match self.load_link().await? {
                    Some(link) => link,
                    None => {
                        let read: ReadAnswer = self.ask(&shard_object(shard_of(&key)), &ShardRequest::Read { key }).await?;
                        if read.known { LinkState::adopted(read.value, read.version) } else { LinkState::adopted(Some(kv_value), 0) }
                    }
                };
                Response::from_json(&link.peek(now_ms))
            }
            LinkRequest::Update { key: _, value, version } => {
                self.load_link().await?;
                let changed = {
                    let mut link = self.link.borrow_mut();
                    match link.as_mut() {
                        Some(current) => current.update(value, version),
                        None => {
                            *link = Some(LinkState::adopted(value, version));
                            true
                        }
                    }
                };
                if changed {
                    self.save_link().await?;
                }
                Response::from_json(&serde_json::json!({ "ok": true }))
            }
            LinkRequest::Read { .. } => {
                let link = self.load_link().await?.unwrap_or_default();
                Response::from_json(&LinkReadAnswer { clicks: link.clicks, version: link.version })
            }
        }
    }
}

// ---------------------------------------------------------------- shards

type ShardCell = Rc<RefCell<Shard<SqlShardStore>>>;

impl RouteDo {
    fn shard(&self) -> Result<ShardCell> {
        let sql = self.state.storage().sql();
        if !self.schema.get() {
            for statement in SCHEMA {
                sql.exec(statement, None)?;
            }
            // Columns added after the tables were first made (a local state from an
            // earlier build); "duplicate column" when they are there already.
            for statement in ADDED_COLUMNS {
                let _ = sql.exec(statement, None);
            }
            self.schema.set(true);
        }
        Ok(Rc::new(RefCell::new(Shard::new(SqlShardStore { sql }))))
    }

    fn kv(&self) -> std::result::Result<KvStore, String> {
        Bindings::from_env(&self.env).kv.ok_or_else(|| "ROUTES_KV binding is not configured".to_string())
    }

    fn outgoing(&self) -> Outgoing {
        Outgoing { kv: self.kv(), ns: self.namespace() }
    }

    /// Run `step` against the shard as one storage transaction (`transactionSync`):
    /// if it fails part-way, none of its writes stay. (Every write of a step is
    /// made without an await, so it would commit together anyway; this also undoes
    /// the ones made before a failure.)
    fn atomically<T: 'static>(&self, shard: &ShardCell, step: impl FnOnce(&mut Shard<SqlShardStore>) -> std::result::Result<T, String> + 'static) -> std::result::Result<T, String> {
        let storage = self.state.storage();
        let raw: JsValue = AsRef::<JsValue>::as_ref(storage.as_raw()).clone();
        let transaction = js_sys::Reflect::get(&raw, &JsValue::from_str("transactionSync")).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let Some(transaction) = transaction else { return step(&mut shard.borrow_mut()) };
        let result: Rc<RefCell<Option<std::result::Result<T, String>>>> = Rc::new(RefCell::new(None));
        let (inner, out) = (shard.clone(), result.clone());
        let body = Closure::once_into_js(move || -> std::result::Result<JsValue, JsValue> {
            let done = step(&mut inner.borrow_mut());
            let failure = done.as_ref().err().map(|e| JsValue::from_str(e));
            *out.borrow_mut() = Some(done);
            // Throwing rolls the transaction back.
            failure.map_or(Ok(JsValue::UNDEFINED), Err)
        });
        let thrown = transaction.call1(&raw, &body).err();
        let outcome = result.borrow_mut().take();
        match (outcome, thrown) {
            // The step went well but the transaction itself failed: rolled back.
            (Some(Ok(_)), Some(e)) => Err(format!("transaction failed: {e:?}")),
            (Some(done), _) => done,
            (None, thrown) => Err(format!("transaction failed: {thrown:?}")),
        }
    }

    async fn shard_request(&self, message: ShardRequest) -> Result<Response> {
        let now = now_ms();
        let shard = self.shard()?;
        let answer = match message {
            ShardRequest::Write { writes } => {
                let keys: Vec<String> = writes.iter().map(|w| w.key.clone()).collect();
                self.remember_name(&writes)?;
                self.atomically(&shard, move |s| s.write(&writes, now).map_err(|e| e.to_string()))?;
                self.after_commit(&shard, &keys).await;
                serde_json::to_value(self.answer(&shard, &keys)?)?
            }
            ShardRequest::Prepare { txn, coordinator, writes, deadline_ms } => {
                self.remember_name(&writes)?;
                self.atomically(&shard, move |s| s.prepare(&txn, &coordinator, &writes, deadline_ms).map_err(|e| e.to_string()))?;
                self.schedule(&shard).await;
                serde_json::json!({ "ok": true })
            }
            ShardRequest::Commit { txn } => {
                let id = txn.clone();
                let keys: Vec<String> = shard.borrow().store.staged(&id).map_err(|e| e.0)?.into_iter().map(|w| w.key).collect();
                self.atomically(&shard, move |s| s.commit(&txn, now).map_err(|e| e.to_string()))?;
                self.after_commit(&shard, &keys).await;
                serde_json::to_value(self.answer(&shard, &keys)?)?
            }
            ShardRequest::Abort { txn } => serde_json::to_value(self.atomically(&shard, move |s| s.abort(&txn, now).map_err(|e| e.to_string()))?)?,
            ShardRequest::Decision { txn } => serde_json::to_value(self.atomically(&shard, move |s| s.decision(&txn, now).map_err(|e| e.to_string()))?)?,
            ShardRequest::Read { key } => serde_json::to_value(shard.borrow().read(&key).map_err(|e| e.to_string())?)?,
            ShardRequest::Adopt { key, kv_value } => serde_json::to_value(self.atomically(&shard, move |s| s.adopt(&key, &kv_value).map_err(|e| e.to_string()))?)?,
            ShardRequest::Status => serde_json::to_value(shard.borrow().status().map_err(|e| e.to_string())?)?,
        };
        Response::from_json(&answer)
    }

    /// A write's answer: the host's KV backlog, and this write's own counter updates
    /// not yet taken.
    fn answer(&self, shard: &ShardCell, keys: &[String]) -> std::result::Result<WriteAnswer, String> {
        let s = shard.borrow();
        let mut answer = s.pending().map_err(|e| e.to_string())?;
        answer.links_pending = s.pending_for(Target::Link, keys).map_err(|e| e.0)?;
        Ok(answer)
    }

    /// After a write committed: its own counter updates first (so a kill switch is
    /// in effect when the write answers), then up to [`INLINE_DRAIN`] queued tasks,
    /// then the alarm for the rest. The write stands whatever happens here: failures
    /// are queued for retry, logged, and show in the answer's `links_pending` and
    /// `kv_pending`.
    async fn after_commit(&self, shard: &ShardCell, keys: &[String]) {
        let out = self.outgoing();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let urgent = shard.borrow_mut().work_for(Target::Link, &keys, out.now_ms());
        let result = match urgent {
            Ok(work) => carry_out(shard, &out, work).await.map(|_| ()),
            Err(e) => Err(e),
        };
        let result = match result {
            Ok(()) => drain(shard, &out, INLINE_DRAIN).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            console_error!("shard: write-through after commit: {e}");
        }
        self.schedule(shard).await;
    }

    /// The alarm: settle bulks left in doubt, then the next batch of the queue.
    async fn housekeeping(&self) -> std::result::Result<(), String> {
        let now = now_ms();
        let shard = self.shard().map_err(|e| e.to_string())?;
        let name = shard.borrow().store.meta("shard").map_err(|e| e.0)?.unwrap_or_default();
        let asks = self.atomically(&shard, move |s| s.recover(&name, now).map_err(|e| e.to_string()))?;
        for Recovery::Ask { txn, coordinator } in asks {
            match self.ask::<TxnOutcome>(&shard_object(&coordinator), &ShardRequest::Decision { txn: txn.clone() }).await {
                Ok(outcome) => {
                    let id = txn.clone();
                    if let Err(e) = self.atomically(&shard, move |s| s.resolve(&id, outcome, now_ms()).map_err(|e| e.to_string())) {
                        console_error!("bulk {txn}: applying the coordinator's decision failed, asking again later: {e}");
                    }
                }
                Err(e) => console_error!("bulk {txn}: coordinator {coordinator} not reachable, asking again later: {e}"),
            }
        }
        let drained = drain(&shard, &self.outgoing(), DRAIN_BATCH).await.map(|_| ()).map_err(|e| e.0);
        self.schedule(&shard).await;
        drained
    }

    /// Set the alarm for the shard's next work, if any (a failure is logged: the
    /// next write or alarm sets it again).
    async fn schedule(&self, shard: &ShardCell) {
        let next = shard.borrow().next_alarm();
        let result = match next {
            // A past time fires at once; keep at least a few milliseconds apart.
            Ok(Some(at)) => self.state.storage().set_alarm((at - now_ms()).max(10)).await.map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(e) => Err(e.0),
        };
        if let Err(e) = result {
            console_error!("shard: setting the alarm failed: {e}");
        }
    }

    /// The shard's own name (for deciding, later, whether it coordinates a bulk).
    fn remember_name(&self, writes: &[KeyWrite]) -> Result<()> {
        if let Some(w) = writes.first() {
            let store = SqlShardStore { sql: self.state.storage().sql() };
            if store.meta("shard").map_err(|e| e.0)?.is_none() {
                store.set_meta("shard", Some(shard_of(&w.key))).map_err(|e| e.0)?;
            }
        }
        Ok(())
    }
}

/// Where a shard's queued work goes: KV and the counters.
struct Outgoing {
    kv: std::result::Result<KvStore, String>,
    ns: std::result::Result<ObjectNamespace, String>,
}

impl Outbound for Outgoing {
    fn now_ms(&self) -> i64 {
        now_ms()
    }

    async fn kv_write(&self, key: &str, value: Option<&str>) -> std::result::Result<(), String> {
        let kv = self.kv.as_ref().map_err(Clone::clone)?;
        match value {
            Some(v) => kv.put(key, v).map_err(|e| e.to_string())?.execute().await.map_err(|e| e.to_string()),
            None => kv.delete(key).await.map_err(|e| e.to_string()),
        }
    }

    async fn link_update(&self, key: &str, value: Option<&str>, version: u64) -> std::result::Result<(), String> {
        let ns = self.ns.as_ref().map_err(Clone::clone)?;
        let message = LinkRequest::Update { key: key.to_string(), value: value.map(str::to_string), version };
        objects::call::<serde_json::Value>(ns, &link_object(key), &message).await.map(|_| ())
    }
}

// ---------------------------------------------------------------- SQLite storage

const SCHEMA: [&str; 7] = [
    "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT, version INTEGER NOT NULL, linked INTEGER NOT NULL, kv_written_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS queue (target TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, attempts INTEGER NOT NULL, not_before_ms INTEGER NOT NULL, queued_ms INTEGER NOT NULL, lease_until_ms INTEGER NOT NULL, PRIMARY KEY (target, key))",
    "CREATE INDEX IF NOT EXISTS queue_due ON queue (not_before_ms, queued_ms)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS txns (id TEXT PRIMARY KEY, state TEXT NOT NULL, coordinator TEXT NOT NULL, deadline_ms INTEGER NOT NULL, decided_ms INTEGER, next_ask_ms INTEGER)",
    "CREATE TABLE IF NOT EXISTS staged (txn TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (txn, key))",
    "CREATE INDEX IF NOT EXISTS staged_by_key ON staged (key)",
];

const ADDED_COLUMNS: [&str; 2] = [
    "ALTER TABLE queue ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE txns ADD COLUMN next_ask_ms INTEGER",
];

/// The shard's tables, through the object's synchronous SQL API.
pub struct SqlShardStore {
    sql: SqlStorage,
}

#[derive(Deserialize)]
struct RecordRow {
    value: Option<String>,
    version: i64,
    linked: i64,
    kv_written_ms: Option<i64>,
}

#[derive(Deserialize)]
struct TaskRow {
    target: String,
    key: String,
    version: i64,
    attempts: i64,
    not_before_ms: i64,
    queued_ms: i64,
    lease_until_ms: i64,
}

#[derive(Deserialize)]
struct TxnRow {
    id: String,
    state: String,
    coordinator: String,
    deadline_ms: i64,
    decided_ms: Option<i64>,
    next_ask_ms: Option<i64>,
}

#[derive(Deserialize)]
struct WriteRow {
    key: String,
    value: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct SummaryRow {
    kv: Option<i64>,
    link: Option<i64>,
    oldest: Option<i64>,
    next: Option<i64>,
}

fn text(s: &str) -> SqlStorageValue {
    SqlStorageValue::from(s.to_string())
}

fn int(n: i64) -> SqlStorageValue {
    SqlStorageValue::from(n)
}

fn opt_text(s: Option<&str>) -> SqlStorageValue {
    SqlStorageValue::from(s.map(str::to_string))
}

fn target_name(t: Target) -> &'static str {
    match t {
        Target::Kv => "kv",
        Target::Link => "link",
    }
}

fn task_of(row: TaskRow) -> Task {
    let target = if row.target == "link" { Target::Link } else { Target::Kv };
    Task {
        target,
        key: row.key,
        version: row.version as u64,
        attempts: row.attempts as u32,
        not_before_ms: row.not_before_ms,
        queued_ms: row.queued_ms,
        lease_until_ms: row.lease_until_ms,
    }
}

fn txn_of(row: &TxnRow) -> Txn {
    let state = match row.state.as_str() {
        "committed" => TxnState::Committed,
        "aborted" => TxnState::Aborted,
        _ => TxnState::Open,
    };
    Txn { state, coordinator: row.coordinator.clone(), deadline_ms: row.deadline_ms, decided_ms: row.decided_ms, next_ask_ms: row.next_ask_ms }
}

type Sql<T> = std::result::Result<T, StoreError>;

impl SqlShardStore {
    fn rows<T: DeserializeOwned>(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Sql<Vec<T>> {
        let cursor = self.sql.exec(query, bindings).map_err(|e| StoreError(e.to_string()))?;
        cursor.to_array::<T>().map_err(|e| StoreError(e.to_string()))
    }

    fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Sql<()> {
        self.sql.exec(query, bindings).map(|_| ()).map_err(|e| StoreError(e.to_string()))
    }

    fn meta(&self, name: &str) -> Sql<Option<String>> {
        Ok(self.rows::<Text>("SELECT value FROM meta WHERE name = ?", vec![text(name)])?.pop().and_then(|t| t.value))
    }

    fn set_meta(&self, name: &str, value: Option<&str>) -> Sql<()> {
        self.run("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", vec![text(name), opt_text(value)])
    }
}

impl ShardStore for SqlShardStore {
    fn record(&self, key: &str) -> Sql<Option<Stored>> {
        let rows: Vec<RecordRow> = self.rows("SELECT value, version, linked, kv_written_ms FROM records WHERE key = ?", vec![text(key)])?;
        Ok(rows.into_iter().next().map(|r| Stored {
            value: r.value,
            version: r.version as u64,
            linked: r.linked != 0,
            kv_written_ms: r.kv_written_ms,
        }))
    }

    fn put_record(&mut self, key: &str, s: &Stored) -> Sql<()> {
        self.run(
            "INSERT OR REPLACE INTO records (key, value, version, linked, kv_written_ms) VALUES (?, ?, ?, ?, ?)",
            vec![text(key), opt_text(s.value.as_deref()), int(s.version as i64), int(s.linked.into()), SqlStorageValue::from(s.kv_written_ms)],
        )
    }

    fn version(&self) -> Sql<u64> {
        Ok(self.meta("version")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn set_version(&mut self, version: u64) -> Sql<()> {
        self.set_meta("version", Some(&version.to_string()))
    }

    fn last_error(&self) -> Sql<Option<String>> {
        self.meta("last_error")
    }

    fn set_last_error(&mut self, error: Option<&str>) -> Sql<()> {
        self.set_meta("last_error", error)
    }

    fn enqueue(&mut self, t: &Task) -> Sql<()> {
        self.run(
            "INSERT OR REPLACE INTO queue (target, key, version, attempts, not_before_ms, queued_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![text(target_name(t.target)), text(&t.key), int(t.version as i64), int(t.attempts.into()), int(t.not_before_ms), int(t.queued_ms), int(t.lease_until_ms)],
        )
    }

    fn dequeue(&mut self, target: Target, key: &str, version: u64) -> Sql<()> {
        self.run("DELETE FROM queue WHERE target = ? AND key = ? AND version = ?", vec![text(target_name(target)), text(key), int(version as i64)])
    }

    fn due(&self, now_ms: i64, limit: usize) -> Sql<Vec<Task>> {
        let rows: Vec<TaskRow> = self.rows(
            "SELECT target, key, version, attempts, not_before_ms, queued_ms, lease_until_ms FROM queue WHERE not_before_ms <= ? AND lease_until_ms <= ? ORDER BY target = 'link' DESC, queued_ms, version LIMIT ?",
            vec![int(now_ms), int(now_ms), int(limit as i64)],
        )?;
        Ok(rows.into_iter().map(task_of).collect())
    }

    fn queue_summary(&self) -> Sql<QueueSummary> {
        let rows: Vec<SummaryRow> = self.rows(
            "SELECT SUM(target = 'kv') AS kv, SUM(target = 'link') AS link, MIN(queued_ms) AS oldest, MIN(MAX(not_before_ms, lease_until_ms)) AS next FROM queue",
            vec![],
        )?;
        let r = rows.into_iter().next().unwrap_or_default();
        Ok(QueueSummary { kv: r.kv.unwrap_or(0) as u64, link: r.link.unwrap_or(0) as u64, oldest_queued_ms: r.oldest, next_due_ms: r.next })
    }

    fn task(&self, target: Target, key: &str) -> Sql<Option<Task>> {
        let rows: Vec<TaskRow> = self.rows(
            "SELECT target, key, version, attempts, not_before_ms, queued_ms, lease_until_ms FROM queue WHERE target = ? AND key = ?",
            vec![text(target_name(target)), text(key)],
        )?;
        Ok(rows.into_iter().next().map(task_of))
    }

    fn txn(&self, id: &str) -> Sql<Option<Txn>> {
        let rows: Vec<TxnRow> = self.rows("SELECT id, state, coordinator, deadline_ms, decided_ms, next_ask_ms FROM txns WHERE id = ?", vec![text(id)])?;
        Ok(rows.first().map(txn_of))
    }

    fn put_txn(&mut self, id: &str, t: &Txn) -> Sql<()> {
        let state = match t.state {
            TxnState::Open => "open",
            TxnState::Committed => "committed",
            TxnState::Aborted => "aborted",
        };
        self.run(
            "INSERT OR REPLACE INTO txns (id, state, coordinator, deadline_ms, decided_ms, next_ask_ms) VALUES (?, ?, ?, ?, ?, ?)",
            vec![text(id), text(state), text(&t.coordinator), int(t.deadline_ms), SqlStorageValue::from(t.decided_ms), SqlStorageValue::from(t.next_ask_ms)],
        )
    }

    fn forget_txn(&mut self, id: &str) -> Sql<()> {
        self.run("DELETE FROM txns WHERE id = ?", vec![text(id)])
    }

    fn txns(&self) -> Sql<Vec<(String, Txn)>> {
        let rows: Vec<TxnRow> = self.rows("SELECT id, state, coordinator, deadline_ms, decided_ms, next_ask_ms FROM txns", vec![])?;
        Ok(rows.iter().map(|r| (r.id.clone(), txn_of(r))).collect())
    }

    fn stage(&mut self, id: &str, w: &KeyWrite) -> Sql<()> {
        self.run("INSERT OR REPLACE INTO staged (txn, key, value) VALUES (?, ?, ?)", vec![text(id), text(&w.key), opt_text(w.value.as_deref())])
    }

    fn staged(&self, id: &str) -> Sql<Vec<KeyWrite>> {
        let rows: Vec<WriteRow> = self.rows("SELECT key, value FROM staged WHERE txn = ?", vec![text(id)])?;
        Ok(rows.into_iter().map(|r| KeyWrite { key: r.key, value: r.value }).collect())
    }

    fn staged_by(&self, key: &str) -> Sql<Option<String>> {
        Ok(self.rows::<Text>("SELECT txn AS value FROM staged WHERE key = ? LIMIT 1", vec![text(key)])?.pop().and_then(|t| t.value))
    }

    fn unstage(&mut self, id: &str) -> Sql<()> {
        self.run("DELETE FROM staged WHERE txn = ?", vec![text(id)])
    }
}
