//! Vercel `vercel.json`: its `redirects` array.
//!
//! Each item is `{source, destination, permanent, statusCode, has, missing}`
//! (Vercel's project configuration reference). `source` is a path pattern in
//! path-to-regexp syntax: `:slug` is one segment, `:path*` zero or more segments,
//! `:path+` one or more, `:x?` optional, `(...)` a regular expression. `permanent`
//! defaults to **true**, which answers **308**; `false` answers 307; `statusCode` is
//! used instead of `permanent`. `has`/`missing` match headers, cookies, query
//! parameters or the host. Vercel passes the request's query on to the destination,
//! and takes the first item that matches. (`basePath` and `locale` belong to Next.js's
//! `next.config.js` and are refused.)
//!
//! ## Import
//!
//! A file that is not JSON, or has no `redirects` array, is an error (a top-level
//! array of items is read too); everything smaller is skipped with the item's line.
//!
//! | `vercel.json` | the redirector |
//! |---|---|
//! | `has: [{"type": "host", "value": "go.example.com"}]` | the host (dots may be written `\\.`) |
//! | no host in `has` | host from `--host` (skipped without it) |
//! | exact `source` (`/me`) | link `host/me` |
//! | `/blog/:slug` | rule `from = "/blog/:slug"` |
//! | `/docs/:path*` (last segment) | rule `from = "/docs/*"`; `:path*` and `:path` in `destination` become `:splat` |
//! | relative `destination` | `https://<host>/...` |
//! | `permanent` true (default) / false | `status` 308 / 307 |
//! | `statusCode` | `status` |
//!
//! An exact source that an earlier pattern item of the same host matches is skipped,
//! as in Netlify (first match there, exact links first here).
//!
//! Skipped, with the reason: `has` on a header, cookie or query (Vercel's
//! `x-vercel-ip-country` geolocation included), `missing`, `basePath`, `locale`,
//! unknown fields; sources with regular expressions (`(.*)`, `:id(\\d+)`), `:x+`
//! (one or more: the redirector's `*` also matches none), `:x?`, `:x*` before the
//! last segment, or placeholders inside a segment (`/blog-:slug`).
//!
//! ## Export
//!
//! `{"redirects": [...]}`, pretty-printed, in lookup order. A host's routes carry
//! `has: [{"type": "host", "value": host}]`; any-host routes have none (every domain
//! of the project). 308 and 307 are written as `permanent`, other statuses as
//! `statusCode`. A rule's `*` is written `:splat*`, and `:splat` in the destination's
//! path `:splat*`. Skipped, with the reason: `when` conditions,
//! `forward_query = false` (Vercel always passes the query on), paths with
//! path-to-regexp syntax in a literal segment, and what no format expresses (see the
//! module above).

use serde_json::{Map, Value};

use super::{
    absolute_target, export_each, fields, rule_from, unexpressible, Collector, Draft, EarlierPatterns, Exported, Imported,
};
use crate::routes::{Entry, Kind};

const FORMAT: &str = "Vercel redirects";

pub(super) fn import(file: &str, text: &str, site: Option<&str>) -> Result<Imported, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = match &doc {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("redirects") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err("\"redirects\" is not an array".into()),
            None => return Err("no \"redirects\" array: nothing to import".into()),
        },
        _ => return Err("neither an object with \"redirects\" nor an array of redirects".into()),
    };
    let offsets = item_offsets(text);
    let mut c = Collector::new(file);
    let mut patterns = EarlierPatterns::default();
    for (i, item) in items.iter().enumerate() {
        let line = offsets.get(i).map_or(1, |&at| line_of(text, at));
        let source = serde_json::to_string(item).unwrap_or_default();
        match translate(item, site) {
            Ok(d) => {
                if d.kind == Kind::Link {
                    if let Some(reason) = patterns.shadowing(&d.host, &d.path) {
                        c.skip(line, &source, reason);
                        continue;
                    }
                } else {
                    patterns.add(&d.host, &d.path, line);
                }
                c.add(Draft { lines: vec![(line, source)], ..d });
            }
            Err(reason) => c.skip(line, &source, reason),
        }
    }
    Ok(c.finish())
}

