//! `redirector check`: every finding names the file, line, key and lint.
//!
//! | lint | level | finds |
//! |---|---|---|
//! | `unreadable` | error | a file that is not a route file (TOML error, unknown table, missing `key`/`host`) |
//! | `invalid-key` | error | a key or host the contract does not allow (`stats:x`, `a b/c`, `fallback:*`) |
//! | `invalid-target` | error | a `to`, `when[i].to`, `canary.to` or `fallback` that is not an absolute http(s) URL, has user-info or control characters (the core's own validation) |
//! | `invalid-record` | error | any other field the contract refuses (status 200, a bad `from`, ...) |
//! | `max-clicks-without-strong` | error | `max_clicks` on a record without `strong = true` (the cap could not hold) |
//! | `open-redirect` | error | a rule that puts a request value into a target's redirect-like query parameter (`?url=:splat`, `next`, `redirect`, ...): the target's own site would bounce anyone anywhere |
//! | `duplicate-key` | error | two entries with the same KV key once canonicalised (host case, trailing `/`, dot segments, NFC, escapes) |
//! | `redirect-loop` | error | following redirects through the project's own hosts comes back to where it started |
//! | `redirect-chain` | warning | a link whose target is another of the project's routes (one hop more for every click) |
//! | `shadowed-rule` | warning | a rule that can never match: an earlier, always-live rule in the same array matches everything it does |
//! | `shadowed-by-link` | warning | a rule with no placeholder whose one path is an exact link (exact links are looked up first) |
//! | `never-matches` | warning | a `when` condition that can never match (an empty list, a country not of two letters, a language with a region, `en-US`: only primary tags are compared), or one an earlier condition always takes first |

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use redirector_core::key::parse_key;
use redirector_core::pattern::Pattern;
use redirector_core::record::link_from_value;
use serde_json::Value;
use url::Url;

use crate::offline::{resolve, Offline};
use crate::routes::{Entry, FileError, Kind, Origin, RouteSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub origin: Origin,
    /// The KV key as written (for a rule, `rules:<host>[i]`).
    pub key: String,
    pub lint: &'static str,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.level == Level::Error { "error" } else { "warning" };
        write!(f, "{}: {level}[{}] {}: {}", self.origin, self.lint, self.key, self.message)
    }
}

/// Findings for files that could not be read.
pub fn unreadable(errors: &[FileError]) -> Vec<Finding> {
    errors
        .iter()
        .map(|e| Finding { level: Level::Error, origin: e.origin.clone(), key: String::new(), lint: "unreadable", message: e.message.clone() })
        .collect()
}

/// Query parameters through which a target's site may redirect anywhere.
const REDIRECT_PARAMS: [&str; 12] = ["url", "u", "redirect", "redirect_uri", "redirect_url", "next", "return", "returnto", "return_to", "continue", "dest", "destination"];

/// What checking one entry on its own found.
struct Checked {
    findings: Vec<Finding>,
    /// The canonical key, when it parsed.
    key: Option<String>,
    /// A valid rule: its host (or `*`), pattern, and whether it is always live.
    rule: Option<(String, Pattern, bool)>,
    /// A valid link's target host.
    target_host: Option<String>,
}

