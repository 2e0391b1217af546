#![no_main]
// Invariants: redirector_core::fuzzing::rules (core/src/fuzzing.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| redirector_core::fuzzing::rules(data));
