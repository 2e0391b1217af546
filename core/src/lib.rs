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
//! 3. **Reserved paths** `/__redirector/...`: health, or 404; never looked up. The
//!    admin API (`/__redirector/admin/`) is [`handler::handle_admin`]'s, in the
//!    control script: the edge script forwards it there ([`forward`]).
//! 4. **Look up** ([`lookup`]) in ROUTES.md order through the [`store`] seams:
//!    exact links, then rule arrays ([`rules`]) matched by [`pattern`]; parsed records
//!    and arrays are kept per isolate ([`cache`]).
//! 5. **Validate** the record ([`record`]): an invalid record is a fault, not a redirect.
//! 6. **Choose** the target ([`variant`]): `when` conditions, then the canary split;
//!    substitute rule placeholders ([`pattern`]).
//! 7. **Respond** ([`decide`], [`reply`]): status, `Location` with the query merged
//!    ([`query`]), and `Cache-Control` by status, variant, expiry and whether a strong
//!    link could take the answer back; every error maps to HTTP in [`error`] alone.
//!    `/__redirector/explain` ([`explain`]) shows steps 2-7 as JSON, changing nothing.
//! 8. **Click** ([`click`]): exactly one event per request, the schema in one place,
//!    with the client's user-agent class from [`ua`].
//!
//! ## Modules, by layer
//!
//! A module imports only from its own layer or those above it in this table (no
//! cycles); the worker crate sits below the last row.
//!
//! | layer | module | role |
//! |---|---|---|
//! | 1 data | [`unicode`] | NFC and IDNA: ICU4X tables natively, the runtime's in the worker |
//! | | [`canon`] | canonical host and path |
//! | | [`record`] | link record parsing and validation |
//! | | `unicode_cases` | test support: the NFC and IDNA cases both back ends must agree on |
//! | | [`pattern`], [`query`] | `from` patterns and substitution; `forward_query` merging |
//! | | [`ua`], [`variant`] | user-agent classes; `when` conditions, `Accept-Language`, canary buckets |
//! | | [`click`] | the click event and its Analytics Engine schema |
//! | | [`reply`] | a plain HTTP response description and the cache policy |
//! | | [`ryw`] | when a KV read must look at the location's read-your-writes pins; pin signatures |
//! | | [`request`] | what the worker knows about a request |
//! | | [`sentry`] | Sentry DSN parsing and envelope building |
//! | 2 rules | [`error`] | the one error type and its HTTP mapping |
//! | | [`key`] | route keys and the one function that decides a key's shard |
//! | | [`auth`] | bearer tokens, compared in constant time |
//! | | [`rules`] | rule arrays: parsing, first match |
//! | | [`cache`] | the per-isolate cache of parsed records, misses and rule arrays |
//! | | [`strong`] | the strong-route layer: messages, link counters, shards (`ROUTE_DO_<ENV>`) |
//! | | [`store`] | the seams the worker implements: route reads, the write view, strong links, admin |
//! | 3 decisions | [`lookup`] | lookup order over the store, with the steps taken |
//! | | [`decide`] | the redirect decision: target, substitution, query, cache policy |
//! | 4 endpoints | [`explain`] | the explain endpoint's JSON |
//! | | [`admin`] | admin API: requests, validation, answers |
//! | | [`handler`] | the whole flow above; [`handler::handle_admin`], the admin API's flow in the control script |
//! | | [`forward`] | the control script's answer to an admin write, as the edge script opens it |

pub mod admin;
pub mod auth;
pub mod cache;
pub mod canon;
pub mod click;
pub mod decide;
pub mod error;
pub mod explain;
pub mod forward;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod handler;
pub mod key;
pub mod lookup;
pub mod pattern;
pub mod query;
pub mod record;
pub mod reply;
pub mod request;
pub mod rules;
pub mod ryw;
pub mod sentry;
pub mod store;
pub mod strong;
pub mod ua;
pub mod unicode;
#[doc(hidden)]
pub mod unicode_cases;
pub mod variant;

pub use error::Error;
pub use handler::{handle, handle_admin, AdminHandled, Deployment, ExplainAccess, Handled};
pub use request::{Body, Deferred, RequestFacts, RequestUrl};