/// One item as a draft (its `lines` are filled in by the caller).
fn translate(item: &Value, site: Option<&str>) -> Result<Draft, String> {
    let Value::Object(obj) = item else { return Err("an item must be an object".into()) };
    for key in obj.keys() {
        match key.as_str() {
            "source" | "destination" | "permanent" | "statusCode" | "has" => {}
            "missing" => return Err("missing: the redirector cannot match on the absence of a header, cookie or query parameter".into()),
            "basePath" | "locale" => return Err(format!("{key} is Next.js routing (next.config.js); its effect depends on the app's configuration")),
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    let text = |k: &str| match obj.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        _ => Err(format!("{k} must be a non-empty string")),
    };
    let (source, destination) = (text("source")?, text("destination")?);
    let status = match (obj.get("statusCode"), obj.get("permanent")) {
        (Some(code), _) => code.as_u64().ok_or("statusCode must be a number")?,
        (None, None | Some(Value::Bool(true))) => 308,
        (None, Some(Value::Bool(false))) => 307,
        (None, Some(_)) => return Err("permanent must be true or false".into()),
    };
    let host = match obj.get("has") {
        None => None,
        Some(has) => Some(has_host(has)?),
    };
    let host = match host.as_deref().or(site) {
        Some(h) => h.to_string(),
        None => return Err(format!("source {source} has no host: give --host HOST (the project's domain, or '*' for any host), or a has host condition")),
    };
    let (kind, from, splat) = source_pattern(source)?;
    let destination = match &splat {
        Some(name) => rename_splat(destination, name),
        None => destination.to_string(),
    };
    let to = absolute_target(&destination, &host, site)?;
    let mut record = Map::new();
    record.insert("to".into(), Value::String(to));
    record.insert("status".into(), Value::from(status));
    Ok(Draft { kind, host, path: from, record, lines: Vec::new(), notes: Vec::new() })
}

/// The host of `has: [{"type": "host", "value": ...}]`; any other `has` is refused.
fn has_host(has: &Value) -> Result<String, String> {
    let Value::Array(conditions) = has else { return Err("has must be an array".into()) };
    let mut host = None;
    for c in conditions {
        let kind = c.get("type").and_then(Value::as_str).unwrap_or("?");
        if kind != "host" {
            return Err(format!("has {kind} condition: the redirector cannot match on headers, cookies or query parameters (country by x-vercel-ip-country included)"));
        }
        let value = c.get("value").and_then(Value::as_str).unwrap_or_default().replace("\\.", ".");
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(format!("has host {value:?}: only a plain host name can be translated, not a pattern"));
        }
        if host.is_some() {
            return Err("more than one has host condition".into());
        }
        host = Some(redirector_core::canon::canonical_host(&value).map_err(|e| format!("has host {value:?}: {e}"))?);
    }
    host.ok_or_else(|| "has with no condition".into())
}