/// Lint a route set at `now_ms` (the time decides which records are live).
pub fn check(set: &RouteSet, now_ms: i64) -> Vec<Finding> {
    // Rules are named by their array and place in it: `rules:<host>[i]`.
    let mut rule_index: HashMap<String, usize> = HashMap::new();
    let shown: Vec<String> = set
        .entries
        .iter()
        .map(|e| match e.kind {
            Kind::Rule => {
                let key = e.kv_key();
                let i = rule_index.entry(key.clone()).or_insert(0);
                *i += 1;
                format!("{key}[{}]", *i - 1)
            }
            Kind::Link | Kind::Fallback => e.kv_key(),
        })
        .collect();
    let items: Vec<(&Entry, &String)> = set.entries.iter().zip(&shown).collect();
    // Each entry on its own (validation, conditions, open redirects), on all cores.
    let checked = crate::parallel::map(&items, |(e, shown)| check_entry(e, shown));
    let mut out = Vec::new();
    let mut keys: HashMap<String, &Entry> = HashMap::with_capacity(set.entries.len());
    let mut rules: Vec<(String, Pattern, bool, &Entry, String)> = Vec::new();
    let mut own: BTreeSet<String> = BTreeSet::new();
    let mut candidates: Vec<(&Entry, String)> = Vec::new();
    for ((e, shown), c) in items.iter().zip(checked) {
        out.extend(c.findings);
        let Some(key) = c.key else { continue };
        let host = redirector_core::key::shard_of(&key);
        if !own.contains(host) {
            own.insert(host.to_string());
        }
        if let Some((host, pattern, live)) = c.rule {
            rules.push((host, pattern, live, e, (*shown).clone()));
        }
        if let (Some(target), Kind::Link, false) = (c.target_host, e.kind, key.starts_with('*')) {
            candidates.push((e, target));
        }
        if e.kind == Kind::Rule {
            continue;
        }
        match keys.get(&key) {
            Some(first) => {
                let same = if first.kv_key() == e.kv_key() { String::new() } else { format!(" (written {:?} there)", first.kv_key()) };
                out.push(Finding { level: Level::Error, origin: e.origin.clone(), key: (*shown).clone(), lint: "duplicate-key", message: format!("{key} is already defined at {}{same}", first.origin) });
            }
            None => {
                keys.insert(key, e);
            }
        }
    }
    own.remove("*");
    // Links whose target is on one of the project's own hosts: followed for loops.
    let targets: Vec<(&Entry, &str)> = candidates
        .into_iter()
        .filter(|(_, host)| own.contains(host))
        .map(|(e, _)| (e, e.record.get("to").and_then(Value::as_str).unwrap_or("")))
        .collect();
    shadowing(&rules, &keys, &mut out);
    if !targets.is_empty() {
        loops(set, &targets, &own, now_ms, &mut out);
    }
    out.sort_by(|a, b| (&a.origin.file, a.origin.line, a.level).cmp(&(&b.origin.file, b.origin.line, b.level)));
    out
}

fn check_entry(e: &Entry, shown: &str) -> Checked {
    let mut c = Checked { findings: Vec::new(), key: None, rule: None, target_host: None };
    let mut find = |level, lint, message: String| c.findings.push(Finding { level, origin: e.origin.clone(), key: shown.to_string(), lint, message });
    let key = match parse_key(&e.kv_key()) {
        Ok(k) => k,
        Err(err) => {
            find(Level::Error, "invalid-key", err.to_string());
            return c;
        }
    };
    let mut record = e.record.clone();
    let from = if e.kind == Kind::Rule { record.remove("from") } else { None };
    let parsed = match link_from_value(Value::Object(record)) {
        Ok(r) => r,
        Err(err) => {
            let lint = match err.field.as_str() {
                "max_clicks" if err.reason.contains("strong") => "max-clicks-without-strong",
                f if f == "to" || f == "fallback" || f == "canary.to" || (f.starts_with("when[") && f.ends_with("].to")) => "invalid-target",
                _ => "invalid-record",
            };
            find(Level::Error, lint, err.to_string());
            c.key = Some(key.key);
            return c;
        }
    };
    for (i, cond) in parsed.when.iter().enumerate() {
        for (field, list) in [("country", &cond.country), ("language", &cond.language), ("device", &cond.device)] {
            let Some(list) = list else { continue };
            if list.is_empty() {
                find(Level::Warning, "never-matches", format!("when[{i}].{field} is empty: the condition can never match"));
            } else if field == "country" {
                for cc in list.iter().filter(|cc| cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_alphabetic())) {
                    find(Level::Warning, "never-matches", format!("when[{i}].country {cc:?} is not an ISO 3166 alpha-2 code: it never matches"));
                }
            } else if field == "language" {
                for l in list.iter().filter(|l| l.is_empty() || l.len() > 8 || !l.bytes().all(|b| b.is_ascii_alphabetic())) {
                    find(Level::Warning, "never-matches", format!("when[{i}].language {l:?} never matches: only primary tags (\"en\", not \"en-US\") are compared"));
                }
            }
        }
        if let Some(j) = parsed.when[..i].iter().position(|earlier| condition_covers(earlier, cond)) {
            find(Level::Warning, "never-matches", format!("when[{i}] never wins: when[{j}] matches every client it matches"));
        }
    }
    if e.kind == Kind::Rule {
        let from = from.as_ref().and_then(Value::as_str).unwrap_or("");
        match Pattern::parse(from) {
            Ok(pattern) => {
                for (field, target) in targets(&parsed) {
                    if let Some(param) = redirect_param(target, &pattern) {
                        find(Level::Error, "open-redirect", format!("{field} puts a request value into ?{param}=: the target's site may then redirect to anywhere"));
                    }
                }
                let live = parsed.enabled && parsed.starts_ms.is_none() && parsed.expires_ms.is_none();
                c.rule = Some((key.key.trim_start_matches("rules:").to_string(), pattern, live));
            }
            Err(reason) => find(Level::Error, "invalid-record", format!("from: {reason}")),
        }
    }
    c.target_host = parsed.to.host_str().map(str::to_string);
    c.key = Some(key.key);
    c
}

