//! `plan` and `publish`: the difference between the route files and what an env
//! serves, and applying it.
//!
//! Scope: only the hosts the files name (their shards, `*` included) are compared,
//! so routes other writers keep on other hosts are never reported for deletion.
//! Deletes are planned but applied only with `--delete`.

use std::collections::{BTreeMap, BTreeSet};

use redirector_core::key::shard_of;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Add { key: String, value: Value },
    Change { key: String, from: Value, to: Value },
    Delete { key: String, value: Value },
}

impl Change {
    pub fn key(&self) -> &str {
        match self {
            Change::Add { key, .. } | Change::Change { key, .. } | Change::Delete { key, .. } => key,
        }
    }

    /// The admin bulk entry that makes this change.
    pub fn write(&self) -> Value {
        match self {
            Change::Add { key, value } | Change::Change { key, to: value, .. } => json!({ "key": key, "value": value }),
            Change::Delete { key, .. } => json!({ "key": key, "delete": true }),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Routes the env serves on hosts the files do not name (left alone).
    pub other_hosts: usize,
}

impl Plan {
    pub fn count(&self) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for c in &self.changes {
            match c {
                Change::Add { .. } => n.0 += 1,
                Change::Change { .. } => n.1 += 1,
                Change::Delete { .. } => n.2 += 1,
            }
        }
        n
    }

    /// The hosts (shards) the changes touch.
    pub fn hosts(&self) -> BTreeSet<String> {
        self.changes.iter().map(|c| shard_of(c.key()).to_string()).collect()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            match c {
                Change::Add { key, value } => out.push_str(&format!("+ {key}  {value}\n")),
                Change::Change { key, from, to } => out.push_str(&format!("~ {key}\n    - {from}\n    + {to}\n")),
                Change::Delete { key, value } => out.push_str(&format!("- {key}  {value}\n")),
            }
        }
        let (a, c, d) = self.count();
        out.push_str(&format!("plan: {a} to add, {c} to change, {d} to delete"));
        if self.other_hosts > 0 {
            out.push_str(&format!(" ({} routes on hosts these files do not name are left alone)", self.other_hosts));
        }
        out
    }
}

/// The plan from `desired` (the files' KV view) to `current` (what the env serves).
pub fn plan(desired: &BTreeMap<String, Value>, current: &BTreeMap<String, Value>) -> Plan {
    let hosts: BTreeSet<&str> = desired.keys().map(|k| shard_of(k)).collect();
    let mut changes = Vec::new();
    for (key, value) in desired {
        match current.get(key) {
            None => changes.push(Change::Add { key: key.clone(), value: value.clone() }),
            Some(now) if now != value => changes.push(Change::Change { key: key.clone(), from: now.clone(), to: value.clone() }),
            Some(_) => {}
        }
    }
    let mut other_hosts = 0;
    for (key, value) in current {
        if desired.contains_key(key) {
            continue;
        }
        if hosts.contains(shard_of(key)) {
            changes.push(Change::Delete { key: key.clone(), value: value.clone() });
        } else {
            other_hosts += 1;
        }
    }
    Plan { changes, other_hosts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn adds_changes_and_deletes_within_the_files_hosts() {
        let desired = map(&[("a.com/x", json!({"to": "https://e.com/x"})), ("a.com/y", json!({"to": "https://e.com/y2"})), ("rules:a.com", json!([]))]);
        let current = map(&[("a.com/y", json!({"to": "https://e.com/y"})), ("a.com/old", json!("https://e.com/o")), ("b.com/z", json!({"to": "https://e.com/z"})), ("rules:a.com", json!([]))]);
        let p = plan(&desired, &current);
        assert_eq!(p.count(), (1, 1, 1));
        assert_eq!(p.other_hosts, 1, "b.com is not named by the files");
        assert_eq!(p.changes.iter().map(Change::key).collect::<Vec<_>>(), ["a.com/x", "a.com/y", "a.com/old"]);
        assert_eq!(p.changes[2].write(), json!({"key": "a.com/old", "delete": true}));
        assert!(plan(&desired, &desired).changes.is_empty(), "no difference, nothing to do");
        assert!(p.render().ends_with("plan: 1 to add, 1 to change, 1 to delete (1 routes on hosts these files do not name are left alone)"));
    }
}
