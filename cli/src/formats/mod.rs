//! Import from and export to other redirect services' formats.
//!
//! `redirector import --from FORMAT FILE [--host HOST]` turns another service's
//! redirect file into route-file entries ([`import`]); `redirector export --to FORMAT`
//! does the reverse ([`export`]). Nothing is ever dropped silently: every line or item
//! that cannot be translated, and every route the target format cannot express, comes
//! back as a [`Skip`] with its line and the reason.
//!
//! | format | file | module |
//! |---|---|---|
//! | `cloudflare` | Cloudflare Bulk Redirects list, CSV | [`cloudflare`] |
//! | `netlify` | Netlify `_redirects` | [`netlify`] |
//! | `vercel` | Vercel `vercel.json` (its `redirects` array) | [`vercel`] |
//! | `csv` | plain `source,target[,status]` CSV, as link services export it | [`csv`] |
//!
//! Each module's documentation has its full translation table; in short:
//!
//! | the redirector | Cloudflare | Netlify | Vercel | CSV |
//! |---|---|---|---|---|
//! | exact link `host/path` | row | line with source `https://host/path` | item with `has: [{type: host}]` | row |
//! | any-host link `*/path` | - | line with source `/path` | item without `has` | - |
//! | rule `/a/*` to `.../:splat` | subpath matching + preserve path suffix | `/a/*  .../:splat` | `/a/:splat*  .../:splat*` | - |
//! | rule with `:name` | - | `/a/:name` | `/a/:name` | - |
//! | `status` | 301, 302, 307, 308 | 301, 302 | any (`permanent` for 308/307) | any |
//! | `forward_query` | `preserve_query_string` | always on | always on | always on |
//! | `when` country / language | - | `Country=` / `Language=` lines | - | - |
//!
//! Never expressible in any of the four: `canary`, `strong`, `max_clicks`, `starts`,
//! `expires`, `enabled = false`, a record's `fallback`, device conditions, host
//! fallbacks (`[[fallback]]`). `id` only names click events and is not carried over.
//!
//! ## Rules every import follows
//!
//! * **Validated by the core.** Every entry is checked the way the worker will read
//!   it: the key with `key::parse_key` (and written canonical), `from` with
//!   `pattern::Pattern::parse`, the record with `record::link_from_value`. An entry
//!   the core would refuse is a `Skip` carrying the core's reason, never a route.
//! * **Hosts.** Sources that are full URLs name their host. A source that is only a
//!   path (Netlify, Vercel, plain CSV) takes the host of `--host HOST`; without it
//!   the line is skipped with a reason naming `--host`. `--host '*'` imports such
//!   sources as any-host routes (`*/path`, `rules:*`), which is what exporting an
//!   any-host route writes. The scheme of a source is never kept: the redirector
//!   matches `http` and `https` alike (Cloudflare and Netlify imports add a comment
//!   when a source named one, since there it limited the match to that scheme).
//! * **Relative targets** (`/blog`) become `https://<host>/blog`, with the source's
//!   own host if it has one, else `--host`. A relative target with no host to use
//!   is skipped.
//! * **First one wins.** A second line for the same source as an earlier one is
//!   skipped, naming the line that comes first (Netlify and Vercel answer with the
//!   first; a Cloudflare list may not hold both). Where the format takes the first
//!   matching line (Netlify, Vercel), an exact path that an earlier pattern already
//!   matches is skipped too: the redirector looks exact links up before patterns,
//!   so it would answer differently.
//! * **Self-redirects** (a route whose target is its own source, such as Netlify's
//!   `http://x/* https://x/:splat` scheme upgrade) are skipped: the redirector
//!   would loop, and it needs no upgrade rule.
//! * **Comments.** Each entry is written with `# from FILE line N` and notes on
//!   what was approximated (for example a forced `301!`).
//!
//! ## Rules every export follows
//!
//! Entries come out in the redirector's lookup order (exact host links, any-host
//! links, each host's rules in order, any-host rules), so a format that takes the
//! first matching line answers as the redirector does. A route the format cannot
//! express is a `Skip` whose `line` is the route's line in its route file and whose
//! `source` names the file and the route.