/// Every target of a record: `to`, each `when[i].to`, `canary.to`, `fallback`.
fn targets(r: &redirector_core::record::LinkRecord) -> Vec<(String, &Url)> {
    let mut t = vec![("to".to_string(), &r.to)];
    t.extend(r.when.iter().enumerate().map(|(i, c)| (format!("when[{i}].to"), &c.to)));
    t.extend(r.canary.iter().map(|c| ("canary.to".to_string(), &c.to)));
    t.extend(r.fallback.iter().map(|f| ("fallback".to_string(), f)));
    t
}

/// The redirect-like query parameter a rule fills from the request, if any.
fn redirect_param(target: &Url, pattern: &Pattern) -> Option<String> {
    let names = pattern.names();
    target.query_pairs().find_map(|(k, v)| {
        let fills = names.iter().any(|n| v.contains(&format!(":{n}")));
        (fills && REDIRECT_PARAMS.contains(&k.to_ascii_lowercase().as_str())).then(|| k.into_owned())
    })
}

/// Whether condition `a` matches every client `b` matches (so `b`, later, never wins).
fn condition_covers(a: &redirector_core::record::Condition, b: &redirector_core::record::Condition) -> bool {
    let covers = |x: &Option<Vec<String>>, y: &Option<Vec<String>>| match (x, y) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(x), Some(y)) => y.iter().all(|v| x.iter().any(|w| w.eq_ignore_ascii_case(v))),
    };
    covers(&a.country, &b.country) && covers(&a.language, &b.language) && covers(&a.device, &b.device)
}

fn shadowing(rules: &[(String, Pattern, bool, &Entry, String)], keys: &HashMap<String, &Entry>, out: &mut Vec<Finding>) {
    for (j, (host, pattern, _, entry, shown)) in rules.iter().enumerate() {
        let earlier = rules[..j].iter().find(|(h, p, live, _, _)| h == host && *live && p.covers(pattern));
        if let Some((_, _, _, by, by_key)) = earlier {
            out.push(Finding { level: Level::Warning, origin: entry.origin.clone(), key: shown.clone(), lint: "shadowed-rule", message: format!("never matches: {by_key} at {} matches every path it does", by.origin) });
            continue;
        }
        if let Some(path) = pattern.literal_path() {
            let exact = if host == "*" { vec![format!("*{path}")] } else { vec![format!("{host}{path}"), format!("*{path}")] };
            if let Some(link) = exact.iter().find_map(|k| keys.get(k)) {
                out.push(Finding { level: Level::Warning, origin: entry.origin.clone(), key: shown.clone(), lint: "shadowed-by-link", message: format!("never matches: the exact link {} at {} answers its one path first", link.kv_key(), link.origin) });
            }
        }
    }
}

/// Most hops followed when looking for loops.
const MAX_HOPS: usize = 10;

