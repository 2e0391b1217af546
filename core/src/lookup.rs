//! Lookup order (ROUTES.md "Lookup order") for exact links:
//! 1. `<host><path>`; 2. `*<path>`; then (pattern rules, a later feature) 5. no route.
//!
//! A record absent by `enabled`/`starts`/`expires` falls through to the next step. A
//! record that breaks the contract stops the lookup: it is a fault, never a redirect.

use crate::error::Error;
use crate::record::{parse_link_record, LinkRecord};
use crate::store::{RouteStore, MAX_KEY_BYTES};

/// The record that answered, and the KV key it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub key: String,
    pub record: LinkRecord,
}

impl Found {
    /// The id reported in click events: the record's `id`, or its key.
    pub fn route_id(&self) -> &str {
        self.record.id.as_deref().unwrap_or(&self.key)
    }
}

/// KV keys for the exact-link steps, in lookup order.
pub fn exact_keys(host: &str, path: &str) -> [String; 2] {
    [format!("{host}{path}"), format!("*{path}")]
}

/// Run the exact-link steps against `store` at time `now_ms`.
pub async fn lookup<S: RouteStore>(store: &S, host: &str, path: &str, now_ms: i64) -> Result<Option<Found>, Error> {
    for key in exact_keys(host, path) {
        if key.len() > MAX_KEY_BYTES {
            continue;
        }
        let Some(raw) = store.get(&key).await.map_err(Error::StoreUnavailable)? else {
            continue;
        };
        let record = parse_link_record(&raw).map_err(|error| Error::InvalidRecord { key: key.clone(), error })?;
        if record.is_live(now_ms) {
            return Ok(Some(Found { key, record }));
        }
    }
    Ok(None)
}
