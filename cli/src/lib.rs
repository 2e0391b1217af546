//! # redirector-cli
//!
//! The `redirector` command: routes as code, on the same core as the worker, so
//! parsing, validation, canonicalisation and matching are one implementation.
//!
//! | module | role |
//! |---|---|
//! | [`formats`] | import from / export to Cloudflare Bulk Redirects CSV, Netlify `_redirects`, Vercel `redirects`, plain CSV |
//! | [`routes`] | route files (TOML): read with file and line, written back |
//! | [`lint`] | `check`: the lints, each finding with file, line, key and lint |
//! | [`offline`] | the routes as the worker sees them, in memory: the core's own lookup for `explain` and loops |
pub mod formats;
pub mod lint;
pub mod offline;
pub mod routes;

/// Run the command line; returns the exit code.
pub fn run(_args: Vec<String>) -> i32 {
    0
}
