//! Cloudflare Bulk Redirects lists, as the CSV the dashboard imports.
//!
//! Each row is `source_url,target_url[,status_code,preserve_query_string,
//! include_subdomains,subpath_matching,preserve_path_suffix]` (Cloudflare's "CSV file
//! format" page). Only the first two are required; the status defaults to **301**;
//! the booleans are `TRUE`/`true`/`FALSE`/`false` or empty, and in the CSV every
//! boolean defaults to **false** (so a query string is *dropped* unless
//! `preserve_query_string` is `TRUE`, unlike the redirector's default). Fields with a
//! comma are quoted. Cloudflare's dashboard refuses a header row; import accepts one
//! anyway (a first row whose target is not a URL) and export never writes one.
//!
//! ## Import
//!
//! | Cloudflare | the redirector |
//! |---|---|
//! | `example.com/path` or `https://example.com/path` | link `example.com/path` (the scheme is not kept: both are matched) |
//! | `target_url` | `to` (must be an absolute http(s) URL without user-info) |
//! | `status_code` (empty: 301) | `status` |
//! | `preserve_query_string` | `forward_query` (written only when false) |
//! | `subpath_matching = TRUE` | a rule `from = "/path/*"` on the source's host |
//! | ... with `preserve_path_suffix = TRUE` | `to` with `/:splat` added to its path |
//!
//! Skipped, with the reason: `include_subdomains = TRUE` (the redirector matches exact
//! hosts, so the subdomains cannot be listed), sources with a query, port or user-info,
//! source paths with a segment that would read as a pattern (`:x`, `*`) in a rule,
//! rows with a value that is not a boolean or status, more than seven columns, and
//! targets the core refuses (`magnet:` and other non-http targets Cloudflare allows).
//!
//! Cloudflare picks the most specific subpath redirect; the redirector takes the
//! first matching rule. So imported rules are written after the links, longest
//! path first (rows of equal length keep their order).
//!
//! ## Export
//!
//! Links of a named host become rows `host/path,to,status,preserve_query_string,
//! FALSE,FALSE,FALSE`. A rule becomes a subpath-matching row when its `from` is a
//! literal prefix and `*` (`/docs/*`) and its `to` either has no `:splat` (path suffix
//! not preserved) or ends its path with `:splat` (preserved). Skipped, with the reason:
//! any-host routes (Cloudflare needs a host), rules with placeholders, status 303,
//! `forward_query` with a query string in `to` (Cloudflare refuses that pair: error
//! 10055), `when` conditions, a rule that an earlier rule of its host already takes
//! (in Cloudflare the more specific one would win), and what no format expresses
//! (see the module above).

use std::cmp::Reverse;

use serde_json::{Map, Value};
use url::Url;

use super::{
    csv_field, data_rows, export_each, fields, is_literal_path, rule_from, shadowed_by, split_source, unexpressible, Collector, Draft,
    Exported, Imported,
};
use crate::routes::{Entry, Kind};

const FORMAT: &str = "Cloudflare Bulk Redirects";
const COLUMNS: [&str; 7] = ["source_url", "target_url", "status_code", "preserve_query_string", "include_subdomains", "subpath_matching", "preserve_path_suffix"];

pub(super) fn import(file: &str, text: &str) -> Imported {
    let mut c = Collector::new(file);
    for (line, raw, fields) in data_rows(&mut c, text) {
        match row(&fields) {
            Ok((draft_kind, place, record, notes)) => c.add(Draft { kind: draft_kind, host: place.0, path: place.1, record, lines: vec![(line, raw.clone())], notes }),
            Err(reason) => c.skip(line, &raw, reason),
        }
    }
    let mut imported = c.finish();
    // Most specific subpath first, as Cloudflare chooses; links (exact) before rules.
    imported.entries.sort_by_key(|(e, _)| match e.kind {
        Kind::Rule => (1, Reverse(rule_from(e).split('/').filter(|s| !s.is_empty()).count())),
        _ => (0, Reverse(0)),
    });
    imported
}

type Row = (Kind, (String, String), Map<String, Value>, Vec<String>);

