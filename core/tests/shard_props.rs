//! One function decides every key's shard: the admin API's parsed keys, the worker's
//! store and the Durable Objects all agree ([`redirector_core::key::shard_of`]).

use proptest::prelude::*;
use redirector_core::canon::canonical_host;
use redirector_core::key::{parse_key, shard_of};

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        "[*a-zA-Z0-9.-]{1,30}",
        "\\*\\.[a-z0-9-]{1,10}\\.(com|example)",
        "[a-z0-9]{1,8}(\\.[a-zA-Z0-9]{1,8}){0,3}\\.?(:[0-9]{1,5})?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_key_has_one_shard(host in host(), path in "(/[a-zA-Z0-9%._*-]{0,8}){1,4}/?", rules in any::<bool>()) {
        let raw = if rules { format!("rules:{host}") } else { format!("{host}{path}") };
        if let Ok(key) = parse_key(&raw) {
            prop_assert_eq!(shard_of(&key.key), key.shard.as_str(), "{}", raw);
            // The shard is the host a request for that key carries, canonicalised.
            if key.shard != "*" {
                prop_assert_eq!(canonical_host(&key.shard).ok(), Some(key.shard.clone()));
            }
            // Parsing the canonical key again changes nothing.
            prop_assert_eq!(parse_key(&key.key).ok(), Some(key.clone()));
        }
    }
}