/// A path-to-regexp source as a link path or a rule `from`, with the name of the
/// `:name*` that became `*`.
fn source_pattern(source: &str) -> Result<(Kind, String, Option<String>), String> {
    if !source.starts_with('/') {
        return Err(format!("source {source} must start with '/'"));
    }
    let segments: Vec<&str> = source.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::with_capacity(segments.len());
    let mut splat = None;
    let mut pattern = false;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if let Some(param) = seg.strip_prefix(':') {
            let (name, modifier) = match param.char_indices().last() {
                Some((at, m @ ('*' | '+' | '?'))) => (&param[..at], Some(m)),
                _ => (param, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("{seg} in {source} uses a regular expression or other path-to-regexp syntax the redirector cannot express"));
            }
            pattern = true;
            match modifier {
                None => out.push(format!(":{name}")),
                Some('*') if last => {
                    splat = Some(name.to_string());
                    out.push("*".to_string());
                }
                Some('*') => return Err(format!("{seg} in {source}: a multi-segment parameter must be the last segment")),
                Some('+') => return Err(format!("{seg} in {source} matches one or more segments; the redirector's * also matches none")),
                Some(_) => return Err(format!("{seg} in {source} is optional; the redirector has no optional segments (write two items)")),
            }
        } else if seg.contains(['(', ')', '*', '+', '?', '{', '}', ':', '\\']) {
            return Err(format!("segment {seg:?} of {source} uses a regular expression, a modifier or a placeholder inside a segment, which the redirector cannot express"));
        } else {
            out.push((*seg).to_string());
        }
    }
    let path = format!("/{}", out.join("/"));
    Ok((if pattern { Kind::Rule } else { Kind::Link }, path, splat))
}

/// `:name*` and `:name` in a destination as `:splat`.
fn rename_splat(destination: &str, name: &str) -> String {
    replace_token(destination, name, ":splat")
}

/// Every `:name` token (at a name boundary, with an optional `*` after it) in `text`
/// replaced by `with`.
fn replace_token(text: &str, name: &str, with: &str) -> String {
    let token = format!(":{name}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&token) {
        let after = &rest[at + token.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(&token);
            rest = after;
        } else {
            out.push_str(with);
            rest = after.strip_prefix('*').unwrap_or(after);
        }
    }
    out.push_str(rest);
    out
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1
}

/// Byte offsets where the items of the `redirects` array (or of a top-level array)
/// begin. `text` is valid JSON (already parsed); a light scan keeps strings apart.
fn item_offsets(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut offsets = Vec::new();
    let mut depth = 0usize; // open containers
    let mut target: Option<usize> = None; // depth inside the array whose items we want
    let mut expect_item = false;
    let mut last_key_redirects = false; // the string just read at depth 1 was "redirects"
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if target == Some(depth) && expect_item && b != b']' {
            offsets.push(i);
            expect_item = false;
        }
        match b {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && target.is_none() {
                    last_key_redirects = text.get(start..i) == Some("redirects");
                }
            }
            b'[' => {
                depth += 1;
                if target.is_none() && (depth == 1 || (depth == 2 && last_key_redirects)) {
                    target = Some(depth);
                    expect_item = true;
                }
            }
            b'{' => depth += 1,
            b']' | b'}' => {
                if target == Some(depth) {
                    return offsets;
                }
                depth = depth.saturating_sub(1);
            }
            b',' if target == Some(depth) => expect_item = true,
            _ => {}
        }
        i += 1;
    }
    offsets
}

pub(super) fn export(entries: &[Entry]) -> Exported {
    let (items, skipped) = export_each(entries, item_for);
    let text = if items.is_empty() { "{\n  \"redirects\": []\n}\n".to_string() } else { format!("{{\n  \"redirects\": [\n{}\n  ]\n}}\n", items.join(",\n")) };
    Exported { text, skipped }
}