fn row(f: &[String]) -> Result<Row, String> {
    if f.len() < 2 || f[0].is_empty() || f[1].is_empty() {
        return Err("a row needs source_url and target_url".into());
    }
    if f.len() > COLUMNS.len() {
        return Err(format!("{} columns; Cloudflare's CSV has at most {}: {}", f.len(), COLUMNS.len(), COLUMNS.join(",")));
    }
    let place = split_source(&f[0], true)?;
    let status = match f.get(2).map(String::as_str) {
        None | Some("") => 301,
        Some(s) => s.parse::<u64>().map_err(|_| format!("status_code {s:?} is not a number"))?,
    };
    let [preserve_query, subdomains, subpath, suffix] = [3, 4, 5, 6].map(|i| flag(f, i));
    let (preserve_query, subdomains, subpath, suffix) = (preserve_query?, subdomains?, subpath?, suffix?);
    if subdomains {
        return Err(format!("include_subdomains = TRUE also matches every subdomain of {}; the redirector matches exact hosts, so list each subdomain as its own row", place.host));
    }
    let mut record = Map::new();
    let mut notes = Vec::new();
    if let Some(scheme) = &place.scheme {
        notes.push(format!("Cloudflare matched only {scheme}:// requests; the redirector matches http and https alike"));
    }
    let mut to = f[1].clone();
    let (kind, path) = if subpath {
        let path = redirector_core::canon::canonical_path(&place.path).map_err(|e| format!("source path {}: {e}", place.path))?;
        if !is_literal_path(&path) {
            return Err(format!("source path {path} has a segment starting with ':' or equal to '*', which a rule pattern would read as a placeholder"));
        }
        if suffix {
            to = with_splat(&to)?;
        }
        (Kind::Rule, if path == "/" { "/*".to_string() } else { format!("{path}/*") })
    } else {
        (Kind::Link, place.path.clone())
    };
    record.insert("to".into(), Value::String(to));
    record.insert("status".into(), Value::from(status));
    if !preserve_query {
        record.insert("forward_query".into(), Value::Bool(false));
    }
    Ok((kind, (place.host, path), record, notes))
}

/// Column `i` as a boolean; missing or empty is false.
fn flag(f: &[String], i: usize) -> Result<bool, String> {
    match f.get(i).map(|s| s.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v.is_empty() || v == "false" => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) => Err(format!("{} must be TRUE or FALSE, not {v:?}", COLUMNS[i.min(COLUMNS.len() - 1)])),
    }
}

/// `target` with `:splat` added to its path (`https://x/qux/` -> `https://x/qux/:splat`).
fn with_splat(target: &str) -> Result<String, String> {
    let mut url = Url::parse(target).map_err(|e| format!("target_url {target:?} is not an absolute URL ({e})"))?;
    if url.cannot_be_a_base() {
        return Err(format!("target_url {target:?} has no path to add the suffix to"));
    }
    let path = url.path().to_string();
    let sep = if path.ends_with('/') { "" } else { "/" };
    url.set_path(&format!("{path}{sep}:splat"));
    Ok(url.to_string())
}

pub(super) fn export(entries: &[Entry]) -> Exported {
    let mut rules_so_far: Vec<&Entry> = Vec::new();
    // Source URLs written so far, with the line of their route: a list cannot hold
    // two redirects for one source (links come first, so a rule is the one skipped).
    let mut sources: Vec<(String, usize)> = Vec::new();
    let (rows, skipped) = export_each(entries, |e| {
        let row = row_for(e, &rules_so_far).and_then(|cols| match sources.iter().find(|(s, _)| *s == cols[0]) {
            Some((_, line)) => Err(format!("same source URL {} as the route at line {line}: a {FORMAT} list cannot hold two redirects for one source", cols[0])),
            None => {
                sources.push((cols[0].clone(), e.origin.line));
                Ok(cols)
            }
        });
        if e.kind == Kind::Rule {
            rules_so_far.push(e);
        }
        row.map(|cols| cols.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",") + "\n")
    });
    Exported { text: rows.concat(), skipped }
}

