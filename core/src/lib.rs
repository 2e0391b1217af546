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
//! 4. **Look up** ([`lookup`]) in ROUTES.md order through the [`store::RouteStore`] seam.
//! 5. **Validate** the record ([`record`]): an invalid record is a fault, not a redirect.
//! 6. **Respond** ([`reply`]): status, `Location` with the query merged ([`query`]),
//!    and `Cache-Control` by status; every error maps to HTTP in [`error`] alone.
//! 7. **Click** ([`click`]): exactly one event per request, the schema in one place,
//!    with the client's user-agent class from [`ua`].
//!
//! ## Modules
//!
//! | module | role |
//! |---|---|
//! | [`canon`] | canonical host and path |
//! | [`record`] | link record parsing and validation |
//! | [`lookup`] | lookup order over a store |
//! | [`store`] | the `RouteStore` trait the worker implements over KV |
//! | [`query`] | `forward_query` merging |
//! | [`reply`] | a plain HTTP response description and cache policy |
//! | [`error`] | the one error type and its HTTP mapping |
//! | [`click`] | the click event and its Analytics Engine schema |
//! | [`ua`] | the user-agent classifier |
//! | [`handler`] | the whole flow above |

pub mod canon;
pub mod click;
pub mod error;
pub mod handler;
pub mod lookup;
pub mod query;
pub mod record;
pub mod reply;
pub mod store;
pub mod ua;

pub use error::Error;
pub use handler::{handle, Deployment, Handled, RequestFacts};
