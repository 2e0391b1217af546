//! Netlify `_redirects`.
//!
//! One rule a line: `from [key=value...] to [status[!]] [Key=value...]`; blank lines
//! and `#` comments (whole lines, or from a token starting with `#` to the end of the
//! line) are ignored. `from` is a path or a full URL (a domain-level rule); `*` as the
//! last segment is a splat (`:splat` in `to`), `:name` segments are placeholders.
//! `key=value` tokens before `to` match query parameters. The status defaults to
//! **301**; `!` forces the rule even where a file exists. After the status come
//! conditions: `Country=` (ISO 3166 codes), `Language=` (comma-separated lists, no
//! spaces), `Role=`, `Cookie=`... Netlify passes the request's query on to the
//! target, and takes the first line that matches.
//!
//! ## Import
//!
//! | `_redirects` | the redirector |
//! |---|---|
//! | `https://old.example.com/x  ...` | host `old.example.com` (the scheme is not kept) |
//! | `/x  ...` | host from `--host` (skipped without it) |
//! | exact path `/home  /` | link `host/home` |
//! | `/news/*  /blog/:splat`, `/n/:year/:slug  ...` | rule on the host, `from` as written |
//! | relative `to` (`/blog`) | `https://<host>/blog` |
//! | status (none: 301) | `status` (301, 302, 303, 307, 308) |
//! | `301!` (forced) | the same; a comment notes it (the redirector always redirects) |
//! | `Country=au,nz` / `Language=en` | a `when` condition (countries upper case, languages lower case) |
//! | the query | forwarded (the redirector's default) |
//!
//! **Conditions.** Lines with `Country=`/`Language=` for the same source as a later
//! unconditional line become that record's `when` list, in file order, the
//! unconditional line giving `to` and `status`. A conditional line with no
//! unconditional line after it for the same source is skipped: Netlify then falls
//! through to the site, but a record needs a default target. A line after an
//! unconditional one for the same source is never reached, in Netlify too, and is
//! skipped. The redirector tries the client's first language against every
//! condition before its second; Netlify's order between several language lines may
//! differ.
//!
//! **Order.** Netlify takes the first matching line; the redirector looks up exact
//! links before rules. So an exact path that an earlier pattern line on the same
//! host already matches is skipped (it never answers in Netlify).
//!
//! Skipped, with the reason: query-parameter matching (`/store id=:id ...`); status
//! 200 (rewrites and proxies), 404 and every other status that is not a redirect;
//! `Role=`, `Cookie=`, `Sign=` and other conditions; languages with a region
//! (`en-US`: only primary tags are compared); sources with a query; `*` or `:name`
//! inside a segment (`/jobs/*.html`, `/blog-:id`); lines Netlify itself would
//! reject (no target, a status that is not a number).
//!
//! ## Export
//!
//! Routes are written in lookup order (exact links first) so Netlify's first match is
//! the redirector's answer: a host's routes with the source `https://host/path`, any-
//! host routes as `/path` (every domain of the site), always forced (`301!`, the
//! redirector never serves a file instead). `when` conditions become one line each
//! before the route's own line, with `Country=`/`Language=`. Skipped, with the
//! reason: status other than 301 and 302 (Netlify documents 307 as unsupported),
//! `forward_query = false` (Netlify always passes the query on), device conditions
//! or empty lists, paths with a `:` or `*` that `_redirects` would read as a
//! placeholder or splat, and what no format expresses (see the module above).

use serde_json::{Map, Value};
use url::Url;

use redirector_core::canon::canonical_path;

use super::{
    absolute_target, export_each, fields, key_host, key_path, place, rule_from, unexpressible, Collector, Draft, EarlierPatterns, Exported,
    Imported,
};
use crate::routes::{Entry, Kind};

const FORMAT: &str = "Netlify _redirects";

/// One line that reads as a redirect.
struct Line {
    line: usize,
    text: String,
    kind: Kind,
    host: String,
    /// A link's canonical path or a rule's `from`.
    path: String,
    to: String,
    status: u64,
    forced: bool,
    /// The scheme a full-URL source named.
    scheme: Option<String>,
    condition: Option<Map<String, Value>>,
}

/// A source's lines: conditional ones first, then at most one unconditional one.
struct Group {
    kind: Kind,
    host: String,
    path: String,
    conditional: Vec<Line>,
    default: Option<Line>,
}

