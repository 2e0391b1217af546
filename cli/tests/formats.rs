//! Import and export through the public API, with files written from each format's
//! own documentation (tests/data/import/): what is translated, what is skipped (line
//! and reason), round trips, and routes a format cannot express.

use std::fs;

use redirector_cli::formats::{export, import, Format, ImportOptions, Imported, Skip};
use redirector_cli::lint::{check, Level};
use redirector_cli::routes::{parse_file, write_file, Entry, Kind, RouteSet};
use redirector_core::record::{link_from_value, LinkRecord};
use serde_json::{json, Value};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/import/{name}", env!("CARGO_MANIFEST_DIR"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn opts(host: Option<&str>) -> ImportOptions {
    ImportOptions { host: host.map(str::to_string) }
}

fn import_data(format: Format, name: &str, host: Option<&str>) -> Imported {
    import(format, name, &data(name), &opts(host)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An entry as (KV key, `from`, the rest of the record) for comparisons.
fn view(e: &Entry) -> (String, String, Value) {
    let mut record = e.record.clone();
    let from = record.remove("from").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    (e.kv_key(), from, Value::Object(record))
}

fn views(imported: &Imported) -> Vec<(String, String, Value)> {
    imported.entries.iter().map(|(e, _)| view(e)).collect()
}

fn sorted(mut v: Vec<(String, String, Value)>) -> Vec<(String, String, Value)> {
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v
}

/// Assert the skips: each expected line, with a reason containing the text given.
fn assert_skips(skipped: &[Skip], want: &[(usize, &str)]) {
    let got: Vec<(usize, &str)> = skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(got.len(), want.len(), "skips: {got:#?}");
    for ((line, reason), (want_line, want_text)) in got.iter().zip(want) {
        assert_eq!(line, want_line, "{got:#?}");
        assert!(reason.contains(want_text), "line {line}: {reason:?} should mention {want_text:?}");
    }
}

fn link(key: &str, record: Value) -> (String, String, Value) {
    (key.to_string(), String::new(), record)
}

fn rule(host: &str, from: &str, record: Value) -> (String, String, Value) {
    (format!("rules:{host}"), from.to_string(), record)
}

/// import -> route file -> export -> import again gives the same entries, and the
/// exported file has nothing the format cannot express.
fn assert_round_trip(format: Format, name: &str, host: Option<&str>) {
    let first = import_data(format, name, host);
    let route_file = write_file(&first.entries);
    let entries = parse_file("imported.toml", &route_file).unwrap_or_else(|e| panic!("{e}\n{route_file}"));
    let exported = export(format, &entries);
    assert!(exported.skipped.is_empty(), "{name}: {:#?}", exported.skipped);
    let again = import(format, "exported", &exported.text, &opts(host)).unwrap();
    assert!(again.skipped.is_empty(), "{name}: {:#?}\n{}", again.skipped, exported.text);
    assert_eq!(sorted(views(&again)), sorted(views(&first)), "{name} exported as:\n{}", exported.text);
}

#[test]
fn cloudflare_bulk_redirects_csv() {
    let got = import_data(Format::CloudflareBulk, "cloudflare.csv", None);
    assert_eq!(
        views(&got),
        [
            link("example.com/contacts", json!({"to": "https://example.net/contact-us", "status": 301, "forward_query": false})),
            link("example.com/new_feature", json!({"to": "https://example.com/soon", "status": 302, "forward_query": false})),
            link("example.com/my-folder", json!({"to": "https://example.com/other-folder/", "status": 301})),
            link("example.com/menu,lunch", json!({"to": "https://example.net/menus?day=mon,tue", "status": 302, "forward_query": false})),
            rule("example.com", "/foo/*", json!({"to": "https://example.com/qux/:splat", "status": 301, "forward_query": false})),
            rule("example.com", "/a/*", json!({"to": "https://example.com/b/", "status": 301, "forward_query": false})),
            rule("example.com", "/blog/*", json!({"to": "https://example.com/news/:splat", "status": 308})),
        ]
    );
    let comments: Vec<&Vec<String>> = got.entries.iter().map(|(_, c)| c).collect();
    assert_eq!(comments[0], &["from cloudflare.csv line 1"]);
    assert_eq!(comments[4], &["from cloudflare.csv line 5", "Cloudflare matched only https:// requests; the redirector matches http and https alike"]);
    assert_skips(
        &got.skipped,
        &[
            (2, "include_subdomains = TRUE"),
            (3, "include_subdomains = TRUE"),
            (10, "scheme must be https or http"),
            (11, "query string"),
            (12, "same source as line 1"),
            (13, "preserve_query_string must be TRUE or FALSE"),
        ],
    );
    assert_eq!(got.skipped[1].source, "example.com/docs,https://example.com/draft-docs,302,,TRUE");
}

#[test]
fn netlify_redirects() {
    let got = import_data(Format::Netlify, "_redirects", Some("example.com"));
    assert_eq!(
        views(&got),
        [
            link("example.com/home", json!({"to": "https://example.com/", "status": 301})),
            link("example.com/blog/my-post.php", json!({"to": "https://example.com/blog/my-post", "status": 301})),
            link("example.com/news", json!({"to": "https://example.com/blog", "status": 301})),
            link("example.com/cuties", json!({"to": "https://www.petsofnetlify.com", "status": 301})),
            link("example.com/authors/c%C3%A9line", json!({"to": "https://example.com/authors/about-c%C3%A9line", "status": 301})),
            link("example.com/my-redirect", json!({"to": "https://example.com/", "status": 302})),
            rule("example.com", "/news/:month/:date/:year/:slug", json!({"to": "https://example.com/blog/:year/:month/:date/:slug", "status": 301})),
            rule("example.com", "/news/*", json!({"to": "https://example.com/blog/:splat", "status": 301})),
            rule("blog.yoursite.com", "/*", json!({"to": "https://www.yoursite.com/blog/:splat", "status": 301})),
            link(
                "example.com/",
                json!({"to": "https://example.com/welcome", "status": 302, "when": [
                    {"country": ["AU", "NZ"], "to": "https://example.com/anz"},
                    {"country": ["CN", "HK", "TW"], "to": "https://example.com/china"},
                    {"country": ["IL"], "to": "https://example.com/israel"},
                ]})
            ),
        ]
    );
    let comments: Vec<&Vec<String>> = got.entries.iter().map(|(_, c)| c).collect();
    assert_eq!(
        comments[8],
        &[
            "from _redirects line 30",
            "line 30 forced (301!) in _redirects: the redirector always redirects",
            "line 30 matched only http:// requests in Netlify; the redirector matches http and https alike",
        ]
    );
    assert_eq!(comments[9], &["from _redirects lines 34, 35, 36, 37"]);
    assert_skips(
        &got.skipped,
        &[
            (9, "line 2 already answers every request"),
            (15, "custom not-found page"),
            (18, "rewrites"),
            (23, "the pattern on line 21 matches this path first"),
            (26, "query parameters (id=:id)"),
            (27, "query parameters (id=:id tag=:tag)"),
            (31, "line 30 already answers every request for this source (the redirector matches http:// and https:// alike)"),
            (38, "needs a default target"),
            (41, "rewrites"),
            (42, "rewrites"),
            (43, "rewrites"),
        ],
    );
    assert_eq!(got.skipped[4].source, "/store id=:id  /blog/:id  301");

    // Without --host, paths have no host: only the domain-level rule is translated.
    let bare = import_data(Format::Netlify, "_redirects", None);
    assert_eq!(views(&bare).iter().map(|v| v.0.as_str()).collect::<Vec<_>>(), ["rules:blog.yoursite.com"]);
    let needs_host = bare.skipped.iter().filter(|s| s.reason.contains("give --host HOST")).count();
    assert_eq!(needs_host, 15, "{:#?}", bare.skipped);
}

#[test]
fn vercel_json() {
    let got = import_data(Format::Vercel, "vercel.json", Some("example.com"));
    assert_eq!(
        views(&got),
        [
            link("example.com/me", json!({"to": "https://example.com/profile.html", "status": 308})),
            link("example.com/user", json!({"to": "https://example.com/api/user", "status": 307})),
            link("example.com/view-source", json!({"to": "https://github.com/vercel/vercel", "status": 308})),
            link("example.com/about", json!({"to": "https://example.com/", "status": 308})),
            rule("example.com", "/old-blog/:slug", json!({"to": "https://example.com/news/:slug", "status": 308})),
            link("example.com/view-source-301", json!({"to": "https://github.com/vercel/vercel", "status": 301})),
            link("example.com/", json!({"to": "https://example.com/lol/?path=foo", "status": 308})),
            rule("example.com", "/blog/*", json!({"to": "https://example.com/news/:splat", "status": 308})),
            rule("old.example.com", "/*", json!({"to": "https://new.example.com/:splat", "status": 308})),
        ]
    );
    assert_eq!(got.entries[0].1, ["from vercel.json line 4"]);
    assert_skips(
        &got.skipped,
        &[
            (10, "has header condition"),
            (26, "has query condition"),
            (33, "the pattern on line 32 matches this path first"),
            (34, "regular expression"),
            (36, "missing"),
        ],
    );

    let err = import(Format::Vercel, "vercel.json", "{\"redirects\": [", &opts(None)).unwrap_err();
    assert!(err.starts_with("not JSON"), "{err}");
}

#[test]
fn plain_csv() {
    let got = import_data(Format::Csv, "links.csv", Some("go.example.com"));
    assert_eq!(
        views(&got),
        [
            link("go.example.com/summer", json!({"to": "https://shop.example.com/sale?utm_source=link", "status": 301})),
            link("go.example.com/docs", json!({"to": "https://docs.example.com/", "status": 302})),
            link("go.example.com/help", json!({"to": "https://go.example.com/support", "status": 302})),
            link("go.example.com/abc", json!({"to": "https://shop.example.com/search?q=red,blue", "status": 302})),
        ]
    );
    assert_skips(&got.skipped, &[(6, "same source as line 2"), (7, "status \"3O1\" is not a number"), (8, "never closed")]);

    let bare = import_data(Format::Csv, "links.csv", None);
    assert_skips(&bare.skipped, &[(4, "--host"), (5, "--host"), (6, "same source as line 2"), (7, "--host"), (8, "never closed")]);
}

#[test]
fn imported_route_files_pass_check() {
    for (format, name, host) in [(Format::CloudflareBulk, "cloudflare.csv", None), (Format::Netlify, "_redirects", Some("example.com")), (Format::Vercel, "vercel.json", Some("example.com")), (Format::Csv, "links.csv", Some("go.example.com"))] {
        let text = write_file(&import_data(format, name, host).entries);
        let set = RouteSet { entries: parse_file("imported.toml", &text).unwrap() };
        let findings = check(&set, 0);
        assert!(findings.iter().all(|f| f.level != Level::Error), "{name}: {findings:#?}\n{text}");
    }
}

#[test]
fn round_trips() {
    assert_round_trip(Format::CloudflareBulk, "cloudflare.csv", None);
    assert_round_trip(Format::Netlify, "_redirects", Some("example.com"));
    assert_round_trip(Format::Vercel, "vercel.json", Some("example.com"));
    assert_round_trip(Format::Csv, "links.csv", Some("go.example.com"));
}

/// The routes each format could export, as the core reads them (defaults filled in).
fn effective(entries: impl IntoIterator<Item = Entry>) -> Vec<(String, String, LinkRecord)> {
    let mut v: Vec<(String, String, LinkRecord)> = entries
        .into_iter()
        .map(|e| {
            let (key, from, _) = view(&e);
            (key, from, link_from_value(Value::Object(e.record)).expect("valid record"))
        })
        .collect();
    v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    v
}

#[test]
fn export_reports_what_each_format_cannot_express() {
    let entries = parse_file("routes/unexpressible.toml", &data("unexpressible.toml")).unwrap();
    let line_of = |key: &str| entries.iter().find(|e| e.kv_key() == key).map(|e| e.origin.line).unwrap_or(0);
    let always = [
        (8, "a canary split"),
        (13, "strong (counted by the Durable Object), max_clicks"),
        (19, "a time window (starts/expires)"),
        (25, "when"),
        (30, "enabled = false (exporting it would turn it on), a fallback target"),
        (36, "a host fallback (fallback:go.example.com)"),
    ];
    let with = |extra: &[(usize, &'static str)]| {
        let mut v: Vec<(usize, &str)> = always.iter().copied().chain(extra.iter().copied()).collect();
        v.sort_by_key(|x| x.0);
        v
    };
    let cases = [
        (
            Format::CloudflareBulk,
            with(&[(40, "any-host routes"), (49, "status 303"), (54, "not placeholders")]),
            "go.example.com/plain,https://shop.example.com/,301,TRUE,FALSE,FALSE,FALSE\ngo.example.com/noquery,https://a.example.com/,302,FALSE,FALSE,FALSE,FALSE\n",
        ),
        (
            Format::Netlify,
            with(&[(44, "forward_query = false"), (49, "status 303")]),
            "https://go.example.com/plain  https://shop.example.com/  301!\n/help  https://help.example.com/  302!\nhttps://go.example.com/u/:id  https://a.example.com/users/:id  301!\n",
        ),
        (
            Format::Vercel,
            with(&[(44, "forward_query = false")]),
            r#"{
  "redirects": [
    {
      "source": "/plain",
      "destination": "https://shop.example.com/",
      "statusCode": 301,
      "has": [{ "type": "host", "value": "go.example.com" }]
    },
    {
      "source": "/see-other",
      "destination": "https://a.example.com/",
      "statusCode": 303,
      "has": [{ "type": "host", "value": "go.example.com" }]
    },
    {
      "source": "/help",
      "destination": "https://help.example.com/",
      "statusCode": 302
    },
    {
      "source": "/u/:id",
      "destination": "https://a.example.com/users/:id",
      "statusCode": 301,
      "has": [{ "type": "host", "value": "go.example.com" }]
    }
  ]
}
"#,
        ),
        (
            Format::Csv,
            with(&[(40, "any-host links"), (44, "forward_query = false"), (54, "no patterns")]),
            "source,target,status\nhttps://go.example.com/plain,https://shop.example.com/,301\nhttps://go.example.com/see-other,https://a.example.com/,303\n",
        ),
    ];
    assert_eq!(line_of("go.example.com/canary"), 8, "the fixture's lines, as the table above expects");
    for (format, skips, text) in cases {
        let out = export(format, &entries);
        assert_eq!(out.text, text, "{}", format.name());
        assert_skips(&out.skipped, &skips);
        assert!(out.skipped.iter().all(|s| s.source.starts_with("routes/unexpressible.toml: [[")), "{:#?}", out.skipped);

        // What was exported reads back as the same routes (any-host ones with --host '*').
        let back = import(format, "exported", &out.text, &opts(Some("*"))).unwrap();
        assert!(back.skipped.is_empty(), "{}: {:#?}", format.name(), back.skipped);
        let skipped_lines: Vec<usize> = out.skipped.iter().map(|s| s.line).collect();
        let exported = entries.iter().filter(|e| !skipped_lines.contains(&e.origin.line)).cloned();
        assert_eq!(effective(back.entries.into_iter().map(|(e, _)| e)), effective(exported), "{}", format.name());
    }
}

#[test]
fn any_input_is_read_without_panicking() {
    let odd = [
        "", "\u{feff}", "\n\n", ",", "\"", "a", "/", "/ /", "* *", "/a /b 3000000000000000000000", "/a /b 301!!", "/a /b 301 =",
        "/a /b 301 Country=", "/a /b 301 Language=,", "https:// /x", "http://[::1/ /x", "/:/ /x", "/a/*/* /x", "/é /ü", "x.com/a,,,,,,,,",
        "\"a\"b\",c", "{}", "[]", "[1, \"x\", null, {\"source\": 1}]", "{\"redirects\": [{\"source\": \"/:\", \"destination\": \"/\"}]}",
        "{\"redirects\": [{\"source\": \"/a\", \"destination\": \"/b\", \"has\": [{}]}]}", "\u{0}\u{7f}", "/a\t/b\t302",
    ];
    for text in odd {
        for format in Format::ALL {
            for host in [None, Some("x.com"), Some("*")] {
                if let Ok(got) = import(format, "odd", text, &opts(host)) {
                    for (e, _) in &got.entries {
                        assert!(link_from_value(Value::Object(e.record.clone())).is_ok(), "{text:?}: {e:?}");
                        if e.kind == Kind::Rule {
                            assert!(redirector_core::pattern::Pattern::parse(view(e).1.as_str()).is_ok());
                        }
                    }
                    let _ = export(format, &got.entries.into_iter().map(|(e, _)| e).collect::<Vec<_>>());
                }
            }
        }
    }
}

