#![no_main]
// Invariants: redirector_core::fuzzing::cookie (core/src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| redirector_core::fuzzing::cookie(data));
