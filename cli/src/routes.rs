//! Route files: the operator's source of truth, kept in git (docs/routes-as-code.md).
//!
//! A route file is TOML. Each `[[link]]` is one exact link (its `key` as in KV,
//! `go.example.com/summer` or `*/help`), each `[[rule]]` one element of a host's rule
//! array (`host`, or `*` for `rules:*`; rules keep file order, files in the order
//! given), each `[[fallback]]` a host's `fallback:<host>`. Every other field is the
//! record field of ROUTES.md, spelled the same, so a route file reads like the
//! contract and converts to KV values with no mapping table. Comments (`#`) are free.
//!
//! Reading keeps where each entry came from ([`Origin`]: file and line), so every
//! finding of `check` names them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

/// Where an entry was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Link,
    Rule,
    Fallback,
}

impl Kind {
    pub fn table(self) -> &'static str {
        match self {
            Kind::Link => "link",
            Kind::Rule => "rule",
            Kind::Fallback => "fallback",
        }
    }
}

/// One entry of a route file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: Kind,
    /// A link's key as written, or a rule's / fallback's host (`*` for any host).
    pub name: String,
    /// The record's fields as in ROUTES.md (for a rule, with `from`).
    pub record: Map<String, Value>,
    pub origin: Origin,
}

impl Entry {
    /// The KV key this entry is (part of), as written (not canonical).
    pub fn kv_key(&self) -> String {
        match self.kind {
            Kind::Link => self.name.clone(),
            Kind::Rule => format!("rules:{}", self.name),
            Kind::Fallback => format!("fallback:{}", self.name),
        }
    }
}

/// All entries of a set of route files, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteSet {
    pub entries: Vec<Entry>,
}

/// A route file that cannot be read at all (not TOML, an unknown table, a field of
/// the wrong type): file, line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// A route file, deserialised straight into the JSON the contract speaks (no
/// intermediate TOML tables: a million routes parse in seconds).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(default)]
    link: Vec<Spanned<Map<String, Value>>>,
    #[serde(default)]
    rule: Vec<Spanned<Map<String, Value>>>,
    #[serde(default)]
    fallback: Vec<Spanned<Map<String, Value>>>,
}

/// How the TOML deserialiser hands a date to a JSON value.
const TOML_DATETIME: &str = "$__toml_private_datetime";

/// Lines of a text: the byte offset where each begins, for finding an offset's line
/// by binary search (a file of a million routes has as many lookups).
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(std::iter::once(0).chain(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1)).collect())
    }
    /// Line (1-based) of a byte offset.
    fn of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

/// Parse one route file's text. `file` names it in errors and origins.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Entry>, FileError> {
    let lines = Lines::new(text);
    let doc: Doc = toml::from_str(text).map_err(|e| FileError {
        origin: Origin { file: file.to_string(), line: e.span().map_or(1, |s| lines.of(s.start)) },
        message: e.message().to_string(),
    })?;
    let mut entries = Vec::with_capacity(doc.link.len() + doc.rule.len() + doc.fallback.len());
    for (kind, tables) in [(Kind::Link, doc.link), (Kind::Rule, doc.rule), (Kind::Fallback, doc.fallback)] {
        for table in tables {
            let origin = Origin { file: file.to_string(), line: lines.of(table.span().start) };
            entries.push(entry(kind, table.into_inner(), origin)?);
        }
    }
    entries.sort_by_key(|e| e.origin.line);
    Ok(entries)
}

fn entry(kind: Kind, mut record: Map<String, Value>, origin: Origin) -> Result<Entry, FileError> {
    let name_field = if kind == Kind::Link { "key" } else { "host" };
    let name = match record.remove(name_field) {
        Some(Value::String(s)) => s,
        Some(_) => return Err(FileError { origin, message: format!("[[{}]] {name_field} must be a string", kind.table()) }),
        None => return Err(FileError { origin, message: format!("[[{}]] needs {name_field} = \"...\"", kind.table()) }),
    };
    for value in record.values_mut() {
        dates_as_text(value);
    }
    Ok(Entry { kind, name, record, origin })
}

/// TOML dates become the contract's RFC 3339 text.
fn dates_as_text(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(date)) = map.get(TOML_DATETIME) {
                *value = Value::String(date.clone());
            } else {
                map.values_mut().for_each(dates_as_text);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(dates_as_text),
        _ => {}
    }
}

/// JSON as a TOML value (`null` fields are dropped: TOML has no null).
fn to_toml(value: &Value) -> Option<toml::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => n.as_i64().map_or_else(|| toml::Value::Float(n.as_f64().unwrap_or(0.0)), toml::Value::Integer),
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(items.iter().filter_map(to_toml).collect()),
        Value::Object(map) => toml::Value::Table(map.iter().filter_map(|(k, v)| Some((k.clone(), to_toml(v)?))).collect()),
    })
}

