//! Property tests: whatever a request path holds, substituting its placeholder and
//! splat values into a rule's target never changes the target's scheme, host or port
//! (and never needs the defensive origin check to catch it).

use proptest::prelude::*;
use redirector_core::canon::canonical_path;
use redirector_core::pattern::{substitute, Pattern, SubstituteError};
use url::Url;

const TEMPLATES: [&str; 6] = [
    "https://t.example.com/:a/:splat",
    "https://t.example.com/x?v=:a&rest=:splat",
    "https://t.example.com:8443/:a#:splat",
    "http://t.example.com/:a:splat",
    "https://t.example.com/p/:a/:a?q=:splat#f",
    "https://[2001:db8::abcd]/:a/:splat",
];

fn hostile_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("@evil.com".to_string()),
        Just("%2F%2Fevil.com".to_string()),
        Just("..%2F..".to_string()),
        Just("%3A%2F%2Fevil.com".to_string()),
        Just("evil.com%23".to_string()),
        Just("%3Fx%3D1".to_string()),
        Just("%40".to_string()),
        Just("%5C%5Cevil.com".to_string()),
        Just("%0D%0ALocation:%20x".to_string()),
        Just("caf%C3%A9".to_string()),
        "[a-zA-Z0-9:@!$&'()*+,;=._~-]{1,12}",
        "\\PC{1,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn substituted_values_never_change_the_origin(
        t in 0..TEMPLATES.len(),
        segs in proptest::collection::vec(hostile_segment(), 1..6),
    ) {
        let template = Url::parse(TEMPLATES[t]).unwrap();
        let pattern = Pattern::parse("/:a/*").unwrap();
        let Ok(path) = canonical_path(&format!("/{}", segs.join("/"))) else { return Ok(()) };
        let Some(caps) = pattern.matches(&path) else { return Ok(()) };
        match substitute(&template, &caps) {
            Ok(url) => {
                prop_assert_eq!(url.scheme(), template.scheme());
                prop_assert_eq!(url.host_str(), template.host_str());
                prop_assert_eq!(url.port(), template.port());
                prop_assert!(url.username().is_empty() && url.password().is_none());
                prop_assert!(!url.as_str().contains(['\r', '\n', ' ']));
            }
            Err(SubstituteError::TooLong) => {}
            Err(SubstituteError::OriginChanged) => prop_assert!(false, "origin changed for {path} into {template}"),
        }
    }
}