pub(super) fn import(file: &str, text: &str, site: Option<&str>) -> Imported {
    let mut c = Collector::new(file);
    let mut groups: Vec<Group> = Vec::new();
    let mut patterns = EarlierPatterns::default();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line = match parse_line(n, raw, site) {
            Ok(line) => line,
            Err(reason) => {
                c.skip(n, raw, reason);
                continue;
            }
        };
        if line.kind == Kind::Link {
            if let Some(reason) = patterns.shadowing(&line.host, &line.path) {
                c.skip(n, raw, reason);
                continue;
            }
        } else {
            patterns.add(&line.host, &line.path, n);
        }
        match groups.iter_mut().find(|g| g.kind == line.kind && g.host == line.host && g.path == line.path) {
            Some(g) => match &g.default {
                Some(first) => {
                    let scheme = if line.scheme.is_some() { " (the redirector matches http:// and https:// alike)" } else { "" };
                    c.skip(n, raw, format!("never reached: line {} already answers every request for this source{scheme}", first.line));
                }
                None if line.condition.is_some() => g.conditional.push(line),
                None => g.default = Some(line),
            },
            None => {
                let (kind, host, path) = (line.kind, line.host.clone(), line.path.clone());
                let (conditional, default) = if line.condition.is_some() { (vec![line], None) } else { (Vec::new(), Some(line)) };
                groups.push(Group { kind, host, path, conditional, default });
            }
        }
    }
    for g in groups {
        add_group(&mut c, g);
    }
    let mut imported = c.finish();
    imported.entries.sort_by_key(|(e, _)| e.origin.line);
    imported.skipped.sort_by_key(|s| s.line);
    imported
}

fn add_group(c: &mut Collector, g: Group) {
    let Some(default) = g.default else {
        for l in g.conditional {
            c.skip(l.line, &l.text, "a conditional line with no unconditional line after it for the same source: Netlify falls through to the site when no condition matches, but a redirector record needs a default target");
        }
        return;
    };
    let mut record = Map::new();
    record.insert("to".into(), Value::String(default.to.clone()));
    record.insert("status".into(), Value::from(default.status));
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    let mut when = Vec::new();
    for l in g.conditional.iter().chain(std::iter::once(&default)) {
        if l.forced {
            notes.push(format!("line {} forced ({}!) in _redirects: the redirector always redirects", l.line, l.status));
        }
        if let Some(scheme) = &l.scheme {
            notes.push(format!("line {} matched only {scheme}:// requests in Netlify; the redirector matches http and https alike", l.line));
        }
    }
    for l in g.conditional {
        let mut cond = l.condition.unwrap_or_default();
        cond.insert("to".into(), Value::String(l.to));
        if l.status != default.status {
            cond.insert("status".into(), Value::from(l.status));
        }
        when.push(Value::Object(cond));
        lines.push((l.line, l.text));
    }
    if !when.is_empty() {
        record.insert("when".into(), Value::Array(when));
    }
    lines.push((default.line, default.text));
    c.add(Draft { kind: g.kind, host: g.host, path: g.path, record, lines, notes });
}

/// Read one redirect line (not blank, not a comment).
fn parse_line(line: usize, raw: &str, site: Option<&str>) -> Result<Line, String> {
    let tokens: Vec<&str> = raw.split_whitespace().take_while(|t| !t.starts_with('#')).collect();
    let [from, rest @ ..] = tokens.as_slice() else { return Err("empty line".into()) };
    if rest.is_empty() {
        return Err("no target path or URL".into());
    }
    if status_token(rest[0]).is_some() {
        return Err(format!("no target: a forward rule ({} without a destination) rewrites, it does not redirect", rest[0]));
    }
    let to_at = rest.iter().position(|t| t.starts_with('/') || t.starts_with("http://") || t.starts_with("https://"));
    let Some(to_at) = to_at else { return Err("no target: it must start with /, http:// or https://".into()) };
    if to_at > 0 {
        return Err(format!("matches on query parameters ({}): the redirector matches the path only", rest[..to_at].join(" ")));
    }
    let to = rest[to_at];
    let after = &rest[to_at + 1..];
    let (status, forced, conditions) = match after.split_first() {
        None => (301, false, &[][..]),
        Some((s, conditions)) => {
            let (status, forced) = status_token(s).ok_or_else(|| format!("{s:?} is not a status code (Netlify reads the token after the target as the status)"))?;
            (status, forced, conditions)
        }
    };
    match status {
        301 | 302 | 303 | 307 | 308 => {}
        200 if to.starts_with("http") => return Err("status 200 with a URL proxies to another site; the redirector only redirects".into()),
        200 => return Err("status 200 rewrites (serves another path without redirecting); the redirector only redirects".into()),
        404 => return Err("status 404 serves a custom not-found page; the redirector only redirects".into()),
        s => return Err(format!("status {s} is not a redirect")),
    }
    let condition = condition(conditions)?;
    let place = place(from, site)?;
    let (kind, path) = source_path(&place.path)?;
    let to = absolute_target(to, &place.host, site)?;
    Ok(Line { line, text: raw.to_string(), kind, host: place.host, path, to, status, forced, scheme: place.scheme, condition })
}