/// Write entries as a route file: one block per entry, in order, each preceded by
/// its `comments` (one `# ` line each), if any.
pub fn write_file(entries: &[(Entry, Vec<String>)]) -> String {
    let mut out = String::new();
    for (e, comments) in entries {
        if !out.is_empty() {
            out.push('\n');
        }
        for c in comments {
            out.push_str("# ");
            out.push_str(c);
            out.push('\n');
        }
        let name_field = if e.kind == Kind::Link { "key" } else { "host" };
        let mut table = toml::Table::new();
        table.insert(name_field.to_string(), toml::Value::String(e.name.clone()));
        // The target first, then the rest in the contract's order: easy to scan.
        let order = ["from", "to", "status", "forward_query", "enabled", "starts", "expires", "id", "strong", "max_clicks", "fallback", "canary", "when"];
        let mut fields: Vec<(&String, &Value)> = e.record.iter().collect();
        fields.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(order.len()));
        for (k, v) in fields {
            if let Some(v) = to_toml(v) {
                table.insert(k.clone(), v);
            }
        }
        let mut doc = toml::Table::new();
        doc.insert(e.kind.table().to_string(), toml::Value::Array(vec![toml::Value::Table(table)]));
        out.push_str(&toml::to_string(&doc).unwrap_or_default());
    }
    out
}

impl RouteSet {
    /// Read route files (their text, named), in the order given; files are parsed
    /// on all cores.
    pub fn parse(files: &[(String, String)]) -> Result<RouteSet, Vec<FileError>> {
        let parsed = crate::parallel::map(files, |(name, text)| parse_file(name, text));
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for result in parsed {
            match result {
                Ok(mut e) => entries.append(&mut e),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(RouteSet { entries }) } else { Err(errors) }
    }

    /// What KV should hold for these routes: canonical key -> JSON value, with each
    /// host's rules gathered into one array in file order. Keys that do not parse are
    /// left out (`check` reports them).
    pub fn kv(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut rules: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for e in &self.entries {
            let Ok(key) = redirector_core::key::parse_key(&e.kv_key()) else { continue };
            match e.kind {
                Kind::Rule => rules.entry(key.key).or_default().push(Value::Object(e.record.clone())),
                Kind::Link | Kind::Fallback => {
                    out.insert(key.key, Value::Object(e.record.clone()));
                }
            }
        }
        out.extend(rules.into_iter().map(|(k, v)| (k, Value::Array(v))));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# Summer campaign
[[link]]
key = "go.example.com/summer"
to = "https://shop.example.com/sale"
status = 301
starts = 2026-06-01T00:00:00Z

[[rule]]
host = "old.example.com"
from = "/blog/:slug"
to = "https://blog.example.com/:slug"

[[link]]
key = "*/help"
to = "https://help.example.com/"
when = [{ country = ["DE"], to = "https://help.example.de/" }]

[[fallback]]
host = "seller.example.com"
to = "https://seller-shop.example.com/"
"#;

    #[test]
    fn entries_keep_their_file_and_line() {
        let e = parse_file("routes/a.toml", FILE).unwrap();
        let got: Vec<(Kind, &str, usize)> = e.iter().map(|e| (e.kind, e.name.as_str(), e.origin.line)).collect();
        assert_eq!(got, [(Kind::Link, "go.example.com/summer", 2), (Kind::Rule, "old.example.com", 8), (Kind::Link, "*/help", 13), (Kind::Fallback, "seller.example.com", 18)]);
        assert_eq!(e[0].record["starts"], "2026-06-01T00:00:00Z", "TOML dates are the contract's RFC 3339 text");
        assert_eq!(e[2].record["when"][0]["country"][0], "DE");
    }

    #[test]
    fn kv_view_gathers_rules_and_canonicalises_keys() {
        let set = RouteSet::parse(&[("a.toml".into(), FILE.into())]).unwrap();
        let kv = set.kv();
        assert_eq!(kv.keys().collect::<Vec<_>>(), ["*/help", "fallback:seller.example.com", "go.example.com/summer", "rules:old.example.com"]);
        assert_eq!(kv["rules:old.example.com"][0]["from"], "/blog/:slug");
    }

    #[test]
    fn unreadable_files_name_the_line() {
        for (text, line) in [("[[link]]\nkey = \"a/b\"\nto = \n", 3), ("[[links]]\nkey = \"x\"\n", 1), ("[[link]]\nto = \"https://a\"\n", 1)] {
            let err = parse_file("f.toml", text).unwrap_err();
            assert_eq!(err.origin.line, line, "{text}: {err}");
        }
    }

    #[test]
    fn written_files_read_back_the_same() {
        let e = parse_file("a.toml", FILE).unwrap();
        let text = write_file(&e.iter().cloned().map(|e| (e, vec!["imported".to_string()])).collect::<Vec<_>>());
        let back = parse_file("b.toml", &text).unwrap();
        assert_eq!(back.iter().map(|e| (&e.kind, &e.name, &e.record)).collect::<Vec<_>>(), e.iter().map(|e| (&e.kind, &e.name, &e.record)).collect::<Vec<_>>());
        assert!(text.starts_with("# imported\n[[link]]\nkey = \"go.example.com/summer\"\nto = "), "{text}");
    }
}
