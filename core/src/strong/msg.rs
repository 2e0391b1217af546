//! The messages between the worker and the `ROUTE_DO_<ENV>` objects, typed on both
//! sides (serde). Every message is one POST with a JSON body to the object; a 200
//! answer carries the typed answer, anything else is a failure with a text reason.
//!
//! Two kinds of object share the class `RouteDo`:
//!
//! | object | name | receives |
//! |---|---|---|
//! | shard | `shard:<host>` ([`crate::key::shard_object`]) | [`ShardRequest`] |
//! | link counter | `link:<key>` ([`crate::key::link_object`]) | [`LinkRequest`] |

use serde::{Deserialize, Serialize};

/// One write: a value to store, or `None` to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrite {
    pub key: String,
    pub value: Option<String>,
}

/// What the worker asks a host's shard (the single writer of its records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ShardRequest {
    /// Apply all writes at once (one storage transaction), then write them through
    /// to KV (part now, the rest from the object's alarm).
    Write { writes: Vec<KeyWrite> },
    /// Stage writes of a bulk that spans shards (two-phase); invisible until
    /// committed. `coordinator` is the shard whose commit decides the bulk.
    Prepare { txn: String, coordinator: String, writes: Vec<KeyWrite>, deadline_ms: i64 },
    /// Apply a staged bulk.
    Commit { txn: String },
    /// Drop a staged bulk.
    Abort { txn: String },
    /// Asked of the coordinator by a shard left in doubt: has `txn` committed?
    Decision { txn: String },
    /// The authoritative copy of a key, if the shard knows it.
    Read { key: String },
    /// A strong link's counter asks for the authoritative record; a shard that does
    /// not know the key adopts KV's copy (`kv_value`).
    Adopt { key: String, kv_value: String },
    /// How far the write-through to KV has got.
    Status,
}

/// The answer to [`ShardRequest::Write`] and [`ShardRequest::Commit`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteAnswer {
    /// The shard's version after the write.
    pub version: u64,
    /// Keys of this shard not yet written through to KV.
    pub kv_pending: u64,
    /// Link counters of the written keys that have not yet taken the new record
    /// (retried by the alarm).
    pub links_pending: u64,
}

/// The answer to [`ShardRequest::Read`] and [`ShardRequest::Adopt`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadAnswer {
    /// The shard has a copy (with `value: None`, a tombstone: deleted).
    pub known: bool,
    pub value: Option<String>,
    pub version: u64,
}

/// The answer to [`ShardRequest::Decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnOutcome {
    Committed,
    Aborted,
    /// Still open: prepared, not decided.
    Open,
}

/// The answer to [`ShardRequest::Status`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAnswer {
    pub version: u64,
    pub kv_pending: u64,
    pub links_pending: u64,
    /// When the oldest pending KV write was queued (Unix ms).
    pub oldest_pending_ms: Option<i64>,
    /// The latest write-through failure, until the queue empties.
    pub last_error: Option<String>,
    /// Staged bulks not yet decided.
    pub open_txns: u64,
}

/// What the worker (and a shard) asks a strong link's counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LinkRequest {
    /// A redirect: decide and count.
    Click { key: String, kv_value: String, now_ms: i64 },
    /// Explain: decide without counting or storing anything.
    Peek { key: String, kv_value: String, now_ms: i64 },
    /// From the shard: the record changed (or was deleted) at `version`.
    Update { key: String, value: Option<String>, version: u64 },
    /// The count so far.
    Read { key: String },
}

/// What the strong-route authority says about one click (or peek).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrongAnswer {
    /// Redirect with this record (the authority's copy, which wins over KV's); for a
    /// click, it has been counted.
    Serve(String),
    /// Treat the route as absent (deleted, disabled, outside its window, or its
    /// `max_clicks` reached); the reason is for explain.
    Absent(String),
}

/// The answer to [`LinkRequest::Read`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReadAnswer {
    pub clicks: u64,
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_have_a_stable_wire_form() {
        let w = ShardRequest::Write { writes: vec![KeyWrite { key: "a.com/x".into(), value: None }] };
        let text = serde_json::to_string(&w).unwrap();
        assert_eq!(text, r#"{"op":"write","writes":[{"key":"a.com/x","value":null}]}"#);
        assert_eq!(serde_json::from_str::<ShardRequest>(&text).unwrap(), w);
        let c = LinkRequest::Click { key: "a.com/x".into(), kv_value: "\"https://e.com\"".into(), now_ms: 5 };
        assert_eq!(serde_json::from_str::<LinkRequest>(&serde_json::to_string(&c).unwrap()).unwrap(), c);
        let a = StrongAnswer::Absent("deleted".into());
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"absent":"deleted"}"#);
        assert!(serde_json::from_str::<ShardRequest>(r#"{"op":"nope"}"#).is_err());
    }
}