pub mod cloudflare;
pub mod csv;
pub mod netlify;
pub mod vercel;

use std::collections::HashMap;

use redirector_core::canon::canonical_host;
use redirector_core::key::parse_key;
use redirector_core::pattern::Pattern;
use redirector_core::record::link_from_value;
use serde_json::{Map, Value};
use url::Url;

use crate::routes::{Entry, Kind, Origin};

/// A format other services write redirects in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Cloudflare Bulk Redirects list, as CSV.
    CloudflareBulk,
    /// Netlify `_redirects`.
    Netlify,
    /// Vercel `vercel.json` (`redirects`).
    Vercel,
    /// Plain `source,target[,status]` CSV.
    Csv,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::CloudflareBulk, Format::Netlify, Format::Vercel, Format::Csv];

    /// The format named on the command line (`cloudflare`, `netlify`, `vercel`, `csv`).
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The name [`Format::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Format::CloudflareBulk => "cloudflare",
            Format::Netlify => "netlify",
            Format::Vercel => "vercel",
            Format::Csv => "csv",
        }
    }
}

/// Options of `import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// `--host`: the host of sources that are only a path, and of relative targets
    /// (`*` for any host: sources only).
    pub host: Option<String>,
}

/// A line or item that was not translated, or a route that was not exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// 1-based line: of the imported file, or of the route in its route file.
    pub line: usize,
    /// The line as written (import), the item as JSON (Vercel), or the route (export).
    pub source: String,
    /// Why, in words an operator can act on.
    pub reason: String,
}

/// What an import produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// Entries in file order (Cloudflare: links, then rules most specific first), each
    /// with its comment lines (`from _redirects line 12`).
    pub entries: Vec<(Entry, Vec<String>)>,
    pub skipped: Vec<Skip>,
}

/// What an export produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    /// The file in the target format.
    pub text: String,
    pub skipped: Vec<Skip>,
}

/// Read `text`, the contents of `file` in `format`. `Err` only when the file as a
/// whole cannot be read (for example `vercel.json` that is not JSON) or `--host` is
/// not a host; anything smaller is a [`Skip`].
pub fn import(format: Format, file: &str, text: &str, opts: &ImportOptions) -> Result<Imported, String> {
    let site = site_host(opts)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::CloudflareBulk => Ok(cloudflare::import(file, text)),
        Format::Netlify => Ok(netlify::import(file, text, site.as_deref())),
        Format::Vercel => vercel::import(file, text, site.as_deref()),
        Format::Csv => Ok(csv::import(file, text, site.as_deref())),
    }
}

/// Write `entries` in `format`; what the format cannot express is skipped.
pub fn export(format: Format, entries: &[Entry]) -> Exported {
    match format {
        Format::CloudflareBulk => cloudflare::export(entries),
        Format::Netlify => netlify::export(entries),
        Format::Vercel => vercel::export(entries),
        Format::Csv => csv::export(entries),
    }
}

/// `--host`, canonical (`*` kept).
fn site_host(opts: &ImportOptions) -> Result<Option<String>, String> {
    let Some(raw) = opts.host.as_deref() else { return Ok(None) };
    if raw == "*" {
        return Ok(Some("*".to_string()));
    }
    if raw.contains('/') || raw.contains(':') {
        return Err(format!("--host {raw}: give a host name such as go.example.com (no scheme, port or path), or '*' for any host"));
    }
    canonical_host(raw).map(Some).map_err(|e| format!("--host {raw}: {e}"))
}

// ---------------------------------------------------------------------------
// CSV (Cloudflare and plain CSV)

/// One CSV record: the line it starts on, its text, and its fields (trimmed), or
/// why it could not be read.
pub(crate) struct CsvRecord {
    pub line: usize,
    pub raw: String,
    pub fields: Result<Vec<String>, String>,
}

