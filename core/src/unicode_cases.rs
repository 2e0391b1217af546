//! The NFC and IDNA cases both Unicode back ends of [`crate::unicode`] must agree on
//! (`core/tests/data/unicode_cases.txt`), checked through the functions that use
//! them: [`crate::canon`] and [`crate::record`]. A module of its own so that
//! `unicode` stays below those two (no import cycle); test support only, run by a
//! native test here and a wasm test in the worker (`src/unicode.rs`).

/// One line per case in `cases` (the file's text) that does not give what it expects.
pub fn disagreements(cases: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in cases.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        let [kind, input, expected] = fields.as_slice() else {
            out.push(format!("malformed case line {line:?}"));
            continue;
        };
        let got = match kind.as_str() {
            "host" => crate::canon::canonical_host(input).map_err(|e| e.to_string()),
            "path" => crate::canon::canonical_path(input).map_err(|e| e.to_string()),
            "to" => crate::record::link_from_value(serde_json::json!({ "to": input })).map(|r| r.to.to_string()).map_err(|e| e.reason),
            other => Err(format!("unknown kind {other:?}")),
        };
        match (&got, expected.as_str()) {
            (Ok(text), want) if text == want => {}
            (Err(_), "ERR") => {}
            _ => out.push(format!("{kind} {input:?}: got {got:?}, expected {expected:?}")),
        }
    }
    out
}

/// `\u{hex}` escapes in a case line, decoded; anything else as it is.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(at) = rest.find("\\u{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let decoded = after.find('}').and_then(|end| u32::from_str_radix(&after[..end], 16).ok().and_then(char::from_u32).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("\\u{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_give_what_the_shared_cases_expect() {
        let wrong = disagreements(include_str!("../tests/data/unicode_cases.txt"));
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn case_escapes() {
        assert_eq!(unescape("a\\u{fc}b\\u{1F600}"), "a\u{fc}b\u{1f600}");
        assert_eq!(unescape("x\\u{zz}y\\u{"), "x\\u{zz}y\\u{");
    }

}