/// Follow the links whose target is on one of the project's own hosts.
fn loops(set: &RouteSet, targets: &[(&Entry, &str)], own: &BTreeSet<String>, now_ms: i64, out: &mut Vec<Finding>) {
    let is_own = |u: &Url| u.host_str().is_some_and(|h| own.contains(h));
    // Scheme aside: http and https of one host reach the same worker.
    let spot = |u: &Url| format!("{}{}", u.host_str().unwrap_or(""), u.path());
    let store = Offline::new(&set.kv());
    for (e, to) in targets {
        let (Ok(start), Ok(key)) = (Url::parse(to), parse_key(&e.kv_key())) else { continue };
        let mut seen = vec![key.key.clone()];
        let (mut at, mut hops) = (start, 0);
        loop {
            if seen.contains(&spot(&at)) {
                let path = seen.join(" -> ");
                out.push(Finding { level: Level::Error, origin: e.origin.clone(), key: e.kv_key(), lint: "redirect-loop", message: format!("{path} -> {} loops", spot(&at)) });
                break;
            }
            seen.push(spot(&at));
            let chain = |hops: usize, end: String| Finding {
                level: Level::Warning,
                origin: e.origin.clone(),
                key: e.kv_key(),
                lint: "redirect-chain",
                message: format!("its target {to} is itself a route: {hops} hop(s) before {end}"),
            };
            match resolve(&store, &at, now_ms) {
                Some(next) if is_own(&next) && hops + 1 < MAX_HOPS => {
                    hops += 1;
                    at = next;
                }
                Some(next) => {
                    out.push(chain(hops + 1, next.to_string()));
                    break;
                }
                None if hops > 0 => {
                    out.push(chain(hops, format!("{at}, which has none")));
                    break;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn lints(text: &str) -> Vec<Finding> {
        match RouteSet::parse(&[("t.toml".to_string(), text.to_string())]) {
            Ok(set) => check(&set, NOW),
            Err(errors) => unreadable(&errors),
        }
    }

    /// Every lint: a file that trips it (at the line given) and a fixed one that does not.
    #[test]
    fn every_lint_has_a_failing_and_a_passing_case() {
        let cases: &[(&str, usize, &str, &str)] = &[
            ("unreadable", 2, "[[link]]\nkey = \n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\n"),
            ("invalid-key", 1, "[[link]]\nkey = \"stats:a.com/x\"\nto = \"https://e.com\"\n", "[[link]]\nkey = \"a.com/stats:x\"\nto = \"https://e.com\"\n"),
            ("invalid-target", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"javascript:alert(1)\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com/alert\"\n"),
            ("invalid-target", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://user:pw@e.com/\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com/\"\n"),
            ("invalid-target", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com/\\r\\nX: 1\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com/X\"\n"),
            ("invalid-target", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"//evil.example/\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://good.example/\"\n"),
            ("invalid-target", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"DE\"], to = \"ftp://e.de\" }]\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"DE\"], to = \"https://e.de\" }]\n"),
            ("invalid-record", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nstatus = 200\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nstatus = 301\n"),
            ("max-clicks-without-strong", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nmax_clicks = 5\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nstrong = true\nmax_clicks = 5\n"),
            ("open-redirect", 1, "[[rule]]\nhost = \"a.com\"\nfrom = \"/go/*\"\nto = \"https://e.com/login?next=:splat\"\n", "[[rule]]\nhost = \"a.com\"\nfrom = \"/go/*\"\nto = \"https://e.com/login?page=:splat\"\n"),
            ("duplicate-key", 4, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com/1\"\n[[link]]\nkey = \"A.com/./x/\"\nto = \"https://e.com/2\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com/1\"\n[[link]]\nkey = \"a.com/X\"\nto = \"https://e.com/2\"\n"),
            ("duplicate-key", 4, "[[link]]\nkey = \"a.com/caf\u{e9}\"\nto = \"https://e.com/1\"\n[[link]]\nkey = \"a.com/cafe\u{301}\"\nto = \"https://e.com/2\"\n", "[[link]]\nkey = \"a.com/caf\u{e9}\"\nto = \"https://e.com/1\"\n"),
            ("redirect-loop", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://a.com/y\"\n[[link]]\nkey = \"a.com/y\"\nto = \"http://a.com/x\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://a.com/y\"\n[[link]]\nkey = \"a.com/y\"\nto = \"https://b.com/x\"\n"),
            ("redirect-loop", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://a.com/p/x\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/p/:id\"\nto = \"https://a.com/:id\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://b.com/p/x\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/p/:id\"\nto = \"https://a.com/:id\"\n"),
            ("redirect-chain", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://a.com/y\"\n[[link]]\nkey = \"a.com/y\"\nto = \"https://b.com/\"\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://b.com/\"\n[[link]]\nkey = \"a.com/y\"\nto = \"https://b.com/\"\n"),
            ("shadowed-rule", 5, "[[rule]]\nhost = \"a.com\"\nfrom = \"/blog/*\"\nto = \"https://e.com/:splat\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/blog/:y/:slug\"\nto = \"https://e.com/:y\"\n", "[[rule]]\nhost = \"a.com\"\nfrom = \"/blog/:y/:slug\"\nto = \"https://e.com/:y\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/blog/*\"\nto = \"https://e.com/:splat\"\n"),
            ("shadowed-by-link", 4, "[[link]]\nkey = \"a.com/about\"\nto = \"https://e.com/\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/about\"\nto = \"https://e.com/about\"\n", "[[link]]\nkey = \"a.com/about\"\nto = \"https://e.com/\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/about/*\"\nto = \"https://e.com/:splat\"\n"),
            ("never-matches", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ language = [\"en-US\"], to = \"https://e.com/us\" }]\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ language = [\"en\"], to = \"https://e.com/en\" }]\n"),
            ("never-matches", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [] , to = \"https://e.com/n\" }]\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"FR\"] , to = \"https://e.com/n\" }]\n"),
            ("never-matches", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"DEU\"], to = \"https://e.de\" }]\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"DE\"], to = \"https://e.de\" }]\n"),
            ("never-matches", 1, "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"DE\", \"AT\"], to = \"https://e.de\" }, { country = [\"AT\"], device = [\"ios\"], to = \"https://e.at\" }]\n", "[[link]]\nkey = \"a.com/x\"\nto = \"https://e.com\"\nwhen = [{ country = [\"AT\"], device = [\"ios\"], to = \"https://e.at\" }, { country = [\"DE\", \"AT\"], to = \"https://e.de\" }]\n"),
        ];
        for (lint, line, bad, good) in cases {
            let found = lints(bad);
            assert!(found.iter().any(|f| f.lint == *lint && f.origin.line == *line && f.origin.file == "t.toml"), "{lint}: expected at line {line} in\n{bad}\ngot {found:#?}");
            let clean = lints(good);
            assert!(clean.iter().all(|f| f.lint != *lint), "{lint}: not expected in\n{good}\ngot {clean:#?}");
            assert!(clean.iter().all(|f| f.level == Level::Warning), "{good}: {clean:#?}");
        }
    }

    #[test]
    fn levels_and_display_name_file_line_key_and_lint() {
        let found = lints("[[link]]\nkey = \"a.com/x\"\nto = \"https://a.com/y\"\n[[link]]\nkey = \"a.com/y\"\nto = \"https://b.com/\"\n[[link]]\nkey = \"a.com/z\"\nto = \"https://e.com\"\nmax_clicks = 1\n");
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(shown, [
            "t.toml:1: warning[redirect-chain] a.com/x: its target https://a.com/y is itself a route: 1 hop(s) before https://b.com/",
            "t.toml:7: error[max-clicks-without-strong] a.com/z: max_clicks: requires \"strong\": true",
        ]);
    }

    #[test]
    fn rules_are_named_by_array_and_index() {
        let found = lints("[[rule]]\nhost = \"a.com\"\nfrom = \"/*\"\nto = \"https://e.com/:splat\"\n[[rule]]\nhost = \"a.com\"\nfrom = \"/x\"\nto = \"https://e.com/x\"\n");
        assert_eq!(found[0].key, "rules:a.com[1]");
        assert!(found[0].message.contains("rules:a.com[0] at t.toml:1"), "{}", found[0].message);
    }
}