/// Split CSV text into records (RFC 4180: fields in `"..."` may hold commas, line
/// breaks and `""` for a quote). Blank lines are left out. Never fails as a whole: a
/// record with an unterminated quote is one record with an error.
pub(crate) fn csv_records(text: &str) -> Vec<CsvRecord> {
    let mut out = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false; // inside "..."
    let mut was_quoted = false; // this field began with a quote (do not trim it)
    let mut line = 1;
    let mut start_line = 1;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    let finish = |field: &mut String, was_quoted: bool, fields: &mut Vec<String>| {
        let f = std::mem::take(field);
        fields.push(if was_quoted { f } else { f.trim().to_string() });
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek().is_some_and(|&(_, n)| n == '"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            ',' if !quoted => {
                finish(&mut field, was_quoted, &mut fields);
                was_quoted = false;
            }
            '\n' | '\r' if !quoted => {
                if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
                    chars.next();
                }
                finish(&mut field, was_quoted, &mut fields);
                was_quoted = false;
                let raw = &text[start..i];
                if !raw.trim().is_empty() {
                    out.push(CsvRecord { line: start_line, raw: raw.to_string(), fields: Ok(std::mem::take(&mut fields)) });
                }
                fields.clear();
                line += 1;
                start_line = line;
                start = chars.peek().map_or(text.len(), |&(j, _)| j);
            }
            _ => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    let raw = &text[start.min(text.len())..];
    if quoted {
        out.push(CsvRecord { line: start_line, raw: raw.to_string(), fields: Err("a quoted field is never closed (missing '\"')".into()) });
    } else if !raw.trim().is_empty() {
        finish(&mut field, was_quoted, &mut fields);
        out.push(CsvRecord { line: start_line, raw: raw.to_string(), fields: Ok(fields) });
    }
    out
}

/// Whether a first CSV row is a header (`source,target,...`) rather than a redirect:
/// its second field cannot be a target (no scheme's `:`, not a path). A row that is
/// not a header is read (and skipped with a reason if it is no redirect either).
/// The data rows of a CSV file: `(line, raw text, fields)`, a header row left out
/// and each unreadable row reported as skipped to `c`.
pub(crate) fn data_rows(c: &mut Collector, text: &str) -> Vec<(usize, String, Vec<String>)> {
    let mut rows = Vec::new();
    for (i, rec) in csv_records(text).into_iter().enumerate() {
        match rec.fields {
            Err(e) => c.skip(rec.line, &rec.raw, e),
            Ok(fields) if i == 0 && is_header(&fields) => {}
            Ok(fields) => rows.push((rec.line, rec.raw, fields)),
        }
    }
    rows
}

pub(crate) fn is_header(fields: &[String]) -> bool {
    fields.get(1).is_some_and(|t| !t.contains(':') && !t.starts_with('/'))
}

/// One CSV field, quoted when it must be.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------
// Sources and targets

/// Where a source points: canonical host (or `*`) and the path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub host: String,
    pub path: String,
    /// The scheme the source named, if any (kept only for a note).
    pub scheme: Option<String>,
}

/// Split a source that names its host: `https://host/path`, `http://host/path`, or
/// (when `scheme_optional`) `host/path`. Query, fragment, port and user-info cannot
/// be matched by the redirector and are refused.
pub(crate) fn split_source(source: &str, scheme_optional: bool) -> Result<Place, String> {
    let (scheme, rest) = match source.find("://") {
        Some(i) => {
            let scheme = source[..i].to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(format!("source scheme {scheme:?} is not http or https"));
            }
            (Some(scheme), &source[i + 3..])
        }
        None if scheme_optional => (None, source),
        None => return Err("source is neither a path (/...) nor an http(s) URL".into()),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("source has a user-info part (user@)".into());
    }
    if authority.is_empty() {
        return Err("source has no host".into());
    }
    if authority.contains(':') {
        return Err(format!("source host {authority:?} has a port: the redirector matches host names, whatever the port"));
    }
    let host = canonical_host(authority).map_err(|e| format!("source host {authority:?}: {e}"))?;
    if tail.contains('?') {
        return Err("source has a query string: the redirector matches the path only".into());
    }
    if tail.contains('#') {
        return Err("source has a fragment (#...), which browsers never send".into());
    }
    let path = if tail.is_empty() { "/".to_string() } else { tail.to_string() };
    Ok(Place { host, path, scheme })
}

