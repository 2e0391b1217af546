//! The core's store seams ([`redirector_core::store`]) over the bindings: KV reads
//! with this location's read-your-writes pins ([`crate::ryw`]), the strong links'
//! counters and the hosts' shards in `ROUTE_DO_<ENV>` (`crate::route_do`, in the control script).
//!
//! Objects: one shard per host (`shard:<host>`, `shard:*` for any-host keys and
//! `rules:*`; `redirector_core::key::shard_of`), the single writer of its keys; one
//! counter per strong link (`link:<key>`), which answers that link's clicks. A bulk
//! that spans hosts is two-phase: every shard stages its part, the first shard's
//! commit decides, then the others commit (or, if this worker dies first, find the
//! decision themselves at the deadline). See `docs/strong-routes.md`.

use std::collections::BTreeMap;

use futures_util::future::{join, join_all};
use redirector_core::key::{link_object, parse_key, shard_object, shard_of, RouteKey};
use redirector_core::record::parse_link_record;
use redirector_core::ryw::PinCheck;
use redirector_core::store::{
    Admin, AdminRead, ListPage, RouteReads, StoreError, StrongLinks, StrongMode, Write, WriteReport, WriteView,
};
use redirector_core::strong::msg::{
    KeyWrite, LinkReadAnswer, LinkRequest, ReadAnswer, ShardRequest, StatusAnswer, StrongAnswer, TxnOutcome, WriteAnswer,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::kv::KvStore;
use worker::{console_error, ObjectNamespace};

use crate::{kv, now_ms, objects};
use crate::ryw::Pins;

/// KV's edge cache lifetime for our reads (KV's minimum is 30 s, its default 60 s).
/// Longer would save KV reads but slow the spread of changes to other locations.
pub const KV_CACHE_TTL_SECS: u32 = 60;
/// How long a bulk across hosts may stay staged before its shards decide alone.
pub const BULK_DEADLINE_MS: i64 = 30_000;

/// How long a KV read may take before the request answers 503 (a hanging KV must
/// not hold the client: docs/failures.md). `KV_TIMEOUT_MS` overrides it.
pub const KV_TIMEOUT_MS: u64 = 3_000;
/// The same for a call to a Durable Object (`DO_TIMEOUT_MS`).
pub const DO_TIMEOUT_MS: u64 = 5_000;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub kv_ms: u64,
    pub object_ms: u64,
}

pub struct EdgeStore {
    pub kv: KvStore,
    /// `kv` as its JS object: route reads (`RouteReads::get`) go through [`crate::kv`];
    /// listing and its bulk reads still use `kv`.
    pub kv_object: wasm_bindgen::JsValue,
    pub route_do: Option<ObjectNamespace>,
    pub pins: Pins,
    pub timeouts: Timeouts,
}


impl EdgeStore {
    async fn call<A: DeserializeOwned>(&self, object: &str, message: &impl serde::Serialize) -> Result<A, StoreError> {
        let ns = self.route_do.as_ref().ok_or_else(|| StoreError("ROUTE_DO binding is not configured".into()))?;
        let ms = self.timeouts.object_ms;
        crate::timer::within(ms, objects::call(ns, object, message))
            .await
            .map_err(|()| StoreError(format!("{object} did not answer within {ms} ms")))?
            .map_err(StoreError)
    }

    async fn shard<A: DeserializeOwned>(&self, shard: &str, message: &ShardRequest) -> Result<A, StoreError> {
        self.call(&shard_object(shard), message).await
    }

    /// This location's word on `key` when KV's may be behind: its pin, else, if the
    /// host has a note (a bulk too big to pin), the shard's copy.
    async fn pin_lookup(&self, key: &str) -> Option<Option<String>> {
        let shard = shard_of(key);
        let (pinned, noted) = join(self.pins.pinned(key), self.pins.noted(shard)).await;
        if pinned.is_some() || !noted {
            return pinned;
        }
        match self.shard::<ReadAnswer>(shard, &ShardRequest::Read { key: key.into() }).await {
            Ok(read) if read.known => Some(read.value),
            Ok(_) => None,
            Err(e) => {
                console_error!("read-your-writes: shard read for {key} failed: {e}");
                None
            }
        }
    }
}

