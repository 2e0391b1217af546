//! The route store seam: the only thing the core needs from KV.
//!
//! The worker implements [`RouteStore`] over its `ROUTES_KV_<ENV>` binding; tests use
//! an in-memory store that can be told to fail.

use std::fmt;

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

/// Read access to route records by KV key.
// Workers run single-threaded, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait RouteStore {
    /// The raw value at `key`, `Ok(None)` when there is none.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
}