/// A source that may be only a path: a path takes `site` (`--host`).
pub(crate) fn place(source: &str, site: Option<&str>) -> Result<Place, String> {
    if source.starts_with('/') {
        if source.contains(['?', '#']) {
            return Err("source has a query string or fragment: the redirector matches the path only".into());
        }
        match site {
            Some(host) => Ok(Place { host: host.to_string(), path: source.to_string(), scheme: None }),
            None => Err(format!("source {source} is a path with no host: give --host HOST (the site's domain, or '*' for any host)")),
        }
    } else {
        split_source(source, false)
    }
}

/// An absolute target: relative targets (`/x`) go to `https://<host>/x`, with the
/// source's host, else `--host`.
pub(crate) fn absolute_target(to: &str, host: &str, site: Option<&str>) -> Result<String, String> {
    if to.starts_with("//") {
        return Err(format!("target {to} is protocol-relative; write https://..."));
    }
    if !to.starts_with('/') {
        return Ok(to.to_string());
    }
    let host = if host != "*" { Some(host) } else { site.filter(|h| *h != "*") };
    match host {
        Some(h) => Ok(format!("https://{h}{to}")),
        None => Err(format!("target {to} is relative: give --host HOST (the domain it is relative to; '*' names none)")),
    }
}

/// Whether every segment of a literal path stays literal in a pattern (no segment is
/// `*` or starts with `:`).
pub(crate) fn is_literal_path(path: &str) -> bool {
    path.split('/').all(|s| s != "*" && !s.starts_with(':'))
}

/// The path of a canonical link key (`host/path` or `*/path`).
pub(crate) fn key_path(key: &str) -> &str {
    key.find('/').map_or("/", |i| &key[i..])
}

/// The host of a canonical link key.
pub(crate) fn key_host(key: &str) -> &str {
    key.find('/').map_or(key, |i| &key[..i])
}

/// Patterns read so far in a format that takes the first matching line (Netlify,
/// Vercel). The redirector looks exact links up before rules, so an exact path that
/// an earlier pattern of the same host matches would answer differently: it is
/// never reached in the source format, and is skipped.
#[derive(Default)]
pub(crate) struct EarlierPatterns(Vec<(String, Pattern, usize)>);

impl EarlierPatterns {
    /// Remember the pattern `from` of `host`, read on `line` (invalid ones are ignored:
    /// they are skipped anyway).
    pub fn add(&mut self, host: &str, from: &str, line: usize) {
        if let Ok(p) = Pattern::parse(from) {
            self.0.push((host.to_string(), p, line));
        }
    }

    /// The reason to skip an exact `path` of `host`, if an earlier pattern matches it.
    pub fn shadowing(&self, host: &str, path: &str) -> Option<String> {
        let path = redirector_core::canon::canonical_path(path).ok()?;
        let (_, _, line) = self.0.iter().find(|(h, p, _)| h == host && p.matches(&path).is_some())?;
        Some(format!("never reached: the pattern on line {line} matches this path first (the redirector would look the exact path up before any pattern)"))
    }
}

// ---------------------------------------------------------------------------
// Building entries

/// A route about to become an entry: checked by [`Collector::add`].
pub(crate) struct Draft {
    pub kind: Kind,
    /// Canonical host or `*`.
    pub host: String,
    /// A link's path, a rule's `from`.
    pub path: String,
    /// The record without `from`.
    pub record: Map<String, Value>,
    /// The lines it was read from, first the main one: (line, text).
    pub lines: Vec<(usize, String)>,
    /// Comment lines after `from FILE line N`.
    pub notes: Vec<String>,
}

/// Gathers entries and skips, checking each entry with the core and keeping the
/// first of two entries for the same source.
pub(crate) struct Collector<'a> {
    file: &'a str,
    pub entries: Vec<(Entry, Vec<String>)>,
    pub skipped: Vec<Skip>,
    /// Identity (canonical key, or rule host and `from`) -> line of the first.
    seen: HashMap<String, usize>,
}

impl<'a> Collector<'a> {
    pub fn new(file: &'a str) -> Self {
        Self { file, entries: Vec::new(), skipped: Vec::new(), seen: HashMap::new() }
    }

