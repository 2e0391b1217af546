//! # redirector-cli
//!
//! The `redirector` command: routes as code, on the same core as the worker, so
//! parsing, validation, canonicalisation and matching are one implementation.
//!
//! | module | role |
//! |---|---|
//! | [`formats`] | import from / export to Cloudflare Bulk Redirects CSV, Netlify `_redirects`, Vercel `redirects`, plain CSV |
//! | [`routes`] | route files (TOML): read with file and line, written back |
pub mod formats;
pub mod routes;

/// Run the command line; returns the exit code.
pub fn run(_args: Vec<String>) -> i32 {
    0
}
