//! The core's modules import each other without cycles (a module that needs one
//! above it sits on the wrong floor; see the layer table in `src/lib.rs`). Reads the
//! sources: every `crate::<module>` path in code, outside comment lines and tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).unwrap();
            let module = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
            out.push((module, fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The code lines of a file, without comment lines and `#[cfg(test)]` items (by braces).
fn without_tests(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut skipping, mut depth, mut armed) = (false, 0i32, false);
    // Whole-line comments only: `//` inside a line is as often a URL in a string.
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        if line.trim() == "#[cfg(test)]" {
            armed = true;
            continue;
        }
        if armed && !skipping {
            skipping = true;
            depth = 0;
        }
        if skipping {
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            if depth <= 0 && (line.contains('}') || line.trim_end().ends_with(';')) {
                skipping = false;
                armed = false;
            }
            continue;
        }
        out.push(line);
    }
    out
}

fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in files {
        if module == "lib" {
            continue;
        }
        let deps = graph.entry(module.clone()).or_default();
        for line in without_tests(&text) {
            for part in line.split("crate::").skip(1) {
                let dep: String = part.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !dep.is_empty() && dep != module {
                    deps.insert(dep);
                }
            }
        }
    }
    graph
}

#[test]
fn core_modules_import_each_other_without_cycles() {
    let graph = imports();
    assert!(graph.len() > 15, "read the modules: {:?}", graph.keys());
    // Depth-first search; a module met again on the current path closes a cycle.
    fn visit<'a>(m: &'a str, g: &'a BTreeMap<String, BTreeSet<String>>, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) {
        if let Some(at) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {}", [&path[at..], &[m]].concat().join(" -> "));
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for d in g.get(m).into_iter().flatten() {
            visit(d, g, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}