    pub fn skip(&mut self, line: usize, source: &str, reason: impl Into<String>) {
        self.skipped.push(Skip { line, source: source.trim_end().to_string(), reason: reason.into() });
    }

    /// Check `d` as the core will read it; add it, or skip each of its lines.
    pub fn add(&mut self, d: Draft) {
        match self.check(&d) {
            Ok(entry) => {
                let first = d.lines.first().map_or(0, |l| l.0);
                self.seen.insert(identity(&entry), first);
                let lines: Vec<String> = d.lines.iter().map(|l| l.0.to_string()).collect();
                let from = match lines.as_slice() {
                    [one] => format!("from {} line {one}", self.file),
                    more => format!("from {} lines {}", self.file, more.join(", ")),
                };
                let mut comments = vec![from];
                comments.extend(d.notes);
                self.entries.push((entry, comments));
            }
            Err(reason) => {
                for (line, text) in &d.lines {
                    self.skip(*line, text, reason.clone());
                }
            }
        }
    }

    fn check(&self, d: &Draft) -> Result<Entry, String> {
        let line = d.lines.first().map_or(0, |l| l.0);
        let origin = Origin { file: self.file.to_string(), line };
        let mut record = d.record.clone();
        let entry = match d.kind {
            Kind::Link => {
                let key = parse_key(&format!("{}{}", d.host, d.path)).map_err(|e| format!("source {}: {e}", d.path))?.key;
                Entry { kind: Kind::Link, name: key, record, origin }
            }
            Kind::Rule | Kind::Fallback => {
                Pattern::parse(&d.path).map_err(|e| format!("pattern {}: {e}", d.path))?;
                record.insert("from".into(), Value::String(d.path.clone()));
                Entry { kind: d.kind, name: d.host.clone(), record, origin }
            }
        };
        link_from_value(Value::Object(entry.record.clone())).map_err(|e| format!("the redirector would refuse it: {e}"))?;
        if let Some(first) = self.seen.get(&identity(&entry)) {
            return Err(format!("same source as line {first}, which comes first"));
        }
        if redirects_to_itself(&entry) {
            return Err("redirects to itself (a scheme upgrade such as http:// to https:// is not needed: the redirector matches both schemes)".into());
        }
        Ok(entry)
    }

    /// What was imported, and what was not, in line order.
    pub fn finish(mut self) -> Imported {
        self.skipped.sort_by_key(|s| s.line);
        Imported { entries: self.entries, skipped: self.skipped }
    }
}

fn identity(e: &Entry) -> String {
    match e.kind {
        Kind::Link => e.name.clone(),
        Kind::Rule | Kind::Fallback => format!("rules:{} {}", e.name, e.record.get("from").and_then(Value::as_str).unwrap_or("")),
    }
}

/// Whether an entry's target (`to`) is its own source: the same host and path for
/// a link, or for a rule the pattern itself (`/*` to `https://same-host/:splat`).
fn redirects_to_itself(e: &Entry) -> bool {
    let Some(to) = e.record.get("to").and_then(Value::as_str).and_then(|t| Url::parse(t).ok()) else { return false };
    let Some(to_host) = to.host_str() else { return false };
    match e.kind {
        Kind::Link => {
            let host = key_host(&e.name);
            let path = redirector_core::canon::canonical_path(to.path()).unwrap_or_default();
            host == to_host && key_path(&e.name) == path && to.query().is_none()
        }
        Kind::Rule | Kind::Fallback => {
            let from = e.record.get("from").and_then(Value::as_str).unwrap_or("");
            let as_target = from.strip_suffix('*').map_or_else(|| from.to_string(), |head| format!("{head}:splat"));
            e.name == to_host && to.path() == as_target && to.query().is_none()
        }
    }
}

// ---------------------------------------------------------------------------
// Exporting

/// Who and where a route is, for a [`Skip`] of an export.
pub(crate) fn describe(e: &Entry) -> String {
    match e.kind {
        Kind::Link => format!("{}: [[link]] {}", e.origin.file, e.name),
        Kind::Rule => format!("{}: [[rule]] {} {}", e.origin.file, e.name, e.record.get("from").and_then(Value::as_str).unwrap_or("")),
        Kind::Fallback => format!("{}: [[fallback]] {}", e.origin.file, e.name),
    }
}