/// One item, pretty-printed at the array's indentation.
fn item_for(e: &Entry) -> Result<String, String> {
    if let Some(reason) = unexpressible(e, FORMAT) {
        return Err(reason);
    }
    let f = fields(e)?;
    if !f.when.is_empty() {
        return Err(format!("conditions (when) are not written as {FORMAT} has conditions (nor are has conditions imported)"));
    }
    if !f.forward_query {
        return Err(format!("forward_query = false: {FORMAT} always passes the query on"));
    }
    let (host, source, splat) = match e.kind {
        Kind::Link => {
            let key = redirector_core::key::parse_key(&e.name).map_err(|err| format!("key {}: {err}", e.name))?.key;
            let path = super::key_path(&key).to_string();
            if path.contains(['(', ')', '*', '+', '?', '{', '}', ':', '\\']) {
                return Err(format!("path {path} has characters path-to-regexp would read as syntax"));
            }
            (super::key_host(&key).to_string(), path, false)
        }
        _ => {
            let from = rule_from(e);
            let mut segments = Vec::new();
            for seg in from.split('/').filter(|s| !s.is_empty()) {
                if seg == "*" {
                    segments.push(":splat*".to_string());
                } else if !seg.starts_with(':') && seg.contains(['(', ')', '*', '+', '?', '{', '}', ':', '\\']) {
                    return Err(format!("segment {seg:?} has characters path-to-regexp would read as syntax"));
                } else {
                    segments.push(seg.to_string());
                }
            }
            (e.name.clone(), format!("/{}", segments.join("/")), from.ends_with('*'))
        }
    };
    let destination = if splat { splat_in_path(f.to) } else { f.to.to_string() };
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut lines = vec![format!("      \"source\": {}", json(&source)), format!("      \"destination\": {}", json(&destination))];
    lines.push(match f.status {
        308 => "      \"permanent\": true".to_string(),
        307 => "      \"permanent\": false".to_string(),
        s => format!("      \"statusCode\": {s}"),
    });
    if host != "*" {
        lines.push(format!("      \"has\": [{{ \"type\": \"host\", \"value\": {} }}]", json(&host)));
    }
    Ok(format!("    {{\n{}\n    }}", lines.join(",\n")))
}

