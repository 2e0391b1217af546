//! The strong-route layer: what `ROUTE_DO_<ENV>` decides, as pure logic.
//!
//! | module | role |
//! |---|---|
//! | [`msg`] | the typed messages between the worker and the objects |
//! | [`link`] | a strong link's counter: its copy of the record, the click decision, peeks |
//! | [`shard`] | a host's shard: the single writer, write plan, tombstones, adoption, the KV drain, bulks across shards |
//!
//! `src/route_do.rs` (the worker crate) only adapts these to the object's storage,
//! alarm and fetch; the capacity and the promises are in `docs/strong-routes.md`.

pub mod link;
pub mod msg;
pub mod shard;