pub(crate) fn skip_entry(e: &Entry, reason: impl Into<String>) -> Skip {
    Skip { line: e.origin.line, source: describe(e), reason: reason.into() }
}

/// What none of the formats can express in `e` (none: `None`). `format` names the
/// target format in the reason.
pub(crate) fn unexpressible(e: &Entry, format: &str) -> Option<String> {
    if e.kind == Kind::Fallback {
        return Some(format!("a host fallback (fallback:{}) has no equivalent in {format}", e.name));
    }
    let r = &e.record;
    let has = |k: &str| r.get(k).is_some_and(|v| !v.is_null());
    let mut what = Vec::new();
    if r.get("enabled") == Some(&Value::Bool(false)) {
        what.push("enabled = false (exporting it would turn it on)");
    }
    if has("starts") || has("expires") {
        what.push("a time window (starts/expires)");
    }
    if has("canary") {
        what.push("a canary split");
    }
    if r.get("strong") == Some(&Value::Bool(true)) {
        what.push("strong (counted by the Durable Object)");
    }
    if has("max_clicks") {
        what.push("max_clicks");
    }
    if has("fallback") {
        what.push("a fallback target");
    }
    if what.is_empty() { None } else { Some(format!("{format} cannot express {}", what.join(", "))) }
}

/// A record's effective fields, as the core reads them.
pub(crate) struct Fields<'e> {
    pub to: &'e str,
    pub status: u64,
    pub forward_query: bool,
    pub when: &'e [Value],
}

pub(crate) fn fields(e: &Entry) -> Result<Fields<'_>, String> {
    let r = &e.record;
    let to = r.get("to").and_then(Value::as_str).ok_or("the record has no target (to)")?;
    link_from_value(Value::Object(r.clone())).map_err(|err| format!("the record is invalid: {err}"))?;
    Ok(Fields {
        to,
        status: r.get("status").and_then(Value::as_u64).unwrap_or(302),
        forward_query: r.get("forward_query").and_then(Value::as_bool).unwrap_or(true),
        when: r.get("when").and_then(Value::as_array).map_or(&[], Vec::as_slice),
    })
}

/// Entries in the redirector's lookup order, each with its index in `entries`:
/// exact host links, any-host links, then each host's rules (hosts in order of first
/// appearance, rules in file order), any-host rules last, then host fallbacks (which
/// every format skips). So a format that takes the first matching line answers as
/// the redirector does.
pub(crate) fn lookup_order(entries: &[Entry]) -> Vec<(usize, &Entry)> {
    let rank = |e: &Entry| match (e.kind, e.name.starts_with('*')) {
        (Kind::Link, false) => 0,
        (Kind::Link, true) => 1,
        (Kind::Rule, false) => 2,
        (Kind::Rule, true) => 3,
        (Kind::Fallback, _) => 4,
    };
    let mut hosts: Vec<&str> = Vec::new();
    for e in entries.iter().filter(|e| e.kind == Kind::Rule) {
        if !hosts.contains(&e.name.as_str()) {
            hosts.push(&e.name);
        }
    }
    let mut out: Vec<(usize, &Entry)> = entries.iter().enumerate().collect();
    out.sort_by_key(|(_, e)| (rank(e), if e.kind == Kind::Rule { hosts.iter().position(|h| *h == e.name).unwrap_or(0) } else { 0 }));
    out
}

/// Export `entries` in lookup order: `write` gives each one's text or the reason it
/// cannot be written. Skips come back in the order of `entries` (route-file order).
pub(crate) fn export_each<'e>(entries: &'e [Entry], mut write: impl FnMut(&'e Entry) -> Result<String, String>) -> (Vec<String>, Vec<Skip>) {
    let mut written = Vec::new();
    let mut skipped: Vec<(usize, Skip)> = Vec::new();
    for (i, e) in lookup_order(entries) {
        match write(e) {
            Ok(text) => written.push(text),
            Err(reason) => skipped.push((i, skip_entry(e, reason))),
        }
    }
    skipped.sort_by_key(|(i, _)| *i);
    (written, skipped.into_iter().map(|(_, s)| s).collect())
}

