#![no_main]
// Invariants: redirector_core::fuzzing::strong (core/src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| redirector_core::fuzzing::strong(data));