/// `:splat` in the path of `to` written `:splat*` (path-to-regexp's repeated
/// parameter); the query and fragment are left alone.
fn splat_in_path(to: &str) -> String {
    let path_start = to.find("://").map_or(0, |i| i + 3);
    let path_end = to[path_start..].find(['?', '#']).map_or(to.len(), |i| path_start + i);
    let (head, tail) = to.split_at(path_end);
    format!("{}{tail}", replace_token(head, "splat", ":splat*"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{import as import_as, Format, ImportOptions};

    fn imp(text: &str, host: Option<&str>) -> Result<Imported, String> {
        import_as(Format::Vercel, "vercel.json", text, &ImportOptions { host: host.map(str::to_string) })
    }

    #[test]
    fn item_lines_are_found() {
        let text = "{\n  \"x\": [1, {\"redirects\": [9]}],\n  \"redirects\": [\n    { \"source\": \"/a]\" },\n\n    {\n      \"source\": \"/b\\\"\"\n    }, 7\n  ]\n}\n";
        let offs = item_offsets(text);
        assert_eq!(offs.iter().map(|&o| line_of(text, o)).collect::<Vec<_>>(), [4, 6, 8]);
        assert_eq!(item_offsets("[ {}, {} ]"), [2, 6]);
        assert!(item_offsets("{\"redirects\": []}").is_empty());
    }

    #[test]
    fn sources_in_path_to_regexp() {
        assert_eq!(source_pattern("/blog/:slug").unwrap(), (Kind::Rule, "/blog/:slug".into(), None));
        assert_eq!(source_pattern("/docs/:path*").unwrap(), (Kind::Rule, "/docs/*".into(), Some("path".into())));
        assert_eq!(source_pattern("/me/").unwrap(), (Kind::Link, "/me".into(), None));
        for (bad, why) in [("/:path((?!uk/).*)", "regular expression"), ("/(.*)", "regular expression"), ("/:id(\\d+)", "regular expression"), ("/a/:p+", "one or more"), ("/a/:p?", "optional"), ("/:p*/x", "last segment"), ("/blog-:slug", "inside a segment"), ("me", "start with")] {
            let err = source_pattern(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert_eq!(rename_splat("/news/:path*?from=:path&:pathology", "path"), "/news/:splat?from=:splat&:pathology");
        assert_eq!(splat_in_path("https://x.com/a/:splat/:splatter?q=:splat#:splat"), "https://x.com/a/:splat*/:splatter?q=:splat#:splat");
    }

    #[test]
    fn items() {
        let text = r#"{"redirects": [
  { "source": "/me", "destination": "/profile.html" },
  { "source": "/user", "destination": "/api/user", "permanent": false },
  { "source": "/old", "destination": "https://n.com/", "statusCode": 301, "has": [{ "type": "host", "value": "a\\.example\\.com" }] },
  { "source": "/uk", "destination": "/uk/x", "has": [{ "type": "header", "key": "x-vercel-ip-country", "value": "GB" }] },
  { "source": "/m", "destination": "/n", "missing": [{ "type": "cookie", "key": "s" }] },
  { "source": "/docs/:path*", "destination": "https://d.com/:path*" },
  { "source": "/docs/intro", "destination": "/intro" },
  { "source": "/p", "destination": "/q", "permanent": "yes" },
  "not an object"
]}"#;
        let got = imp(text, Some("x.com")).unwrap();
        let e: Vec<(String, &Value, &Value)> = got.entries.iter().map(|(e, _)| (e.kv_key(), &e.record["to"], &e.record["status"])).collect();
        assert_eq!(e[0], ("x.com/me".into(), &Value::from("https://x.com/profile.html"), &Value::from(308)));
        assert_eq!(e[1], ("x.com/user".into(), &Value::from("https://x.com/api/user"), &Value::from(307)));
        assert_eq!(e[2], ("a.example.com/old".into(), &Value::from("https://n.com/"), &Value::from(301)));
        assert_eq!(e[3], ("rules:x.com".into(), &Value::from("https://d.com/:splat"), &Value::from(308)));
        assert_eq!(got.entries[0].1, ["from vercel.json line 2"]);
        let r: Vec<(usize, &str)> = got.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
        assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), [5, 6, 8, 9, 10]);
        assert!(r[0].1.contains("has header"));
        assert!(r[1].1.starts_with("missing"));
        assert!(r[2].1.contains("line 7"), "{r:?}");
        assert!(r[3].1.contains("permanent"));
        assert!(r[4].1.contains("object"));
        assert!(got.skipped[0].source.starts_with("{\"destination\":\"/uk/x\""), "{}", got.skipped[0].source);
    }

    #[test]
    fn unreadable_files_are_errors() {
        assert!(imp("{", None).unwrap_err().starts_with("not JSON"));
        assert!(imp("{\"rewrites\": []}", None).unwrap_err().contains("no \"redirects\""));
        assert!(imp("{\"redirects\": {}}", None).is_err());
        assert_eq!(imp("{\"redirects\": []}", None).unwrap(), Imported::default());
    }

    #[test]
    fn export_items() {
        let files = r#"
[[link]]
key = "go.example.com/me"
to = "https://go.example.com/profile"
status = 308

[[rule]]
host = "*"
from = "/docs/:v/*"
to = "https://d.com/:v/:splat?from=:splat"
status = 301

[[link]]
key = "go.example.com/c"
to = "https://c.com/"
when = [{ country = ["GB"], to = "https://c.co.uk/" }]
"#;
        let entries = crate::routes::parse_file("r.toml", files).unwrap();
        let out = export(&entries);
        let want = r#"{
  "redirects": [
    {
      "source": "/me",
      "destination": "https://go.example.com/profile",
      "permanent": true,
      "has": [{ "type": "host", "value": "go.example.com" }]
    },
    {
      "source": "/docs/:v/:splat*",
      "destination": "https://d.com/:v/:splat*?from=:splat",
      "statusCode": 301
    }
  ]
}
"#;
        assert_eq!(out.text, want);
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.skipped[0].line, 13);
        let back = imp(&out.text, Some("*")).unwrap();
        assert!(back.skipped.is_empty(), "{:?}", back.skipped);
        assert_eq!(back.entries[1].0.record["to"], "https://d.com/:v/:splat?from=:splat");
        assert_eq!(rule_from(&back.entries[1].0), "/docs/:v/*");
    }
}
