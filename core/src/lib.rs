//! # redirector-core
//!
//! Everything the edge redirector decides, with no JS in sight. The worker crate
//! (`redirector`, at the repository root) only adapts Cloudflare bindings to the
//! seams defined here, so all of this runs under plain `cargo test`.
//!
//! ## The request flow ([`handler::handle`])
//!
//! 1. **Method**: GET/HEAD go on; OPTIONS answers 204 with `Allow`; others 405.
//! 2. **Canonicalise** host and path ([`canon`]), exactly as keys are written.
//! 3. **Reserved paths** `/__redirector/...`: health, or 404; never looked up.
//! 4. **Look up** ([`lookup`]) in ROUTES.md order through the [`store::RouteStore`] seam:
//!    exact links, then rule arrays ([`rules`]) matched by [`pattern`]; parsed records
//!    and arrays are kept per isolate ([`cache`]).
//! 5. **Validate** the record ([`record`]): an invalid record is a fault, not a redirect.
//! 6. **Choose** the target ([`variant`]): `when` conditions, then the canary split;
//!    substitute rule placeholders ([`pattern`]).
//! 7. **Respond** ([`reply`]): status, `Location` with the query merged ([`query`]),
//!    and `Cache-Control` by status and variant; every error maps to HTTP in [`error`]
//!    alone. `/__redirector/explain` ([`explain`]) shows steps 2-7 as JSON.
//! 8. **Click** ([`click`]): exactly one event per request, the schema in one place,
//!    with the client's user-agent class from [`ua`].
//!
//! ## Modules
//!
//! | module | role |
//! |---|---|
//! | [`canon`] | canonical host and path |
//! | [`record`] | link record parsing and validation |
//! | [`lookup`] | lookup order over a store, with the steps taken |
//! | [`rules`] | rule arrays: parsing, first match |
//! | [`cache`] | the per-isolate cache of parsed records, misses and rule arrays |
//! | [`ryw`] | when a KV read must look at the location's read-your-writes pins |
//! | [`pattern`] | `from` patterns and placeholder substitution |
//! | [`variant`] | `when` conditions, `Accept-Language`, canary buckets |
//! | [`explain`] | the explain endpoint's JSON |
//! | [`admin`] | admin API: auth, keys, validation, bulk parsing |
//! | [`sentry`] | Sentry DSN parsing and envelope building |
//! | [`store`] | the `RouteStore` trait the worker implements over KV |
//! | [`query`] | `forward_query` merging |
//! | [`reply`] | a plain HTTP response description and cache policy |
//! | [`error`] | the one error type and its HTTP mapping |
//! | [`click`] | the click event and its Analytics Engine schema |
//! | [`ua`] | the user-agent classifier |
//! | [`handler`] | the whole flow above |

pub mod admin;
pub mod cache;
pub mod canon;
pub mod click;
pub mod error;
pub mod explain;
pub mod handler;
pub mod lookup;
pub mod pattern;
pub mod query;
pub mod record;
pub mod reply;
pub mod rules;
pub mod ryw;
pub mod sentry;
pub mod store;
pub mod ua;
pub mod variant;

pub use error::Error;
pub use handler::{handle, Deployment, ExplainAccess, Handled, RequestFacts};
