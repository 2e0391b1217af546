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
    use redirector_core::canon::canonical_host;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_runtime_gives_what_the_shared_cases_expect() {
        // The same table the ICU4X tables are held to natively (core/src/unicode_cases.rs)
        // and workerd is (tests/integration/unicode.test.mjs).
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
}
