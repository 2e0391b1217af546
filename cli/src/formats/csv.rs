//! Plain CSV: `source,target[,status]`, as link shorteners and spreadsheets export it.
//!
//! ## Import
//!
//! A first row whose second field is not a URL or path (`source,target,status`,
//! `short,long`, ...) is a header and is left out. Fields may be quoted (`"a,b"`).
//! Columns after the third are ignored (exports often add titles or click counts).
//!
//! | CSV | the redirector |
//! |---|---|
//! | `https://go.example.com/abc` | link `go.example.com/abc` (the scheme is not kept) |
//! | `go.example.com/abc` (a host with a dot, then a path) | link `go.example.com/abc` |
//! | `/abc` | link `<--host>/abc` (skipped without `--host`) |
//! | `abc` (a bare short code) | link `<--host>/abc` |
//! | target (absolute, or a path relative to the source's host) | `to` |
//! | status (empty or missing: **302**, the redirector's default) | `status` |
//!
//! Every row is an exact link; the query is forwarded (the redirector's default).
//! Skipped, with the reason: rows with fewer than two fields, a status that is not a
//! number or that the core refuses, sources with a query, port or user-info, a second
//! row for the same source (the first is kept), and targets the core refuses.
//!
//! ## Export
//!
//! A header `source,target,status`, then `https://host/path,to,status` for each link
//! of a named host. Skipped, with the reason: rules (CSV has no patterns), any-host
//! links (no host to write), `when` conditions, `forward_query = false`, and what no
//! format expresses (see the module above).

use serde_json::{Map, Value};

use super::{absolute_target, csv_field, data_rows, export_each, fields, place, split_source, unexpressible, Collector, Draft, Exported, Imported, Place};
use crate::routes::{Entry, Kind};

const FORMAT: &str = "plain CSV";

pub(super) fn import(file: &str, text: &str, site: Option<&str>) -> Imported {
    let mut c = Collector::new(file);
    for (line, raw, fields) in data_rows(&mut c, text) {
        match row(&fields, site) {
            Ok((place, record)) => c.add(Draft { kind: Kind::Link, host: place.host, path: place.path, record, lines: vec![(line, raw.clone())], notes: Vec::new() }),
            Err(reason) => c.skip(line, &raw, reason),
        }
    }
    c.finish()
}

fn row(f: &[String], site: Option<&str>) -> Result<(Place, Map<String, Value>), String> {
    let (Some(source), Some(target)) = (f.first().filter(|s| !s.is_empty()), f.get(1).filter(|s| !s.is_empty())) else {
        return Err("a row needs a source and a target".into());
    };
    let place = source_place(source, site)?;
    let status = match f.get(2).map(String::as_str) {
        None | Some("") => 302,
        Some(s) => s.parse::<u64>().map_err(|_| format!("status {s:?} is not a number"))?,
    };
    let mut record = Map::new();
    record.insert("to".into(), Value::String(absolute_target(target, &place.host, site)?));
    record.insert("status".into(), Value::from(status));
    Ok((place, record))
}

/// A URL, `host/path`, a path, or a bare short code.
fn source_place(source: &str, site: Option<&str>) -> Result<Place, String> {
    if source.contains("://") {
        return split_source(source, false);
    }
    if source.starts_with('/') {
        return place(source, site);
    }
    if source.split('/').next().is_some_and(|head| head.contains('.')) && source.contains('/') {
        return split_source(source, true);
    }
    if source.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        return Err(format!("short code {source:?} has a space, '?' or '#'"));
    }
    place(&format!("/{source}"), site)
}

pub(super) fn export(entries: &[Entry]) -> Exported {
    let (rows, skipped) = export_each(entries, |e| row_for(e).map(|cols| cols.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",") + "\n"));
    Exported { text: format!("source,target,status\n{}", rows.concat()), skipped }
}

fn row_for(e: &Entry) -> Result<Vec<String>, String> {
    if let Some(reason) = unexpressible(e, FORMAT) {
        return Err(reason);
    }
    if e.kind == Kind::Rule {
        return Err(format!("{FORMAT} has exact sources only, no patterns"));
    }
    if e.name.starts_with('*') {
        return Err(format!("any-host links cannot be written: {FORMAT} sources name a host"));
    }
    let f = fields(e)?;
    if !f.when.is_empty() {
        return Err(format!("{FORMAT} cannot express conditions (when)"));
    }
    if !f.forward_query {
        return Err(format!("forward_query = false: {FORMAT} has no column for it (imports forward the query)"));
    }
    let key = redirector_core::key::parse_key(&e.name).map_err(|err| format!("key {}: {err}", e.name))?.key;
    Ok(vec![format!("https://{key}"), f.to.to_string(), f.status.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{export as export_as, import as import_as, Format, ImportOptions};

    fn imp(text: &str, host: Option<&str>) -> Imported {
        import_as(Format::Csv, "links.csv", text, &ImportOptions { host: host.map(str::to_string) }).unwrap()
    }

    #[test]
    fn sources_of_every_shape() {
        let got = imp("short,long,code\nhttps://Go.Example.com/a,https://t.com/1\ngo.example.com/b,https://t.com/2,301\n/c,/landing\nd,\"https://t.com/4?a=1,2\",,title\n", Some("s.io"));
        assert!(got.skipped.is_empty(), "{:?}", got.skipped);
        let e: Vec<(&str, &str, &Value)> = got.entries.iter().map(|(e, _)| (e.name.as_str(), e.record["to"].as_str().unwrap(), &e.record["status"])).collect();
        assert_eq!(
            e,
            [
                ("go.example.com/a", "https://t.com/1", &Value::from(302)),
                ("go.example.com/b", "https://t.com/2", &Value::from(301)),
                ("s.io/c", "https://s.io/landing", &Value::from(302)),
                ("s.io/d", "https://t.com/4?a=1,2", &Value::from(302)),
            ]
        );
    }

    #[test]
    fn rows_that_cannot_be_read() {
        let got = imp("abc,https://t.com/\nhttps://x.com/a,https://t.com/,3xx\nhttps://x.com/a,https://t.com/,200\nhttps://x.com/a,ftp://t.com/\nhttps://x.com/a,https://t.com/ok\nhttps://x.com/a,https://t.com/again\nhttps://x.com/b\na b,https://t.com/\n", None);
        let r: Vec<(usize, &str)> = got.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
        assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4, 6, 7, 8], "{r:?}");
        assert!(r[0].1.contains("--host"));
        assert!(r[1].1.contains("not a number"));
        assert!(r[2].1.contains("status"));
        assert!(r[3].1.contains("scheme"));
        assert!(r[4].1.contains("same source as line 5"));
        assert!(r[5].1.contains("needs a source and a target"));
        assert!(r[6].1.contains("short code"));
    }

    #[test]
    fn export_links_only() {
        let files = "[[link]]\nkey = \"Go.Example.com/a/\"\nto = \"https://t.com/x,y\"\n\n[[rule]]\nhost = \"go.example.com\"\nfrom = \"/b/*\"\nto = \"https://t.com/:splat\"\n\n[[link]]\nkey = \"*/h\"\nto = \"https://t.com/h\"\n";
        let out = export_as(Format::Csv, &crate::routes::parse_file("r.toml", files).unwrap());
        assert_eq!(out.text, "source,target,status\nhttps://go.example.com/a,\"https://t.com/x,y\",302\n");
        assert_eq!(out.skipped.iter().map(|s| s.line).collect::<Vec<_>>(), [5, 10]);
    }
}
