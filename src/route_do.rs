//! `RouteDo`, the Durable Object class bound as `ROUTE_DO_<ENV>`: the single writer
//! of routes for its shard (one instance per host, see [`crate::store`]).
//!
//! Storage (the object's own, transactional):
//! * `rec:<key>`: the authoritative record text; `""` is a tombstone (deleted), so a
//!   stale KV copy is never adopted again;
//! * `clicks:<key>`: redirects counted for a strong link.
//!
//! Messages (POST, JSON), sent only by this worker:
//! * `/click {key, kv_value, now_ms}` -> `{serve: record}` or `{absent: reason}`.
//!   The object's copy wins over KV's (it adopts KV's if it has none). For a live
//!   strong record with `max_clicks` the check and the increment happen in one
//!   synchronous step on the in-memory count, so concurrent clicks can never
//!   over-count; the new count is then persisted before the answer leaves (output
//!   gate).
//! * `/write {writes: [{key, value|null}]}` -> `{previous: [value|null]}`: store,
//!   then write through to KV; if KV refuses, restore and fail. A delete resets the
//!   click count.
//! * `/read {key}` -> `{known, value, clicks}` (`known` with a null value: deleted).
//! * `GET /ping` -> `pong`.

use std::cell::RefCell;
use std::collections::HashMap;

use redirector_core::record::parse_link_record;
use serde_json::{json, Value};
use worker::kv::KvStore;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::bindings::Bindings;

#[durable_object]
pub struct RouteDo {
    state: State,
    env: Env,
    /// Click counts loaded from storage, by key.
    counts: RefCell<HashMap<String, u64>>,
}

fn rec_key(key: &str) -> String {
    format!("rec:{key}")
}

fn clicks_key(key: &str) -> String {
    format!("clicks:{key}")
}

fn bad(reason: &str) -> Result<Response> {
    Response::error(reason, 400)
}

impl DurableObject for RouteDo {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, counts: RefCell::new(HashMap::new()) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        if path == "/ping" {
            return Response::ok("pong");
        }
        let Ok(body) = req.json::<Value>().await else { return bad("body must be JSON") };
        let key = body.get("key").and_then(Value::as_str).unwrap_or_default();
        match path.as_str() {
            "/click" => {
                let kv_value = body.get("kv_value").and_then(Value::as_str).unwrap_or_default();
                let now_ms = body.get("now_ms").and_then(Value::as_i64).unwrap_or_default();
                self.click(key, kv_value, now_ms).await
            }
            "/read" => {
                let stored = self.stored(key).await?;
                let known = stored.is_some();
                let value = stored.filter(|v| !v.is_empty());
                let clicks = self.count(key).await?;
                Response::from_json(&json!({ "known": known, "value": value, "clicks": clicks }))
            }
            "/write" => match body.get("writes").and_then(Value::as_array) {
                Some(writes) => self.write(writes).await,
                None => bad("writes must be an array"),
            },
            _ => Response::error("Not Found", 404),
        }
    }
}

impl RouteDo {
    async fn stored(&self, key: &str) -> Result<Option<String>> {
        self.state.storage().get::<String>(&rec_key(key)).await
    }

    /// The click count, loaded once from storage.
    async fn count(&self, key: &str) -> Result<u64> {
        if let Some(n) = self.counts.borrow().get(key) {
            return Ok(*n);
        }
        let stored = self.state.storage().get::<u64>(&clicks_key(key)).await?.unwrap_or(0);
        // Another event may have loaded it meanwhile; keep the first value.
        Ok(*self.counts.borrow_mut().entry(key.to_string()).or_insert(stored))
    }

    fn kv(&self) -> Result<KvStore> {
        Bindings::from_env(&self.env).kv.ok_or_else(|| "ROUTES_KV binding is not configured".into())
    }

    async fn click(&self, key: &str, kv_value: &str, now_ms: i64) -> Result<Response> {
        let raw = match self.stored(key).await? {
            Some(tombstone) if tombstone.is_empty() => return Response::from_json(&json!({ "absent": "deleted" })),
            Some(raw) => raw,
            None => {
                self.state.storage().put(&rec_key(key), kv_value).await?;
                kv_value.to_string()
            }
        };
        let Ok(record) = parse_link_record(&raw) else {
            // Let the worker report the invalid record.
            return Response::from_json(&json!({ "serve": raw }));
        };
        if !record.strong {
            return Response::from_json(&json!({ "serve": raw }));
        }
        if !record.is_live(now_ms) {
            return Response::from_json(&json!({ "absent": "not live (enabled/starts/expires)" }));
        }
        if let Some(max) = record.max_clicks {
            self.count(key).await?;
            // Check and increment in one synchronous step: no interleaving possible.
            let next = {
                let mut counts = self.counts.borrow_mut();
                let n = counts.entry(key.to_string()).or_insert(0);
                if *n >= max {
                    return Response::from_json(&json!({ "absent": format!("max_clicks {max} reached") }));
                }
                *n += 1;
                *n
            };
            self.state.storage().put(&clicks_key(key), next).await?;
        }
        Response::from_json(&json!({ "serve": raw }))
    }

    async fn write(&self, writes: &[Value]) -> Result<Response> {
        let kv = self.kv()?;
        let mut planned = Vec::with_capacity(writes.len());
        for w in writes {
            let Some(key) = w.get("key").and_then(Value::as_str) else { return bad("each write needs a key") };
            let value = w.get("value").and_then(Value::as_str).map(str::to_string);
            // Previous value: ours, else KV's (a key written outside the admin API).
            let previous = match self.stored(key).await? {
                Some(v) if v.is_empty() => None,
                Some(v) => Some(v),
                None => kv.get(key).text().await.map_err(|e| e.to_string())?,
            };
            planned.push((key.to_string(), value, previous));
        }
        for (key, value, _) in &planned {
            self.store(key, value.as_deref()).await?;
        }
        for (i, (key, value, _)) in planned.iter().enumerate() {
            if let Err(e) = write_kv(&kv, key, value.as_deref()).await {
                // Restore what we changed, ours and KV's, then fail the whole write.
                for (key, _, previous) in &planned {
                    self.store(key, previous.as_deref()).await?;
                }
                for (key, _, previous) in &planned[..i] {
                    let _ = write_kv(&kv, key, previous.as_deref()).await;
                }
                return Response::error(format!("KV write failed: {e}"), 503);
            }
        }
        let previous: Vec<Option<String>> = planned.into_iter().map(|(_, _, p)| p).collect();
        Response::from_json(&json!({ "previous": previous }))
    }

    async fn store(&self, key: &str, value: Option<&str>) -> Result<()> {
        let storage = self.state.storage();
        match value {
            Some(v) => storage.put(&rec_key(key), v).await,
            None => {
                self.counts.borrow_mut().remove(key);
                storage.delete(&clicks_key(key)).await?;
                storage.put(&rec_key(key), "").await
            }
        }
    }
}

async fn write_kv(kv: &KvStore, key: &str, value: Option<&str>) -> std::result::Result<(), String> {
    match value {
        Some(v) => kv.put(key, v).map_err(|e| e.to_string())?.execute().await.map_err(|e| e.to_string()),
        None => kv.delete(key).await.map_err(|e| e.to_string()),
    }
}