/// The `from` of a rule entry.
pub(crate) fn rule_from(e: &Entry) -> &str {
    e.record.get("from").and_then(Value::as_str).unwrap_or("")
}

/// Whether an earlier rule of the same host (in `earlier`) takes every request `e`
/// would match; returns its line.
pub(crate) fn shadowed_by(e: &Entry, earlier: &[&Entry]) -> Option<usize> {
    let mine = Pattern::parse(rule_from(e)).ok()?;
    earlier
        .iter()
        .filter(|o| o.kind == Kind::Rule && o.name == e.name && o.record.get("enabled") != Some(&Value::Bool(false)))
        .find(|o| Pattern::parse(rule_from(o)).is_ok_and(|p| p.covers(&mine)))
        .map(|o| o.origin.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_of(text: &str) -> Vec<(usize, Result<Vec<String>, String>)> {
        csv_records(text).into_iter().map(|r| (r.line, r.fields)).collect()
    }

    #[test]
    fn csv_quotes_commas_and_line_breaks() {
        let got = fields_of("a,b\n\n\"x,y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",z\nlast,  spaced  ");
        let s = |v: &[&str]| Ok(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(got, vec![(1, s(&["a", "b"])), (3, s(&["x,y", "say \"hi\""])), (4, s(&["multi\nline", "z"])), (6, s(&["last", "spaced"]))]);
        let bad = fields_of("ok,1\n\"never closed,2\n");
        assert_eq!(bad[0].1, s(&["ok", "1"]));
        assert_eq!(bad[1].0, 2);
        assert!(bad[1].1.is_err());
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        let row = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_header(&row(&["source_url", "target_url", "status_code"])));
        assert!(is_header(&row(&["short", "long url"])));
        for redirect in [["a.com/x", "https://b.com"], ["a.com/t", "magnet:?xt=urn:btih:2bd9"], ["/a", "/b"]] {
            assert!(!is_header(&row(&redirect)), "{redirect:?}");
        }
    }

    #[test]
    fn csv_never_panics_on_odd_input() {
        for text in ["\"", "\"\"\"", ",,,\n,,", "\r", "\r\r\n", "a\"b,c", "é,\"ü\"x", "\"a\"\"", "\n\n\"\n"] {
            let _ = csv_records(text);
        }
    }

    #[test]
    fn sources() {
        let p = split_source("https://Old.Example.com/a/b", false).unwrap();
        assert_eq!((p.host.as_str(), p.path.as_str(), p.scheme.as_deref()), ("old.example.com", "/a/b", Some("https")));
        assert_eq!(split_source("example.com", true).unwrap().path, "/");
        for bad in ["ftp://x.com/a", "https://x.com:8080/a", "https://u@x.com/a", "https://x.com/a?q=1", "x.com/a", "https:///a"] {
            assert!(split_source(bad, false).is_err(), "{bad}");
        }
        assert!(place("/a", None).unwrap_err().contains("--host"));
        assert_eq!(place("/a", Some("*")).unwrap().host, "*");
        assert_eq!(absolute_target("/x?y=1", "a.com", None).unwrap(), "https://a.com/x?y=1");
        assert_eq!(absolute_target("/x", "*", Some("b.com")).unwrap(), "https://b.com/x");
        assert!(absolute_target("/x", "*", Some("*")).is_err());
        assert!(absolute_target("//evil.com/x", "a.com", None).is_err());
    }

    #[test]
    fn host_option() {
        let h = |s: &str| site_host(&ImportOptions { host: Some(s.into()) });
        assert_eq!(h("Go.Example.com").unwrap().as_deref(), Some("go.example.com"));
        assert_eq!(h("*").unwrap().as_deref(), Some("*"));
        assert!(h("https://go.example.com").is_err());
        assert!(h("a b").is_err());
    }

    #[test]
    fn format_names() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()), Some(f));
        }
        assert_eq!(Format::parse("Cloudflare"), Some(Format::CloudflareBulk));
        assert_eq!(Format::parse("apache"), None);
    }
}
