//! # redirector-cli
//!
//! The `redirector` command: routes as code, on the same core as the worker, so
//! parsing, validation, canonicalisation and matching are one implementation.
//!
//! | module | role |
//! |---|---|
//! | [`commands`] | the command line: arguments, one function per command, exit codes |
//! | [`formats`] | import from / export to Cloudflare Bulk Redirects CSV, Netlify `_redirects`, Vercel `redirects`, plain CSV |
//! | [`routes`] | route files (TOML): read with file and line, written back |
//! | [`lint`] | `check`: the lints, each finding with file, line, key and lint |
//! | [`plan`] | `plan`/`publish`: files against what an env serves, scoped to the files' hosts |
//! | [`admin`] | the worker's admin API over HTTP (list, bulk, status) |
//! | [`qr`] | `qr`: QR codes as SVG or PNG |
//! | [`offline`] | the routes as the worker sees them, in memory: the core's own lookup for `explain` and loops |
pub mod admin;
pub mod commands;
pub mod formats;
pub mod lint;
pub mod offline;
pub mod parallel;
pub mod plan;
pub mod qr;
pub mod routes;

pub use commands::run;