impl RouteReads for EdgeStore {
    async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError> {
        let ms = self.timeouts.kv_ms;
        let read = async move {
            match kv::text_within(&self.kv_object, key, KV_CACHE_TTL_SECS, ms).await {
                kv::Read::Value(value) => Ok(value),
                kv::Read::Late => Err(StoreError(format!("KV read of {key} did not answer within {ms} ms"))),
                kv::Read::Failed(e) => Err(StoreError(format!("KV read of {key} failed: {e}"))),
            }
        };
        if pins == PinCheck::OnMiss {
            // No write in this location lately: KV's value stands; a miss may be a
            // link created a moment ago in another isolate, so it asks the key's pin
            // (not the host's note: a big bulk is seen once the marker is re-read,
            // within a second).
            return match read.await? {
                Some(value) => Ok(Some(value)),
                None => Ok(self.pins.pinned(key).await.flatten()),
            };
        }
        let (kv, pinned) = join(read, self.pin_lookup(key)).await;
        match pinned {
            Some(value) => Ok(value),
            None => kv,
        }
    }

    async fn pinned(&self, key: &str) -> Option<Option<String>> {
        self.pins.pinned(key).await
    }
}

impl WriteView for EdgeStore {
    async fn last_write(&self) -> Result<Option<i64>, StoreError> {
        self.pins.last_write().await.map_err(StoreError)
    }
}

impl StrongLinks for EdgeStore {
    async fn strong(&self, key: &str, kv_value: &str, mode: StrongMode) -> Result<StrongAnswer, StoreError> {
        let (key, kv_value, now_ms) = (key.to_string(), kv_value.to_string(), now_ms());
        let message = match mode {
            StrongMode::Click => LinkRequest::Click { key: key.clone(), kv_value, now_ms },
            StrongMode::Peek => LinkRequest::Peek { key: key.clone(), kv_value, now_ms },
        };
        self.call(&link_object(&key), &message).await
    }
}

impl Admin for EdgeStore {
    async fn admin_read(&self, key: &RouteKey) -> Result<Option<AdminRead>, StoreError> {
        let read: ReadAnswer = self.shard(&key.shard, &ShardRequest::Read { key: key.key.clone() }).await?;
        if !read.known {
            let kv = self.get(&key.key, PinCheck::Always).await?;
            return Ok(kv.map(|value| AdminRead { value, source: "kv", clicks: None }));
        }
        // The shard knows this key: its word (including "deleted") is final.
        let Some(value) = read.value else { return Ok(None) };
        let strong = parse_link_record(&value).is_ok_and(|r| r.strong);
        let clicks = if strong {
            let counted: LinkReadAnswer = self.call(&link_object(&key.key), &LinkRequest::Read { key: key.key.clone() }).await?;
            Some(counted.clicks)
        } else {
            None
        };
        Ok(Some(AdminRead { value, source: "durable_object", clicks }))
    }

    async fn admin_write(&self, writes: &[Write]) -> Result<WriteReport, StoreError> {
        let mut by_shard: BTreeMap<&str, Vec<KeyWrite>> = BTreeMap::new();
        for w in writes {
            by_shard.entry(w.key.shard.as_str()).or_default().push(KeyWrite { key: w.key.key.clone(), value: w.value.clone() });
        }
        let report = if by_shard.len() == 1 {
            let (shard, writes) = by_shard.into_iter().next().unwrap_or_default();
            let answer: WriteAnswer = self.shard(shard, &ShardRequest::Write { writes }).await?;
            WriteReport { kv_pending: answer.kv_pending, links_pending: answer.links_pending, shards_pending: vec![] }
        } else {
            self.bulk_across_shards(by_shard).await?
        };
        // The edge script pins the writes in its location (`crate::forward`).
        Ok(report)
    }

    async fn admin_status(&self, shard: &str) -> Result<StatusAnswer, StoreError> {
        self.shard(shard, &ShardRequest::Status).await
    }

