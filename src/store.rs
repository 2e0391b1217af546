//! [`RouteStore`] for the worker: KV reads (with this location's read-your-writes
//! pins), and the Durable Object for strong links and admin writes.
//!
//! Sharding: one `RouteDo` instance per host, named `shard:<host>` (`shard:*` for
//! any-host keys and `rules:*`), see `redirector_core::admin::shard_of`. A shard is
//! the single writer of its keys: it stores the authoritative record, counts strong
//! clicks, and writes through to KV. A bulk write that spans shards is applied shard
//! by shard; if one fails, the shards already written are restored to their previous
//! values, so the request is all or nothing.

use std::collections::BTreeMap;

use futures_util::future::join;
use redirector_core::admin::{shard_of, AdminKey, Write};
use redirector_core::ryw::PinCheck;
use redirector_core::store::{AdminRead, RouteStore, StoreError, StrongAnswer};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::kv::KvStore;
use worker::{console_error, Date, Method, ObjectNamespace, Request, RequestInit};

use crate::ryw;

/// KV's edge cache lifetime for our reads (KV's minimum is 30 s, its default 60 s).
/// Longer would save KV reads but slow the spread of changes to other locations.
pub const KV_CACHE_TTL_SECS: u64 = 60;

pub struct EdgeStore {
    pub env: String,
    pub kv: KvStore,
    pub route_do: Option<ObjectNamespace>,
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl EdgeStore {
    /// POST a JSON message to the shard that owns `shard`.
    async fn call(&self, shard: &str, op: &str, body: Value) -> Result<Value, StoreError> {
        let ns = self.route_do.as_ref().ok_or_else(|| StoreError("ROUTE_DO binding is not configured".into()))?;
        let stub = ns.id_from_name(&format!("shard:{shard}")).and_then(|id| id.get_stub()).map_err(store_error)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body.to_string())));
        let req = Request::new_with_init(&format!("https://route-do/{op}"), &init).map_err(store_error)?;
        let mut res = stub.fetch_with_request(req).await.map_err(store_error)?;
        if res.status_code() != 200 {
            let text = res.text().await.unwrap_or_default();
            return Err(StoreError(format!("durable object {op}: {} {text}", res.status_code())));
        }
        res.json::<Value>().await.map_err(store_error)
    }
}

impl RouteStore for EdgeStore {
    async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError> {
        let read = self.kv.get(key).cache_ttl(KV_CACHE_TTL_SECS).text();
        if pins == PinCheck::OnMiss {
            // No write in this location lately: KV's value stands; a miss may be a
            // link created a moment ago in another isolate, so it asks the pin.
            return match read.await.map_err(store_error)? {
                Some(value) => Ok(Some(value)),
                None => Ok(ryw::pinned(&self.env, key).await.flatten()),
            };
        }
        let (kv, pinned) = join(read, ryw::pinned(&self.env, key)).await;
        match pinned {
            Some(value) => Ok(value),
            None => kv.map_err(store_error),
        }
    }

    async fn last_write(&self) -> Result<Option<i64>, StoreError> {
        ryw::last_write(&self.env).await.map_err(StoreError)
    }

    async fn pinned(&self, key: &str) -> Option<Option<String>> {
        ryw::pinned(&self.env, key).await
    }

    async fn strong_click(&self, key: &str, kv_value: &str) -> Result<StrongAnswer, StoreError> {
        let now_ms = Date::now().as_millis();
        let answer = self.call(shard_of(key), "click", json!({ "key": key, "kv_value": kv_value, "now_ms": now_ms })).await?;
        match (answer.get("serve").and_then(Value::as_str), answer.get("absent").and_then(Value::as_str)) {
            (Some(raw), _) => Ok(StrongAnswer::Serve(raw.to_string())),
            (None, Some(why)) => Ok(StrongAnswer::Absent(why.to_string())),
            _ => Err(StoreError(format!("durable object click: unexpected answer {answer}"))),
        }
    }

    async fn admin_read(&self, key: &AdminKey) -> Result<Option<AdminRead>, StoreError> {
        let answer = self.call(&key.shard, "read", json!({ "key": key.key })).await?;
        if answer.get("known").and_then(Value::as_bool) == Some(true) {
            // The authority knows this key: its word (including "deleted") is final.
            let clicks = answer.get("clicks").and_then(Value::as_u64);
            return Ok(answer.get("value").and_then(Value::as_str).map(|value| AdminRead {
                value: value.to_string(),
                source: "durable_object",
                clicks,
            }));
        }
        Ok(self.get(&key.key, PinCheck::Always).await?.map(|value| AdminRead { value, source: "kv", clicks: None }))
    }

    async fn admin_write(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut by_shard: BTreeMap<&str, Vec<&Write>> = BTreeMap::new();
        for w in writes {
            by_shard.entry(w.key.shard.as_str()).or_default().push(w);
        }
        let mut done: Vec<(&str, Vec<(&str, Value)>)> = Vec::new();
        for (shard, shard_writes) in &by_shard {
            let body = json!({ "writes": shard_writes.iter().map(|w| json!({ "key": w.key.key, "value": w.value })).collect::<Vec<_>>() });
            match self.call(shard, "write", body).await {
                Ok(answer) => {
                    let previous = answer.get("previous").and_then(Value::as_array).cloned().unwrap_or_default();
                    done.push((shard, shard_writes.iter().map(|w| w.key.key.as_str()).zip(previous).collect()));
                }
                Err(e) => {
                    self.roll_back(done).await;
                    return Err(e);
                }
            }
        }
        ryw::pin(&self.env, writes).await;
        Ok(())
    }
}

impl EdgeStore {
    /// Restore shards already written to their previous values (best effort, logged).
    async fn roll_back(&self, done: Vec<(&str, Vec<(&str, Value)>)>) {
        for (shard, previous) in done {
            let body = json!({ "writes": previous.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>() });
            if let Err(e) = self.call(shard, "write", body).await {
                console_error!("bulk rollback failed for shard {shard}: {e}");
            }
        }
    }
}
