//! Rule arrays (`rules:<host>`, `rules:*`): parsing, matching, and the isolate cache.
//!
//! A rule is a link record plus `from` (a [`Pattern`]). Rules are tried in array
//! order and the first whose pattern matches and whose record is live wins; a rule
//! absent by `enabled`/`starts`/`expires` falls through to the next rule.
//!
//! Invalid input, as for exact links, is never redirected to:
//! * a rule whose `from` parses but whose record is invalid keeps its place: a
//!   request it matches is answered as an invalid record (500), not passed to a
//!   later, broader rule;
//! * an array that is not JSON, not an array, or has a rule without a valid `from`
//!   is invalid as a whole: every request that reaches it answers 500.
//!
//! Rule arrays change rarely and are read on every exact-link miss, so the worker
//! keeps parsed arrays (and their absence) in the isolate cache
//! ([`crate::cache`], 30 s); a change in KV reaches a location after KV's own edge
//! propagation (up to about 60 s) plus at most that lifetime.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use crate::pattern::{Captures, Pattern};
use crate::record::{link_from_value, LinkRecord, RecordError};

/// One entry of a rule array. (Invalid rules are rare; boxing the valid record would
/// cost an allocation per rule for nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Valid { from: String, pattern: Pattern, record: Rc<LinkRecord> },
    Invalid { from: String, pattern: Pattern, error: RecordError },
}

impl Rule {
    pub fn from(&self) -> &str {
        match self {
            Rule::Valid { from, .. } | Rule::Invalid { from, .. } => from,
        }
    }
    fn pattern(&self) -> &Pattern {
        match self {
            Rule::Valid { pattern, .. } | Rule::Invalid { pattern, .. } => pattern,
        }
    }
}

/// A parsed rule array, indexed by first path segment so a request only tries the
/// rules that can match it (array order is kept).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Rules whose pattern starts with a literal segment, by that segment.
    by_first: HashMap<String, Vec<usize>>,
    /// Rules whose pattern starts with a placeholder or `*` (or is `/`).
    any_first: Vec<usize>,
}

/// What matching a path against a rule array found.
#[derive(Debug, PartialEq)]
pub enum RuleMatch<'a> {
    /// Rule `index` matched and is live.
    /// `skipped`: earlier rules that matched the path but were not live.
    Hit { index: usize, from: &'a str, record: &'a Rc<LinkRecord>, captures: Captures, skipped: Vec<usize> },
    /// Rule `index` matched but breaks the contract.
    Invalid { index: usize, error: &'a RecordError },
    /// No live rule matched; `skipped` lists rules that matched but were not live.
    Miss { skipped: Vec<usize> },
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any_first = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            match rule.pattern().first_literal() {
                Some(first) => by_first.entry(first.to_string()).or_default().push(i),
                None => any_first.push(i),
            }
        }
        Self { rules, by_first, any_first }
    }

    /// Indexes of the rules that could match `path`, in array order.
    fn candidates(&self, path: &str) -> impl Iterator<Item = usize> + '_ {
        let first = path.split('/').find(|s| !s.is_empty());
        let literal: &[usize] = first.and_then(|f| self.by_first.get(f)).map_or(&[], Vec::as_slice);
        let (mut a, mut b) = (literal.iter().peekable(), self.any_first.iter().peekable());
        std::iter::from_fn(move || match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x < y => a.next().copied(),
            (Some(_), Some(_)) | (None, Some(_)) => b.next().copied(),
            (Some(_), None) => a.next().copied(),
            (None, None) => None,
        })
    }

    /// First rule that matches `path` and is live at `now_ms`.
    pub fn first_match(&self, path: &str, now_ms: i64) -> RuleMatch<'_> {
        let mut skipped = Vec::new();
        for index in self.candidates(path) {
            let rule = &self.rules[index];
            let Some(captures) = rule.pattern().matches(path) else { continue };
            match rule {
                Rule::Invalid { error, .. } => return RuleMatch::Invalid { index, error },
                Rule::Valid { record, from, .. } if record.is_live(now_ms) => {
                    return RuleMatch::Hit { index, from, record, captures, skipped }
                }
                Rule::Valid { .. } => skipped.push(index),
            }
        }
        RuleMatch::Miss { skipped }
    }

    /// The earliest `starts` after `now_ms` among the rules at `indexes`: when a
    /// lookup that went past them will answer differently.
    pub fn next_start(&self, indexes: &[usize], now_ms: i64) -> Option<i64> {
        indexes
            .iter()
            .filter_map(|&i| match self.rules.get(i) {
                Some(Rule::Valid { record, .. }) if record.enabled => record.starts_ms.filter(|s| *s > now_ms),
                _ => None,
            })
            .min()
    }
}