fn row_for(e: &Entry, earlier_rules: &[&Entry]) -> Result<Vec<String>, String> {
    if let Some(reason) = unexpressible(e, FORMAT) {
        return Err(reason);
    }
    if e.name.starts_with('*') {
        return Err(format!("any-host routes cannot be written: {FORMAT} sources name a host"));
    }
    let f = fields(e)?;
    if !f.when.is_empty() {
        return Err(format!("{FORMAT} cannot express conditions (when)"));
    }
    if ![301, 302, 307, 308].contains(&f.status) {
        return Err(format!("status {}: {FORMAT} allows 301, 302, 307 and 308", f.status));
    }
    let has_query = Url::parse(f.to).is_ok_and(|u| u.query().is_some());
    if f.forward_query && has_query {
        return Err(format!("forward_query with a query string in to: {FORMAT} cannot preserve the request's query when the target has one (error 10055)"));
    }
    let yes_no = |b: bool| if b { "TRUE" } else { "FALSE" }.to_string();
    let (source, target, subpath, suffix) = match e.kind {
        Kind::Link => {
            let key = redirector_core::key::parse_key(&e.name).map_err(|err| format!("key {}: {err}", e.name))?.key;
            (key, f.to.to_string(), false, false)
        }
        _ => {
            let from = rule_from(e);
            let prefix = from.strip_suffix("/*").filter(|p| is_literal_path(p)).ok_or_else(|| {
                format!("pattern {from}: {FORMAT} can only match a path and everything under it (/docs/*), not placeholders or exact patterns")
            })?;
            if let Some(line) = shadowed_by(e, earlier_rules) {
                return Err(format!("never matches: the rule at line {line} takes every path it would (in {FORMAT} the more specific one would win instead)"));
            }
            let (target, suffix) = without_splat(f.to)?;
            (format!("{}{}", e.name, if prefix.is_empty() { "/" } else { prefix }), target, true, suffix)
        }
    };
    Ok(vec![source, target, f.status.to_string(), yes_no(f.forward_query), yes_no(false), yes_no(subpath), yes_no(suffix)])
}