/// `301` or `301!`.
fn status_token(t: &str) -> Option<(u64, bool)> {
    let (digits, forced) = match t.strip_suffix('!') {
        Some(d) => (d, true),
        None => (t, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 3 {
        return None;
    }
    digits.parse().ok().map(|s| (s, forced))
}

/// A source path as a link path (canonical) or a rule pattern.
fn source_path(path: &str) -> Result<(Kind, String), String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_pattern = segments.iter().any(|s| *s == "*" || s.starts_with(':'));
    for (i, s) in segments.iter().enumerate() {
        if s.contains('*') && (*s != "*" || i + 1 != segments.len()) {
            return Err(format!("'*' in {path} must be a whole last segment (/x/*) for the redirector"));
        }
        if s.contains(':') && !s.starts_with(':') {
            return Err(format!("segment {s:?} of {path}: placeholders must be whole segments (/:name)"));
        }
    }
    if is_pattern {
        Ok((Kind::Rule, path.to_string()))
    } else {
        canonical_path(path).map(|p| (Kind::Link, p)).map_err(|e| format!("source {path}: {e}"))
    }
}

/// `Country=` / `Language=` tokens as a `when` condition (without `to`).
fn condition(tokens: &[&str]) -> Result<Option<Map<String, Value>>, String> {
    let mut cond = Map::new();
    for t in tokens {
        let Some((key, value)) = t.split_once('=') else {
            return Err(format!("{t:?} is not a Key=value condition"));
        };
        let items = value.split(',').map(str::trim).filter(|s| !s.is_empty());
        match key.to_ascii_lowercase().as_str() {
            "country" => {
                let codes: Vec<String> = items.map(str::to_ascii_uppercase).collect();
                if codes.is_empty() || codes.iter().any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic())) {
                    return Err(format!("{t}: countries must be two-letter ISO 3166 codes"));
                }
                cond.insert("country".into(), codes.into());
            }
            "language" => {
                let langs: Vec<String> = items.map(str::to_ascii_lowercase).collect();
                if let Some(l) = langs.iter().find(|l| l.contains('-') || l.contains('_')) {
                    return Err(format!("{t}: language {l} has a region; the redirector compares primary tags only (en, not en-us)"));
                }
                if langs.is_empty() || langs.iter().any(|l| l.len() > 8 || !l.bytes().all(|b| b.is_ascii_alphabetic())) {
                    return Err(format!("{t}: languages must be language codes such as en"));
                }
                cond.insert("language".into(), langs.into());
            }
            "role" => return Err(format!("{t}: Netlify Identity roles cannot be checked by the redirector")),
            "cookie" => return Err(format!("{t}: the redirector does not match on cookies")),
            "sign" | "signed" => return Err(format!("{t}: signed proxy requests are a Netlify proxy feature")),
            _ => return Err(format!("{t}: unknown condition (the redirector can translate Country= and Language=)")),
        }
    }
    Ok(if cond.is_empty() { None } else { Some(cond) })
}

pub(super) fn export(entries: &[Entry]) -> Exported {
    let (lines, skipped) = export_each(entries, |e| lines_for(e).map(|ls| ls.iter().map(|l| format!("{l}\n")).collect()));
    Exported { text: lines.concat(), skipped }
}

