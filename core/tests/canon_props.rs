//! Property tests for canonicalisation: whatever the input, the canonical form is
//! well-formed, stable (canonicalising it again changes nothing), and never panics.

use proptest::prelude::*;
use redirector_core::canon::{canonical_host, canonical_path, parse_host, rewrite_path};

/// Paths built from the pieces that make canonicalisation interesting.
fn path_strategy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/".to_string()),
        Just("//".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("%2e".to_string()),
        Just("%2F".to_string()),
        Just("%2f".to_string()),
        Just("%41".to_string()),
        Just("%7e".to_string()),
        Just("%c3%a9".to_string()),
        Just("e\u{301}".to_string()),
        Just("%CC%81".to_string()),
        Just("%ff".to_string()),
        Just("%".to_string()),
        Just("%3d".to_string()),
        Just("=".to_string()),
        Just("\u{338}".to_string()),
        Just("\u{212A}".to_string()),
        Just("?#".to_string()),
        "[a-zA-Z0-9._~!$&'()*+,;=:@-]{1,4}",
        "\\PC{1,3}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| format!("/{}", v.concat()))
}

fn is_well_formed(p: &str) -> bool {
    let b = p.as_bytes();
    if !p.starts_with('/') || p.contains("//") || (p.len() > 1 && p.ends_with('/')) {
        return false;
    }
    if p.split('/').any(|s| s == "." || s == "..") {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = &p[i + 1..i + 3];
                if !hex.bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)) {
                    return false;
                }
                let v = u8::from_str_radix(hex, 16).unwrap();
                // unreserved characters are never left escaped
                if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                    return false;
                }
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&c) => i += 1,
            _ => return false,
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn path_canonical_form_is_well_formed_and_idempotent(raw in path_strategy()) {
        let once = canonical_path(&raw).unwrap();
        prop_assert!(is_well_formed(&once), "{raw:?} -> {once:?}");
        let twice = canonical_path(&once).unwrap();
        prop_assert_eq!(&once, &twice, "not idempotent for {:?}", raw);
    }

    #[test]
    fn path_never_panics_on_arbitrary_text(raw in "\\PC{0,64}") {
        let _ = canonical_path(&raw);
        let _ = canonical_path(&format!("/{raw}"));
    }

    #[test]
    fn slash_escape_is_never_a_separator(a in "[a-z]{1,5}", b in "[a-z]{1,5}") {
        let p = canonical_path(&format!("/{a}%2f{b}")).unwrap();
        prop_assert_eq!(p, format!("/{a}%2F{b}"));
    }

    #[test]
    fn host_canonical_form_is_idempotent(raw in "[a-zA-Z0-9äöüÄÖÜß.-]{1,40}(:[0-9]{1,5})?\\.?") {
        if let Ok(once) = canonical_host(&raw) {
            prop_assert_eq!(canonical_host(&once), Ok(once.clone()));
            prop_assert!(once.is_ascii() && !once.ends_with('.') && !once.contains(':'));
            prop_assert_eq!(once.to_ascii_lowercase(), once.clone());
        }
    }

    #[test]
    fn fast_paths_agree_with_the_full_rewrite(
        path in "(/[a-zA-Z0-9._~-]{0,6}){1,6}",
        host in "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
    ) {
        prop_assert_eq!(canonical_path(&path).unwrap(), rewrite_path(&path));
        prop_assert_eq!(canonical_host(&host), parse_host(&host));
    }

    #[test]
    fn host_never_panics(raw in "\\PC{0,80}") {
        let _ = canonical_host(&raw);
    }
}
