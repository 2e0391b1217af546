//! The route store seam: the only thing the core needs from KV.
//!
//! The worker implements [`RouteStore`] over its `ROUTES_KV_<ENV>` binding; tests use
//! an in-memory store that can be told to fail.

use std::fmt;

use crate::admin::{AdminKey, Write};
use crate::ryw::PinCheck;

/// KV's limit on key length; longer keys cannot exist, so they are not looked up.
pub const MAX_KEY_BYTES: usize = 512;

/// The store could not answer (network, limits, binding gone). Never means "absent".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// What the strong-route authority (`ROUTE_DO_<ENV>`) says about one click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrongAnswer {
    /// Redirect with this record (the authority's copy, which wins over KV's); the
    /// click has been counted.
    Serve(String),
    /// Treat the route as absent (deleted, disabled, outside its window, or its
    /// `max_clicks` reached); the reason is for explain.
    Absent(String),
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

/// Read access to route records by KV key, the strong-route authority, and the
/// admin writes (which go through the authority).
// Workers run single-threaded, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait RouteStore {
    /// The raw value at `key`, `Ok(None)` when there is none; `pins` says when this
    /// location's read-your-writes pin is consulted (and then preferred).
    async fn get(&self, key: &str, pins: PinCheck) -> Result<Option<String>, StoreError>;

    /// When this location last served an admin write, from its marker (`None`: not
    /// in the last [`crate::ryw::PIN_TTL_MS`]). Default: never.
    async fn last_write(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }

    /// Ask the authority to count a click on the strong link at `key`, whose KV value
    /// is `kv_value` (adopted by the authority if it has no copy yet). The default
    /// has no authority, so strong links cannot be answered.
    async fn strong_click(&self, key: &str, kv_value: &str) -> Result<StrongAnswer, StoreError> {
        let _ = (key, kv_value);
        Err(StoreError("no Durable Object binding for strong routes".into()))
    }

    /// This location's read-your-writes pin for `key`, if any: `Some(Some(v))` written,
    /// `Some(None)` deleted. [`RouteStore::get`] already consults pins as told; this
    /// is for re-checking a miss the isolate has cached. Default: no pins.
    async fn pinned(&self, key: &str) -> Option<Option<String>> {
        let _ = key;
        None
    }

    /// The authoritative copy of `key`, else KV's; `None` when neither has it.
    async fn admin_read(&self, key: &AdminKey) -> Result<Option<AdminRead>, StoreError> {
        Ok(self.get(&key.key, PinCheck::Always).await?.map(|value| AdminRead { value, source: "kv", clicks: None }))
    }

    /// Apply all `writes` or none (the caller has validated them).
    async fn admin_write(&self, writes: &[Write]) -> Result<(), StoreError> {
        let _ = writes;
        Err(StoreError("no Durable Object binding for admin writes".into()))
    }
}