fn lines_for(e: &Entry) -> Result<Vec<String>, String> {
    if let Some(reason) = unexpressible(e, FORMAT) {
        return Err(reason);
    }
    let f = fields(e)?;
    if !f.forward_query {
        return Err(format!("forward_query = false: {FORMAT} always passes the query on"));
    }
    let (host, path) = match e.kind {
        Kind::Link => {
            let key = redirector_core::key::parse_key(&e.name).map_err(|err| format!("key {}: {err}", e.name))?.key;
            let path = key_path(&key).to_string();
            if path.contains([':', '*']) {
                return Err(format!("path {path} has ':' or '*', which {FORMAT} would read as a placeholder or splat"));
            }
            (key_host(&key).to_string(), path)
        }
        _ => {
            let from = rule_from(e);
            if let Some(seg) = from.split('/').find(|s| *s != "*" && (s.contains('*') || s.get(1..).is_some_and(|rest| rest.contains(':')))) {
                return Err(format!("segment {seg:?} of {from} has ':' or '*' inside it, which {FORMAT} would misread"));
            }
            (e.name.clone(), from.to_string())
        }
    };
    let source = if host == "*" { path } else { format!("https://{host}{path}") };
    let mut out = Vec::new();
    for (i, c) in f.when.iter().enumerate() {
        let get_list = |k: &str| c.get(k).and_then(Value::as_array).map(|v| v.iter().filter_map(Value::as_str).collect::<Vec<_>>());
        if c.get("device").is_some_and(|d| !d.is_null()) {
            return Err(format!("when[{i}] has a device condition; {FORMAT} can only express Country= and Language="));
        }
        let (countries, languages) = (get_list("country"), get_list("language"));
        if countries.is_none() && languages.is_none() {
            return Err(format!("when[{i}] has no country or language to write"));
        }
        if countries.as_ref().is_some_and(Vec::is_empty) || languages.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!("when[{i}] has an empty list, which never matches and cannot be written as Country= or Language="));
        }
        let status = c.get("status").and_then(Value::as_u64).unwrap_or(f.status);
        let to = c.get("to").and_then(Value::as_str).unwrap_or_default();
        let mut l = format!("{source}  {}  {}!", target(to), netlify_status(status)?);
        if let Some(cs) = countries {
            l.push_str(&format!("  Country={}", cs.join(",").to_ascii_lowercase()));
        }
        if let Some(ls) = languages {
            l.push_str(&format!("  Language={}", ls.join(",").to_ascii_lowercase()));
        }
        out.push(l);
    }
    out.push(format!("{source}  {}  {}!", target(f.to), netlify_status(f.status)?));
    Ok(out)
}

fn netlify_status(s: u64) -> Result<u64, String> {
    if s == 301 || s == 302 { Ok(s) } else { Err(format!("status {s}: {FORMAT} redirects with 301 or 302 (its documentation lists 307 as unsupported)")) }
}