/// Parse a rule array from its KV value.
pub fn parse_rules(raw: &str) -> Result<RuleSet, RecordError> {
    let whole = |reason: String| RecordError { field: "rules".into(), reason };
    let value: Value = serde_json::from_str(raw).map_err(|e| whole(format!("not valid JSON ({e})")))?;
    let Value::Array(items) = value else {
        return Err(whole("must be a JSON array of rule records".into()));
    };
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut map) = item else {
            return Err(RecordError { field: format!("[{i}]"), reason: "a rule must be a JSON object with \"from\"".into() });
        };
        let from = match map.remove("from") {
            Some(Value::String(s)) => s,
            _ => return Err(RecordError { field: format!("[{i}].from"), reason: "is required and must be a string".into() }),
        };
        let pattern = Pattern::parse(&from).map_err(|reason| RecordError { field: format!("[{i}].from"), reason })?;
        rules.push(match link_from_value(Value::Object(map)) {
            // Strong state (kill switch, click caps) lives per link key in the Durable Object.
            Ok(record) if record.strong => Rule::Invalid {
                from,
                pattern,
                error: RecordError { field: format!("[{i}].strong"), reason: "is for exact links only, not rules".into() },
            },
            Ok(record) => Rule::Valid { from, pattern, record: Rc::new(record) },
            Err(e) => Rule::Invalid {
                from,
                pattern,
                error: RecordError { field: format!("[{i}].{}", e.field), reason: e.reason },
            },
        });
    }
    Ok(RuleSet::new(rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_in_array_order_with_fallthrough() {
        let set = parse_rules(
            r#"[
              {"from":"/old/:id","to":"https://n.example.com/:id","enabled":false},
              {"from":"/old/:id","to":"https://n.example.com/v2/:id"},
              {"from":"/old/*","to":"https://n.example.com/rest/:splat"},
              {"from":"/bad/:x","to":"javascript:alert(1)"},
              {"from":"/*","to":"https://n.example.com/catch-all"}
            ]"#,
        )
        .unwrap();
        match set.first_match("/old/7", 0) {
            RuleMatch::Hit { index, .. } => assert_eq!(index, 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(set.first_match("/old/7/8", 0), RuleMatch::Hit { index: 2, .. }));
        assert!(matches!(set.first_match("/bad/1", 0), RuleMatch::Invalid { index: 3, .. }));
        assert!(matches!(set.first_match("/bad/1/2", 0), RuleMatch::Hit { index: 4, .. }));
        if let RuleMatch::Invalid { error, .. } = set.first_match("/bad/1", 0) {
            assert_eq!(error.field, "[3].to");
        }
    }

    #[test]
    fn index_keeps_array_order_across_literal_and_generic_rules() {
        let set = parse_rules(
            r#"[
              {"from":"/a/x","to":"https://n.example.com/0"},
              {"from":"/:any/x","to":"https://n.example.com/1"},
              {"from":"/a/*","to":"https://n.example.com/2"},
              {"from":"/*","to":"https://n.example.com/3"},
              {"from":"/b","to":"https://n.example.com/4"}
            ]"#,
        )
        .unwrap();
        let hit = |p: &str| match set.first_match(p, 0) {
            RuleMatch::Hit { index, .. } => Some(index),
            _ => None,
        };
        assert_eq!(set.candidates("/a/x").collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(set.candidates("/b").collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(set.candidates("/").collect::<Vec<_>>(), [1, 3]);
        assert_eq!(hit("/a/x"), Some(0));
        assert_eq!(hit("/c/x"), Some(1));
        assert_eq!(hit("/a/y"), Some(2));
        assert_eq!(hit("/b"), Some(3), "'/*' comes before '/b' in the array");
        assert_eq!(hit("/"), Some(3));
    }

    #[test]
    fn invalid_arrays() {
        for (raw, field) in [
            ("{", "rules"),
            ("{}", "rules"),
            (r#"["https://e.com"]"#, "[0]"),
            (r#"[{"to":"https://e.com"}]"#, "[0].from"),
            (r#"[{"from":"nope","to":"https://e.com"}]"#, "[0].from"),
            (r#"[{"from":"/a/*/b","to":"https://e.com"}]"#, "[0].from"),
        ] {
            assert_eq!(parse_rules(raw).unwrap_err().field, field, "{raw}");
        }
    }
}