/// A rule's `to` as a Cloudflare target: with a trailing `:splat` path segment
/// removed (path suffix preserved), or as it is when it has no `:splat`.
fn without_splat(to: &str) -> Result<(String, bool), String> {
    if !to.contains(":splat") {
        return Ok((to.to_string(), false));
    }
    let mut url = Url::parse(to).map_err(|e| format!("to {to:?}: {e}"))?;
    let path = url.path().to_string();
    match path.strip_suffix(":splat").filter(|p| p.ends_with('/') && !p.contains(":splat")) {
        Some(head) if to.matches(":splat").count() == 1 => {
            url.set_path(head);
            Ok((url.to_string(), true))
        }
        _ => Err(format!("to {to} uses :splat other than as its last path segment; {FORMAT} can only append the rest of the path")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{export as export_as, import as import_as, Format, ImportOptions, Skip};

    fn imp(text: &str) -> Imported {
        import_as(Format::CloudflareBulk, "list.csv", text, &ImportOptions::default()).unwrap()
    }

    #[test]
    fn defaults_are_cloudflares_not_ours() {
        let got = imp("example.com/contacts,https://example.net/contact-us\n");
        let (e, comments) = &got.entries[0];
        assert_eq!(e.name, "example.com/contacts");
        assert_eq!(e.record["status"], 301);
        assert_eq!(e.record["forward_query"], false, "Cloudflare drops the query unless preserve_query_string");
        assert_eq!(comments, &["from list.csv line 1"]);
    }

    #[test]
    fn subpath_becomes_a_rule_most_specific_first() {
        let got = imp("a.com/foo/,https://b.com/qux/,302,TRUE,,TRUE,TRUE\na.com/foo/bar,https://b.com/x?y=1,301,,,TRUE,\nhttps://a.com/,https://b.com,,,,TRUE,TRUE\n");
        assert!(got.skipped.is_empty(), "{:?}", got.skipped);
        let rules: Vec<(&str, &str, &str)> = got.entries.iter().map(|(e, _)| (e.name.as_str(), rule_from(e), e.record["to"].as_str().unwrap())).collect();
        assert_eq!(rules, [("a.com", "/foo/bar/*", "https://b.com/x?y=1"), ("a.com", "/foo/*", "https://b.com/qux/:splat"), ("a.com", "/*", "https://b.com/:splat")]);
        assert!(got.entries[0].0.record.get("forward_query").is_some());
        assert!(got.entries[1].0.record.get("forward_query").is_none(), "TRUE: the default");
        assert_eq!(got.entries[2].1[1], "Cloudflare matched only https:// requests; the redirector matches http and https alike");
    }

    #[test]
    fn untranslatable_rows_say_why() {
        let got = imp("a.com/x,https://b.com/,301,,TRUE\na.com/y?q=1,https://b.com/\na.com/z,https://b.com/,abc\na.com/w,https://b.com/,301,yes\na.com/v,magnet:?xt=urn:btih:2bd9\na.com/u\na.com/x,https://c.com/\na.com/:p,https://c.com/,,,,TRUE\n");
        let reasons: Vec<(usize, &str)> = got.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
        assert!(reasons[0].1.contains("include_subdomains"), "{reasons:?}");
        assert!(reasons[1].1.contains("query string"));
        assert!(reasons[2].1.contains("status_code"));
        assert!(reasons[3].1.contains("preserve_query_string must be TRUE or FALSE"));
        assert!(reasons[4].1.contains("to:"), "the core's reason: {}", reasons[4].1);
        assert!(reasons[5].1.contains("needs source_url and target_url"));
        assert_eq!(reasons.len(), 7, "a.com/x line 7 is new: line 1 was skipped; {reasons:?}");
        assert!(reasons[6].1.contains("placeholder"));
        assert_eq!(got.entries.len(), 1);
    }

    #[test]
    fn export_writes_subpath_rows_and_skips_what_it_cannot() {
        let files = r#"
[[link]]
key = "a.com/x"
to = "https://b.com/x?y=1"
forward_query = false
status = 308

[[rule]]
host = "a.com"
from = "/docs/*"
to = "https://b.com/d/:splat?v=1"
forward_query = false

[[rule]]
host = "a.com"
from = "/docs/api/*"
to = "https://b.com/api"

[[rule]]
host = "a.com"
from = "/u/:id"
to = "https://b.com/:id"

[[link]]
key = "*/help"
to = "https://b.com/help"

[[link]]
key = "a.com/q"
to = "https://b.com/q?x=1"
status = 303

[[link]]
key = "a.com/docs"
to = "https://b.com/docs"

[[link]]
key = "a.com/"
to = "https://b.com/"

[[rule]]
host = "a.com"
from = "/*"
to = "https://b.com/"
"#;
        let entries = crate::routes::parse_file("r.toml", files).unwrap();
        let out = export_as(Format::CloudflareBulk, &entries);
        assert_eq!(
            out.text,
            "a.com/x,https://b.com/x?y=1,308,FALSE,FALSE,FALSE,FALSE\na.com/docs,https://b.com/docs,302,TRUE,FALSE,FALSE,FALSE\na.com/,https://b.com/,302,TRUE,FALSE,FALSE,FALSE\n"
        );
        let lines: Vec<usize> = out.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [8, 14, 19, 24, 28, 41], "{:#?}", out.skipped);
        assert!(out.skipped[0].reason.contains("same source URL a.com/docs as the route at line 33"), "{}", out.skipped[0].reason);
        assert!(out.skipped[5].reason.contains("same source URL a.com/ as the route at line 37"), "{}", out.skipped[5].reason);
        let out: Vec<Skip> = out.skipped[1..5].to_vec();
        let out = Exported { text: String::new(), skipped: out };
        assert!(out.skipped[0].reason.contains("more specific"));
        assert!(out.skipped[1].reason.contains("placeholders"));
        assert!(out.skipped[2].reason.contains("any-host"));
        assert!(out.skipped[3].reason.contains("status 303"));
        assert!(out.skipped[0].source.starts_with("r.toml: [[rule]] a.com /docs/api/*"));
    }

    #[test]
    fn rules_export_as_subpath_rows() {
        let files = "[[rule]]\nhost = \"a.com\"\nfrom = \"/docs/*\"\nto = \"https://b.com/d/:splat?v=1\"\nforward_query = false\n\n[[rule]]\nhost = \"a.com\"\nfrom = \"/x/*\"\nto = \"https://b.com/:splat/x\"\n\n[[rule]]\nhost = \"a.com\"\nfrom = \"/*\"\nto = \"https://b.com/home\"\nstatus = 301\n";
        let out = export_as(Format::CloudflareBulk, &crate::routes::parse_file("r.toml", files).unwrap());
        assert_eq!(out.text, "a.com/docs,https://b.com/d/?v=1,302,FALSE,FALSE,TRUE,TRUE\na.com/,https://b.com/home,301,TRUE,FALSE,TRUE,FALSE\n");
        assert_eq!(out.skipped.len(), 1);
        assert!(out.skipped[0].reason.contains("other than as its last path segment"), "{:?}", out.skipped);
        let back = imp(&out.text);
        assert_eq!(back.entries.iter().map(|(e, _)| (rule_from(e), e.record["to"].as_str().unwrap_or(""))).collect::<Vec<_>>(), [("/docs/*", "https://b.com/d/:splat?v=1"), ("/*", "https://b.com/home")]);
    }
}
