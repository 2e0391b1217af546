//! [`RouteStore`] over the `ROUTES_KV_<ENV>` Workers KV namespace.

use redirector_core::store::{RouteStore, StoreError};
use worker::kv::KvStore;

pub struct KvRouteStore(KvStore);

impl KvRouteStore {
    pub fn new(kv: KvStore) -> Self {
        Self(kv)
    }
}

impl RouteStore for KvRouteStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(|e| StoreError(e.to_string()))
    }
}
