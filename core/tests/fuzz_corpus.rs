//! Replays the fuzz corpus (`fuzz/corpus/<target>/`, minimised, in the repository)
//! through the same invariant checks the fuzz targets run (`core/src/fuzzing.rs`),
//! on stable Rust and without libFuzzer: `scripts/test` runs it, `scripts/fuzz` grows
//! the corpus.

use std::fs;
use std::path::Path;

use redirector_core::fuzzing::TARGETS;

#[test]
fn every_corpus_input_keeps_every_invariant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).filter_map(|e| e.ok().map(|e| e.path())).collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{name}: no corpus");
        for input in inputs {
            let data = fs::read(&input).unwrap_or_default();
            let result = std::panic::catch_unwind(|| target(&data));
            assert!(result.is_ok(), "{name}: {} breaks an invariant", input.display());
        }
    }
}