    async fn admin_list(&self, cursor: Option<&str>, limit: usize) -> Result<ListPage, StoreError> {
        let mut list = self.kv.list().limit(limit as u64);
        if let Some(cursor) = cursor {
            list = list.cursor(cursor.to_string());
        }
        let page = list.execute().await.map_err(|e| StoreError(e.to_string()))?;
        // Route keys only: the project's own keys (pins, markers) are not routes.
        let names: Vec<String> = page.keys.into_iter().map(|k| k.name).filter(|name| parse_key(name).is_ok_and(|k| &k.key == name)).collect();
        let values = join_all(names.iter().map(|name| self.kv.get(name).text())).await;
        let mut routes = Vec::with_capacity(names.len());
        for (name, value) in names.into_iter().zip(values) {
            // Deleted between the list and the read: not a route any more.
            if let Some(value) = value.map_err(|e| StoreError(e.to_string()))? {
                routes.push((name, value));
            }
        }
        Ok(ListPage { routes, cursor: if page.list_complete { None } else { page.cursor } })
    }
}

impl EdgeStore {
    /// Two-phase: stage everywhere; the coordinator's commit decides; then the rest.
    async fn bulk_across_shards(&self, by_shard: BTreeMap<&str, Vec<KeyWrite>>) -> Result<WriteReport, StoreError> {
        let txn = format!("{:x}{:012x}", now_ms(), (js_sys::Math::random() * 2f64.powi(48)) as u64);
        let coordinator = by_shard.keys().next().copied().unwrap_or_default().to_string();
        let deadline_ms = now_ms() + BULK_DEADLINE_MS;
        let prepared = join_all(by_shard.iter().map(|(shard, writes)| {
            let message = ShardRequest::Prepare { txn: txn.clone(), coordinator: coordinator.clone(), writes: writes.clone(), deadline_ms };
            async move { self.shard::<Value>(shard, &message).await }
        }))
        .await;
        let shards: Vec<&str> = by_shard.keys().copied().collect();
        if let Some(Err(e)) = prepared.into_iter().find(Result::is_err) {
            self.abort(&txn, &shards).await;
            return Err(e);
        }
        let commit = ShardRequest::Commit { txn: txn.clone() };
        let (mut kv_pending, mut links_pending) = (0, 0);
        let mut shards_pending_coordinator = false;
        match self.shard::<WriteAnswer>(&coordinator, &commit).await {
            Ok(answer) => {
                kv_pending += answer.kv_pending;
                links_pending += answer.links_pending;
            }
            Err(e) => {
                // The commit may have gone through with only its answer lost: the
                // coordinator's abort says which.
                match self.shard::<TxnOutcome>(&coordinator, &ShardRequest::Abort { txn: txn.clone() }).await {
                    // Committed, its answer lost: what it left to do is unknown, so
                    // the coordinator counts as not confirmed (202, not in effect).
                    Ok(TxnOutcome::Committed) => shards_pending_coordinator = true,
                    Ok(_) => {
                        self.abort(&txn, &shards).await;
                        return Err(e);
                    }
                    // Unreachable: undecided. It settles by the deadline either way
                    // (the coordinator aborts an undecided bulk; the others ask it).
                    Err(unreachable) => return Err(StoreError(format!("bulk {txn} undecided until its deadline: {e}; {unreachable}"))),
                }
            }
        }
        let rest = join_all(shards.iter().skip(1).map(|shard| {
            let commit = commit.clone();
            async move { (shard, self.shard::<WriteAnswer>(shard, &commit).await) }
        }))
        .await;
        let mut shards_pending = Vec::new();
        if shards_pending_coordinator {
            shards_pending.push(coordinator.clone());
        }
        for (shard, answer) in rest {
            match answer {
                Ok(a) => {
                    kv_pending += a.kv_pending;
                    links_pending += a.links_pending;
                }
                Err(e) => {
                    console_error!("bulk {txn}: committed; shard {shard} will apply it at its deadline: {e}");
                    shards_pending.push(shard.to_string());
                }
            }
        }
        Ok(WriteReport { kv_pending, links_pending, shards_pending })
    }

    /// Drop a staged bulk everywhere. A shard that cannot be told drops it itself
    /// at the deadline (the coordinator has not committed), so failures are logged.
    async fn abort(&self, txn: &str, shards: &[&str]) {
        let message = ShardRequest::Abort { txn: txn.to_string() };
        for (shard, result) in shards.iter().zip(join_all(shards.iter().map(|s| self.shard::<TxnOutcome>(s, &message))).await) {
            if let Err(e) = result {
                console_error!("bulk {txn}: abort on {shard} failed (it expires at the deadline): {e}");
            }
        }
    }
}
