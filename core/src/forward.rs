//! What the control script hands back to the edge script for an admin request.
//!
//! The worker is two scripts per env (docs/architecture.md): the edge script
//! (`redirector-<env>`) serves redirects, and forwards every `/__redirector/admin/`
//! request, untouched, to the control script (`redirector-control-<env>`, reached
//! only through the edge's `CONTROL_<ENV>` service binding), which holds the admin
//! API and the `RouteDo` shards.
//!
//! Read-your-writes stays with the edge: after an accepted write, the location that
//! served it must pin the new values in its Cache API and its isolate must forget its
//! copies ([`crate::ryw`]). So the control script's answer to a write carries the
//! writes: the [`WRITES_HEADER`] header says so, and the body is an envelope,
//! `{"body": <the client's body>, "writes": [{"key": K, "value": V or null}]}`,
//! which the edge opens ([`open`]) before it answers the client with the inner body
//! and without the header. Every other answer passes through as it is.
//!
//! The envelope is the one contract between the two scripts besides the `RouteDo`
//! messages ([`crate::strong::msg`]). Edge versions older and newer than the control
//! script meet it (a gradual rollout, a rollback of the edge alone), so both change
//! only by adding fields that readers may ignore and writers may leave out; never by
//! renaming or removing one.

use serde::{Deserialize, Serialize};

use crate::error::{Error, StoreError};
use crate::ryw::PIN_MAX_KEYS;
use crate::store::Write;

/// Set (to `1`) on a control answer whose body is an envelope.
pub const WRITES_HEADER: &str = "x-redirector-writes";
/// Set (to `1`) by `src/wasm-handler.mjs` on the 503 it answers for a request whose
/// wasm instance died (a panic): that request's click was never written, so the
/// edge writes it when the control script's answer carries this.
pub const PANICKED_HEADER: &str = "x-redirector-panicked";

/// One accepted write, as the edge needs it: the key and its new value (`None`:
/// deleted, or a bulk of more than [`PIN_MAX_KEYS`] keys, whose values the edge does
/// not pin: it notes their hosts instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub key: String,
    pub value: Option<String>,
}

/// An opened envelope: the body for the client and the writes to pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub body: String,
    pub writes: Vec<Written>,
}

/// The control script's body for an accepted write.
pub fn seal(body: &str, writes: &[Write]) -> String {
    let pinned = writes.len() <= PIN_MAX_KEYS;
    let writes = writes.iter().map(|w| Written { key: w.key.key.clone(), value: w.value.clone().filter(|_| pinned) }).collect();
    let envelope = Envelope { body: body.to_owned(), writes };
    // A struct of strings always serialises.
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// Open an envelope. Failing here means the two scripts disagree (a version skew or
/// a bug); the write was stored, so the edge answers 503 with this error and the
/// client retries (writes are idempotent).
pub fn open(text: &str) -> Result<Envelope, Error> {
    serde_json::from_str(text).map_err(|e| Error::StoreUnavailable(StoreError(format!("the control script's answer to a write did not parse: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::parse_key;

    #[test]
    fn a_sealed_envelope_opens_to_the_same_body_and_writes() {
        let writes = vec![
            Write { key: parse_key("go.example.com/a").unwrap(), value: Some(r#"{"to":"https://e.com/\u2603"}"#.into()) },
            Write { key: parse_key("rules:*").unwrap(), value: None },
        ];
        let body = "{\"ok\":true,\n\"key\":\"go.example.com/a\"}";
        let opened = open(&seal(body, &writes)).unwrap();
        assert_eq!(opened.body, body);
        let keys: Vec<(&str, Option<&str>)> = opened.writes.iter().map(|w| (w.key.as_str(), w.value.as_deref())).collect();
        assert_eq!(keys, [("go.example.com/a", Some(r#"{"to":"https://e.com/\u2603"}"#)), ("rules:*", None)]);
    }

    #[test]
    fn a_bulk_too_big_to_pin_is_sealed_without_its_values() {
        let writes: Vec<Write> =
            (0..=PIN_MAX_KEYS).map(|i| Write { key: parse_key(&format!("h{}.example/{i}", i % 3)).unwrap(), value: Some(format!("\"https://e.com/{i}\"")) }).collect();
        let opened = open(&seal("{}", &writes)).unwrap();
        assert_eq!(opened.writes.len(), PIN_MAX_KEYS + 1, "every key, for the hosts' notes and the isolate's cache");
        assert!(opened.writes.iter().all(|w| w.value.is_none()));
        let opened = open(&seal("{}", &writes[..PIN_MAX_KEYS])).unwrap();
        assert!(opened.writes.iter().all(|w| w.value.is_some()), "up to the limit, each key is pinned with its value");
    }

    #[test]
    fn an_envelope_that_does_not_parse_is_a_503_not_a_panic() {
        for text in ["", "{}", "[]", "{\"body\":1,\"writes\":[]}", "{\"body\":\"b\",\"writes\":[{\"key\":1}]}"] {
            let e = open(text).unwrap_err();
            assert_eq!(e.reply().status, 503, "{text}");
        }
    }
}