/// A target with no whitespace in it (a token of the line): the URL parser's form
/// when the text has some.
fn target(to: &str) -> String {
    if to.contains(char::is_whitespace) {
        Url::parse(to).map_or_else(|_| to.replace(' ', "%20"), |u| u.to_string())
    } else {
        to.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{import as import_as, Format, ImportOptions};

    fn imp(text: &str, host: Option<&str>) -> Imported {
        import_as(Format::Netlify, "_redirects", text, &ImportOptions { host: host.map(str::to_string) }).unwrap()
    }

    fn skip_reasons(got: &Imported) -> Vec<(usize, String)> {
        got.skipped.iter().map(|s| (s.line, s.reason.clone())).collect()
    }

    #[test]
    fn tokens_statuses_and_inline_comments() {
        let got = imp("/a  /b  302!  # moved\n/c /d\n/e /f 200\n/g id=:id /h 301\n/i /j Country=us\n/k\n/l 200!\n", Some("x.com"));
        let e: Vec<(&str, &Value)> = got.entries.iter().map(|(e, _)| (e.name.as_str(), &e.record["status"])).collect();
        assert_eq!(e, [("x.com/a", &Value::from(302)), ("x.com/c", &Value::from(301))]);
        assert_eq!(got.entries[0].1, ["from _redirects line 1", "line 1 forced (302!) in _redirects: the redirector always redirects"]);
        let r = skip_reasons(&got);
        assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 4, 5, 6, 7]);
        assert!(r[0].1.contains("rewrites"));
        assert!(r[1].1.contains("query parameters (id=:id)"));
        assert!(r[2].1.contains("not a status code"));
        assert!(r[3].1.contains("no target"));
        assert!(r[4].1.contains("forward rule"));
    }

    #[test]
    fn conditions_gather_into_when_until_the_unconditional_line() {
        let text = "/  /anz  302  Country=au,nz\n/  /china  302  Country=cn Language=zh\n/  /home  301\n/  /never\n/x /y 302 Language=en\n/z /w 302 Language=en-us\n/r /s 200! Role=admin\n";
        let got = imp(text, Some("x.com"));
        assert_eq!(got.entries.len(), 1);
        let (e, comments) = &got.entries[0];
        assert_eq!(comments[0], "from _redirects lines 1, 2, 3");
        assert_eq!(e.record["to"], "https://x.com/home");
        assert_eq!(e.record["status"], 301);
        assert_eq!(
            e.record["when"],
            serde_json::json!([
                {"country": ["AU", "NZ"], "to": "https://x.com/anz", "status": 302},
                {"country": ["CN"], "language": ["zh"], "to": "https://x.com/china", "status": 302}
            ])
        );
        let r = skip_reasons(&got);
        assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), [4, 5, 6, 7]);
        assert!(r[0].1.contains("line 3 already answers"));
        assert!(r[1].1.contains("default target"));
        assert!(r[2].1.contains("primary tags"));
        assert!(r[3].1.contains("rewrites"), "the status is read first: {}", r[3].1);
    }

    #[test]
    fn hosts_patterns_and_order() {
        let text = "https://old.example.com/*  https://new.example.com/:splat  301!\n/news/:year/:slug  /blog/:year/:slug\n/news/2004/x  /elsewhere\n/jobs/*.html /jobs\nhttp://a.com/* https://a.com/:splat 301!\n/blog-:id /b\n";
        let got = imp(text, None);
        assert_eq!(got.entries.len(), 1);
        assert_eq!(rule_from(&got.entries[0].0), "/*");
        assert_eq!(got.entries[0].0.name, "old.example.com");
        let r = skip_reasons(&got);
        assert!(r[0].1.contains("--host"), "{r:?}");
        assert!(r[1].1.contains("--host"));
        assert_eq!(r.len(), 5);
        let got = imp(text, Some("x.com"));
        let r = skip_reasons(&got);
        assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 4, 5, 6], "{r:?}");
        assert!(r[0].1.contains("the pattern on line 2 matches this path first"));
        assert!(r[1].1.contains("whole last segment"));
        assert!(r[2].1.contains("redirects to itself"));
        assert!(r[3].1.contains("whole segments"));
        assert_eq!(got.entries[1].0.record["to"], "https://x.com/blog/:year/:slug");
    }

    #[test]
    fn any_host_with_star() {
        let got = imp("/help  https://help.example.com/  302\n/docs/*  https://d.example.com/:splat 302\n/rel /x\n", Some("*"));
        assert_eq!(got.entries.iter().map(|(e, _)| e.kv_key()).collect::<Vec<_>>(), ["*/help", "rules:*"]);
        assert!(got.skipped[0].reason.contains("relative"));
    }

    #[test]
    fn export_writes_conditions_before_the_default() {
        let files = r#"
[[rule]]
host = "*"
from = "/docs/*"
to = "https://d.example.com/:splat"

[[link]]
key = "x.com/"
to = "https://x.com/home"
status = 301
when = [{ country = ["AU", "NZ"], to = "https://x.com/anz", status = 302 }, { language = ["zh"], to = "https://x.com/zh" }]

[[link]]
key = "x.com/dev"
to = "https://x.com/m"
when = [{ device = ["mobile"], to = "https://m.x.com/" }]

[[link]]
key = "x.com/t"
to = "https://x.com/t2"
status = 307
"#;
        let entries = crate::routes::parse_file("r.toml", files).unwrap();
        let out = export(&entries);
        assert_eq!(
            out.text,
            "https://x.com/  https://x.com/anz  302!  Country=au,nz\nhttps://x.com/  https://x.com/zh  301!  Language=zh\nhttps://x.com/  https://x.com/home  301!\n/docs/*  https://d.example.com/:splat  302!\n"
        );
        assert_eq!(out.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [13, 18]);
        assert!(out.skipped[0].reason.contains("device"));
        assert!(out.skipped[1].reason.contains("status 307"));
    }
}
