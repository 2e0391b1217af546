//! `idna_adapter` for this workspace: the back end the `idna` crate (through `url`)
//! uses for UTS 46, chosen by target.
//!
//! - Natively (the CLI, the core's tests, the fuzz targets): ICU4X, exactly
//!   idna_adapter 1.2.2 from crates.io (`icu4x.rs`, unchanged).
//! - On wasm32 (the worker): no Unicode back end, idna_adapter 1.0.0 (`stub.rs`,
//!   unchanged but for one fix: its `map_normalize` lower-cases ASCII instead of
//!   asserting idna did, see README.md). `url` then refuses a non-ASCII host and takes an `xn--`
//!   label without checking it; the core sends both to the runtime's own WHATWG URL
//!   parser instead (`redirector_core::unicode`), and the wasm binary does not carry
//!   the IDNA and NFC tables (about 58 KB gzip).
//!
//! Upstream offers the choice only per `Cargo.lock` (pinning 1.0.x or 1.2.x), and this
//! workspace builds both the CLI and the worker from one lock file.

#![no_std]
// The upstream code as released (it uses ICU4X methods deprecated since), unlinted.
#![allow(deprecated, clippy::all)]

#[cfg(not(target_arch = "wasm32"))]
mod icu4x;
#[cfg(not(target_arch = "wasm32"))]
pub use icu4x::*;

#[cfg(target_arch = "wasm32")]
mod stub;
#[cfg(target_arch = "wasm32")]
pub use stub::*;
