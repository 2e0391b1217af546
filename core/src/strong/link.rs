//! A strong link's counter (`link:<key>`, one object per strong link): its copy of
//! the authoritative record and its click count, and the click decision.
//!
//! One object per strong link, not per host: a flood of clicks on one link queues in
//! that link's object only; the host's other strong links and the admin writes (the
//! kill switch included) go to other objects.
//!
//! The copy comes from the host's shard: on the first click the counter asks it
//! ([`crate::strong::msg::ShardRequest::Adopt`]), and every later write of the key is
//! pushed by the shard ([`LinkState::update`]), newest version wins.

use serde::{Deserialize, Serialize};

use crate::record::parse_link_record;
use crate::strong::msg::StrongAnswer;

/// What a counter stores (one value, persisted after every change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// The record text; `None` is a tombstone (deleted).
    pub value: Option<String>,
    /// The shard's version of that record.
    pub version: u64,
    /// Redirects counted against `max_clicks`.
    pub clicks: u64,
}

impl LinkState {
    /// A counter's first state, from the shard's answer (versions start at 1).
    pub fn adopted(value: Option<String>, version: u64) -> Self {
        Self { value, version, clicks: 0 }
    }

    /// A redirect asks: decide, and count it when the record has `max_clicks`. The
    /// check and the increment are one synchronous step on this state, so concurrent
    /// clicks can never over-count. Returns the answer and whether the state changed
    /// (and must be persisted before the answer leaves).
    pub fn click(&mut self, now_ms: i64) -> (StrongAnswer, bool) {
        match self.decide(now_ms) {
            Decision::Serve { counted: true } => {
                self.clicks += 1;
                (StrongAnswer::Serve(self.value.clone().unwrap_or_default()), true)
            }
            Decision::Serve { counted: false } => (StrongAnswer::Serve(self.value.clone().unwrap_or_default()), false),
            Decision::Absent(why) => (StrongAnswer::Absent(why), false),
        }
    }

    /// Explain asks: the same decision as [`LinkState::click`], nothing counted.
    pub fn peek(&self, now_ms: i64) -> StrongAnswer {
        match self.decide(now_ms) {
            Decision::Serve { .. } => StrongAnswer::Serve(self.value.clone().unwrap_or_default()),
            Decision::Absent(why) => StrongAnswer::Absent(why),
        }
    }

    /// The shard pushes a newer record (or a delete). Older versions are ignored; a
    /// delete resets the count (a link created again later starts from zero), an
    /// update keeps it (raising `max_clicks` from 50 to 100 allows 50 more). Returns
    /// whether anything changed.
    pub fn update(&mut self, value: Option<String>, version: u64) -> bool {
        if version <= self.version {
            return false;
        }
        if value.is_none() {
            self.clicks = 0;
        }
        self.value = value;
        self.version = version;
        true
    }

    fn decide(&self, now_ms: i64) -> Decision {
        let Some(raw) = &self.value else { return Decision::Absent("deleted".into()) };
        // An invalid record is served as text: the worker reports it as a fault.
        let Ok(record) = parse_link_record(raw) else { return Decision::Serve { counted: false } };
        if !record.strong {
            return Decision::Serve { counted: false };
        }
        if !record.is_live(now_ms) {
            return Decision::Absent("not live (enabled/starts/expires)".into());
        }
        match record.max_clicks {
            Some(max) if self.clicks >= max => Decision::Absent(format!("max_clicks {max} reached")),
            Some(_) => Decision::Serve { counted: true },
            None => Decision::Serve { counted: false },
        }
    }
}

enum Decision {
    Serve { counted: bool },
    Absent(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn state(raw: &str) -> LinkState {
        LinkState::adopted(Some(raw.into()), 1)
    }

    #[test]
    fn a_cap_serves_exactly_max_clicks() {
        let mut s = state(r#"{"to":"https://e.com","strong":true,"max_clicks":2}"#);
        assert!(matches!(s.click(NOW), (StrongAnswer::Serve(_), true)));
        assert!(matches!(s.peek(NOW), StrongAnswer::Serve(_)), "a peek between clicks counts nothing");
        assert!(matches!(s.click(NOW), (StrongAnswer::Serve(_), true)));
        assert_eq!(s.click(NOW), (StrongAnswer::Absent("max_clicks 2 reached".into()), false));
        assert_eq!(s.clicks, 2);
    }

    #[test]
    fn peek_never_changes_the_state() {
        let s = state(r#"{"to":"https://e.com","strong":true,"max_clicks":1}"#);
        let before = s.clone();
        for _ in 0..5 {
            assert!(matches!(s.peek(NOW), StrongAnswer::Serve(_)));
        }
        assert_eq!(s, before);
    }

    #[test]
    fn kill_switch_tombstone_and_window() {
        let mut s = state(r#"{"to":"https://e.com","strong":true}"#);
        assert!(!s.click(NOW).1, "no cap: nothing to count or persist");
        assert!(s.update(Some(r#"{"to":"https://e.com","strong":true,"enabled":false}"#.into()), 2));
        assert!(matches!(s.click(NOW).0, StrongAnswer::Absent(_)));
        assert!(!s.update(Some(r#"{"to":"https://e.com","strong":true}"#.into()), 2), "same version: ignored");
        assert!(!s.update(Some(r#"{"to":"https://e.com","strong":true}"#.into()), 1), "older version: ignored");
        assert!(matches!(s.click(NOW).0, StrongAnswer::Absent(_)), "an old push never undoes the kill switch");
        assert!(s.update(None, 3));
        assert_eq!(s.click(NOW).0, StrongAnswer::Absent("deleted".into()));
        let gone = state(r#"{"to":"https://e.com","strong":true,"expires":"2020-01-01T00:00:00Z"}"#);
        assert!(matches!(gone.peek(NOW), StrongAnswer::Absent(_)));
    }

    #[test]
    fn a_delete_resets_the_count_an_update_keeps_it() {
        let mut s = state(r#"{"to":"https://e.com","strong":true,"max_clicks":1}"#);
        s.click(NOW);
        assert!(s.update(Some(r#"{"to":"https://e.com","strong":true,"max_clicks":2}"#.into()), 2));
        assert_eq!(s.clicks, 1);
        assert!(matches!(s.click(NOW).0, StrongAnswer::Serve(_)));
        assert!(matches!(s.click(NOW).0, StrongAnswer::Absent(_)));
        s.update(None, 3);
        s.update(Some(r#"{"to":"https://e.com","strong":true,"max_clicks":2}"#.into()), 4);
        assert_eq!(s.clicks, 0);
    }

    #[test]
    fn invalid_and_plain_records_are_served_uncounted() {
        let mut bad = state(r#"{"to":"javascript:x","strong":true,"max_clicks":1}"#);
        assert_eq!(bad.click(NOW), (StrongAnswer::Serve(r#"{"to":"javascript:x","strong":true,"max_clicks":1}"#.into()), false));
        let mut plain = state(r#""https://e.com""#);
        assert!(!plain.click(NOW).1);
    }
}
