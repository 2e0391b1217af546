//! NFC and IDNA from the runtime, for the core's [`redirector_core::unicode`]: the
//! wasm carries no Unicode tables (`vendor/idna_adapter`), so text that is not ASCII
//! is normalised by `String.prototype.normalize` and hosts that are not plain ASCII
//! are read by the runtime's WHATWG `URL`, the parser that also serialised the
//! request URL. [`install`] runs on an instance's first request and in each Durable
//! Object, before anything canonicalises a path or parses a record.

use redirector_core::unicode::{self, Runtime};
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(inline_js = "export function runtime_nfc(s) {
  try { return s.normalize('NFC'); } catch { return undefined; }
}
export function runtime_url_href(s) {
  try { return new URL(s).href; } catch { return undefined; }
}")]
extern "C" {
    fn runtime_nfc(text: &str) -> Option<String>;
    fn runtime_url_href(raw: &str) -> Option<String>;
}

/// Give the core the runtime's NFC and URL parser (idempotent).
pub fn install() {
    unicode::install(Runtime { nfc: runtime_nfc, url_href: runtime_url_href });
}

#[cfg(test)]
mod tests {
    use redirector_core::canon::{canonical_host, canonical_path};
    use redirector_core::record::parse_link_record;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn hosts_through_the_runtime_idna() {
        super::install();
        assert_eq!(canonical_host("B\u{fc}cher.Example").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(canonical_host("xn--bcher-kva.example:8787").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(canonical_host("fa\u{df}.de").as_deref(), Ok("xn--fa-hia.de"), "nontransitional, as url::Url");
        // Invalid punycode, which url without its tables would take as it is.
        assert!(canonical_host("xn--zz.example").is_err());
        // Nothing that could end the host early in the runtime's parser gets there.
        for bad in ["b\u{fc}cher.example/x", "a@b\u{fc}cher.example", "b\u{fc}cher.example?x", "b\u{fc}cher.example#x", "b\u{fc}cher.example\\x"] {
            assert!(canonical_host(bad).is_err(), "{bad:?}");
        }
    }

    #[wasm_bindgen_test]
    fn the_runtime_gives_what_the_shared_cases_expect() {
        // The same table the ICU4X tables are held to natively (core/src/unicode.rs).
        super::install();
        let wrong = redirector_core::unicode_cases::disagreements(include_str!("../core/tests/data/unicode_cases.txt"));
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[wasm_bindgen_test]
    fn stub_idna_adapter_panicked_on_mixed_case_non_ascii_label() {
        super::install();
        // vendor/idna_adapter's stub asserted the label was already lower case.
        assert_eq!(canonical_host("B\u{dc}CHER.example").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(canonical_host("XN--BCHER-KVA.example").as_deref(), Ok("xn--bcher-kva.example"));
    }

    #[wasm_bindgen_test]
    fn paths_in_nfc_through_the_runtime() {
        super::install();
        assert_eq!(canonical_path("/cafe%CC%81").as_deref(), Ok("/caf%C3%A9"));
        assert_eq!(canonical_path("/caf\u{e9}").as_deref(), Ok("/caf%C3%A9"));
        assert_eq!(canonical_path("/plain").as_deref(), Ok("/plain"));
    }

    #[wasm_bindgen_test]
    fn record_targets_through_the_runtime_idna() {
        super::install();
        let record = parse_link_record(r#"{"to":"https://B\u00fccher.example/x"}"#).expect("a Unicode host is a valid target");
        assert_eq!(record.to.as_str(), "https://xn--bcher-kva.example/x");
        assert!(parse_link_record(r#"{"to":"https://xn--zz.example/"}"#).is_err(), "invalid punycode");
        assert!(parse_link_record(r#"{"to":"https://b\u00fccher.example:99999/"}"#).is_err(), "bad port");
        assert_eq!(parse_link_record("https://example.com/a").unwrap().to.as_str(), "https://example.com/a");
    }
}
