//! The seams between the core and the worker's bindings, one trait per kind of
//! caller, so each sees only what it uses:
//!
//! | trait | used by | the worker implements it over |
//! |---|---|---|
//! | [`RouteReads`] | [`crate::lookup`] | `ROUTES_KV_<ENV>` and this location's read-your-writes pins |
//! | [`WriteView`] | [`crate::lookup`] | the location's write marker ([`crate::ryw`]) |
//! | [`StrongLinks`] | [`crate::lookup`] | the strong links' counters in `ROUTE_DO_<ENV>` |
//! | [`Admin`] | [`crate::admin`] | the shards in `ROUTE_DO_<ENV>` |
//!
//! Tests implement them in memory, failing on demand; the strong-route logic they
//! call is the core's own ([`crate::strong`]).

pub use crate::error::StoreError;
use crate::key::RouteKey;
pub use crate::key::MAX_KEY_BYTES;
use crate::ryw::PinCheck;
use crate::strong::msg::{StatusAnswer, StrongAnswer};

/// Route records by KV key.
// Workers run single-threaded, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait RouteReads {
    /// The raw value at `key`, `Ok(None)` when there is none; `pins` says when this
    /// location's read-your-writes pin is consulted (and then preferred).
    async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError>;

    /// This location's read-your-writes pin for `key`, if any: `Some(Some(v))` written,
    /// `Some(None)` deleted. [`RouteReads::get`] already consults pins as told; this
    /// is for re-checking a miss the isolate has cached. Default: no pins.
    async fn pinned(&self, key: &str) -> Option<Option<String>> {
        let _ = key;
        None
    }
}

/// The location's latest admin write.
#[allow(async_fn_in_trait)]
pub trait WriteView {
    /// When this location last served an admin write, from its marker (`None`: not
    /// in the last [`crate::ryw::PIN_TTL_MS`]). Default: never.
    async fn last_write(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
}

/// Whether asking about a strong link may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrongMode {
    /// A redirect: the click is counted (and the counter may adopt KV's copy).
    Click,
    /// Explain: the same answer, nothing counted or stored.
    Peek,
}

/// The strong links' authority.
#[allow(async_fn_in_trait)]
pub trait StrongLinks {
    /// Ask about the strong link at `key`, whose KV value is `kv_value`. Default:
    /// no authority, so strong links cannot be answered (503).
    async fn strong(&self, key: &str, kv_value: &str, mode: StrongMode) -> Result<StrongAnswer, StoreError> {
        let _ = (key, kv_value, mode);
        Err(no_authority())
    }
}

fn no_authority() -> StoreError {
    StoreError("no Durable Object binding for strong routes and admin writes".into())
}

/// A route as the admin API reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRead {
    pub value: String,
    /// `durable_object` (the authoritative copy) or `kv`.
    pub source: &'static str,
    /// Clicks counted so far (strong links).
    pub clicks: Option<u64>,
}

/// One write: a value to store, or `None` to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: RouteKey,
    pub value: Option<String>,
}

/// What an accepted write left to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Keys not yet written through to KV (the shards' alarms finish them).
    pub kv_pending: u64,
    /// Strong links whose counters have not taken the write yet (retried by the
    /// shards' alarms): until then such a link answers from its previous record.
    pub links_pending: u64,
    /// Shards of a bulk that committed but did not confirm (they apply it
    /// themselves from the coordinator's decision).
    pub shards_pending: Vec<String>,
}

/// One page of the routes KV holds (admin list), and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// `(key, raw value)`, route keys only (the project's own keys are left out).
    pub routes: Vec<(String, String)>,
    /// `None` when this is the last page.
    pub cursor: Option<String>,
}

/// The admin API's writes and reads, through the shards. Defaults: no authority
/// (every admin request answers 503).
#[allow(async_fn_in_trait)]
pub trait Admin {
    /// The authoritative copy of `key`, else KV's; `None` when neither has it.
    async fn admin_read(&self, key: &RouteKey) -> Result<Option<AdminRead>, StoreError> {
        let _ = key;
        Err(no_authority())
    }
    /// Apply all `writes` or none (the caller has validated them).
    async fn admin_write(&self, writes: &[Write]) -> Result<WriteReport, StoreError> {
        let _ = writes;
        Err(no_authority())
    }
    /// How far a shard's write-through has got.
    async fn admin_status(&self, shard: &str) -> Result<StatusAnswer, StoreError> {
        let _ = shard;
        Err(no_authority())
    }
    /// Up to `limit` routes from KV, in key order, after `cursor` (routes tool's plan).
    async fn admin_list(&self, cursor: Option<&str>, limit: usize) -> Result<ListPage, StoreError> {
        let _ = (cursor, limit);
        Err(no_authority())
    }
}
