//! The command line: parse arguments, run one command, print, and return the exit
//! code (0 success, 1 findings or a failed operation, 2 usage).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use url::Url;

use crate::admin::AdminClient;
use crate::formats::{self, Format, ImportOptions};
use crate::lint::{self, Level};
use crate::offline::{explain_json, Client, Offline};
use crate::plan::plan;
use crate::qr;
use crate::routes::{write_file, RouteSet};

pub const USAGE: &str = "\
redirector: routes as code for the edge redirector (README \"Routes as code\")

  redirector check [PATH...]                       lint route files (default: routes/)
  redirector import --from FORMAT FILE [--host H] [--out FILE.toml]
                                                    FORMAT: cloudflare, netlify, vercel, csv
  redirector export --to FORMAT [PATH...] [--out FILE]
  redirector plan    TARGET [PATH...]               what publish would change
  redirector publish TARGET [--delete] [PATH...]    apply it through the admin API
  redirector explain URL [--country C] [--language L] [--user-agent UA] [--cookie C]
                         [--routes PATH]...         the worker's answer, offline
  redirector qr URL --out FILE.svg|FILE.png [--scale N]

TARGET: --env dev|staging|prod (its first route's host, or REDIRECTOR_ADMIN_URL),
--local (scripts/dev at http://127.0.0.1:8787), or --url URL. The admin token is
REDIRECTOR_ADMIN_TOKEN (for --local, ADMIN_TOKEN in .dev.vars will do).";

/// A failure: the message and the exit code.
struct Fail(i32, String);

fn usage(msg: impl Into<String>) -> Fail {
    Fail(2, format!("{}\n\n{USAGE}", msg.into()))
}

/// Arguments: positionals, and `--flag value` / `--switch` options.
struct Args {
    positional: Vec<String>,
    options: BTreeMap<String, Vec<String>>,
}

const SWITCHES: [&str; 3] = ["--local", "--delete", "--help"];

fn parse(args: &[String]) -> Result<Args, Fail> {
    let mut out = Args { positional: Vec::new(), options: BTreeMap::new() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if SWITCHES.contains(&a.as_str()) {
            out.options.entry(a.clone()).or_default();
        } else if a.starts_with("--") {
            let v = it.next().ok_or_else(|| usage(format!("{a} needs a value")))?;
            out.options.entry(a.clone()).or_default().push(v.clone());
        } else {
            out.positional.push(a.clone());
        }
    }
    Ok(out)
}

impl Args {
    fn one(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.last()).map(String::as_str)
    }
    fn has(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }
    fn only(&self, allowed: &[&str]) -> Result<(), Fail> {
        match self.options.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(usage(format!("{k} is not an option of this command"))),
            None => Ok(()),
        }
    }
}

/// Run the command line; returns the exit code.
pub fn run(args: Vec<String>) -> i32 {
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return 2;
    };
    let result = parse(rest).and_then(|a| match command.as_str() {
        "check" => check(&a),
        "import" => import(&a),
        "export" => export(&a),
        "plan" => plan_cmd(&a, false),
        "publish" => plan_cmd(&a, true),
        "explain" => explain(&a),
        "qr" => qr_cmd(&a),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => Err(usage(format!("unknown command {other:?}"))),
    });
    match result {
        Ok(code) => code,
        Err(Fail(code, msg)) => {
            eprintln!("redirector {command}: {msg}");
            code
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Route files: each PATH a file, or a directory whose `*.toml` files are read in
/// name order; no PATH means `routes/`.
fn route_files(paths: &[String]) -> Result<Vec<(String, String)>, Fail> {
    let paths: Vec<PathBuf> = if paths.is_empty() { vec![PathBuf::from("routes")] } else { paths.iter().map(PathBuf::from).collect() };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = fs::read_dir(&p)
                .map_err(|e| Fail(1, format!("{}: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p);
        }
    }
    files
        .into_iter()
        .map(|f| fs::read_to_string(&f).map(|t| (f.display().to_string(), t)).map_err(|e| Fail(1, format!("{}: {e}", f.display()))))
        .collect()
}

/// Read and lint; the set, or the exit code after printing the findings.
fn checked(paths: &[String], quiet_ok: bool) -> Result<RouteSet, Fail> {
    let files = route_files(paths)?;
    let (set, findings) = match RouteSet::parse(&files) {
        Ok(set) => {
            let f = lint::check(&set, now_ms());
            (Some(set), f)
        }
        Err(errors) => (None, lint::unreadable(&errors)),
    };
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.len() - errors;
    for f in &findings {
        eprintln!("{f}");
    }
    let entries = set.as_ref().map_or(0, |s| s.entries.len());
    if errors > 0 || !quiet_ok {
        eprintln!("{errors} errors, {warnings} warnings in {entries} routes ({} files)", files.len());
    }
    match set {
        Some(set) if errors == 0 => Ok(set),
        _ => Err(Fail(1, format!("{errors} errors: nothing done"))),
    }
}

fn check(a: &Args) -> Result<i32, Fail> {
    a.only(&[])?;
    match checked(&a.positional, false) {
        // Freeing a million parsed routes one by one takes longer than the exit does.
        Ok(set) => {
            std::mem::forget(set);
            Ok(0)
        }
        Err(Fail(code, _)) => Ok(code),
    }
}

fn format_arg(a: &Args, flag: &str) -> Result<Format, Fail> {
    let name = a.one(flag).ok_or_else(|| usage(format!("{flag} FORMAT is required")))?;
    Format::parse(name).ok_or_else(|| usage(format!("{flag} {name}: one of cloudflare, netlify, vercel, csv")))
}

fn write_out(out: Option<&str>, text: &str) -> Result<(), Fail> {
    match out {
        Some(path) => fs::write(path, text).map_err(|e| Fail(1, format!("{path}: {e}"))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn import(a: &Args) -> Result<i32, Fail> {
    a.only(&["--from", "--host", "--out"])?;
    let format = format_arg(a, "--from")?;
    let [file] = a.positional.as_slice() else { return Err(usage("import takes one FILE")) };
    let text = fs::read_to_string(file).map_err(|e| Fail(1, format!("{file}: {e}")))?;
    let opts = ImportOptions { host: a.one("--host").map(str::to_string) };
    let imported = formats::import(format, file, &text, &opts).map_err(|e| Fail(1, format!("{file}: {e}")))?;
    for s in &imported.skipped {
        eprintln!("{file}:{}: not translated: {}: {}", s.line, s.reason, s.source.trim());
    }
    write_out(a.one("--out"), &write_file(&imported.entries))?;
    eprintln!("imported {} routes from {file} ({}), {} not translated", imported.entries.len(), format.name(), imported.skipped.len());
    Ok(0)
}

fn export(a: &Args) -> Result<i32, Fail> {
    a.only(&["--to", "--out"])?;
    let format = format_arg(a, "--to")?;
    let set = checked(&a.positional, true)?;
    let exported = formats::export(format, &set.entries);
    for s in &exported.skipped {
        eprintln!("line {}: not exported: {}: {}", s.line, s.reason, s.source.trim());
    }
    write_out(a.one("--out"), &exported.text)?;
    eprintln!("exported to {} ({} routes could not be expressed)", format.name(), exported.skipped.len());
    Ok(0)
}

/// The admin API address and token for `--env`, `--local` or `--url`.
fn target(a: &Args) -> Result<AdminClient, Fail> {
    let given = [a.has("--env"), a.has("--local"), a.has("--url")].iter().filter(|x| **x).count();
    if given != 1 {
        return Err(usage("give one of --env E, --local or --url URL"));
    }
    let base = if let Some(url) = a.one("--url") {
        url.to_string()
    } else if a.has("--local") {
        "http://127.0.0.1:8787".to_string()
    } else if let Ok(url) = std::env::var("REDIRECTOR_ADMIN_URL") {
        url
    } else {
        let env = a.one("--env").unwrap_or_default();
        env_base(env)?
    };
    let base = Url::parse(&base).map_err(|e| usage(format!("{base}: {e}")))?;
    let token = std::env::var("REDIRECTOR_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()).or_else(|| a.has("--local").then(dev_vars_token).flatten());
    let token = token.ok_or_else(|| Fail(2, "REDIRECTOR_ADMIN_TOKEN is not set (the env's ADMIN_TOKEN secret)".into()))?;
    Ok(AdminClient::new(base, token))
}

/// `https://<host>` of the env's first route in config/environments.json.
fn env_base(env: &str) -> Result<String, Fail> {
    let text = fs::read_to_string("config/environments.json").map_err(|e| Fail(1, format!("config/environments.json: {e} (run from the repository root, or set REDIRECTOR_ADMIN_URL)")))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| Fail(1, format!("config/environments.json: {e}")))?;
    let envs = &config["envs"];
    if envs.get(env).is_none() || env == "local" {
        return Err(usage(format!("--env {env}: one of dev, staging, prod")));
    }
    let pattern = envs[env]["routes"][0]["pattern"].as_str();
    let host = pattern.and_then(|p| p.split('/').next()).filter(|h| !h.contains('*'));
    host.map(|h| format!("https://{h}"))
        .ok_or_else(|| Fail(1, format!("{env} has no route with a plain host in config/environments.json: set REDIRECTOR_ADMIN_URL")))
}

fn dev_vars_token() -> Option<String> {
    let text = fs::read_to_string(Path::new(".dev.vars")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("ADMIN_TOKEN=")).map(|t| t.trim().trim_matches('"').to_string())
}

fn plan_cmd(a: &Args, publish: bool) -> Result<i32, Fail> {
    a.only(if publish { &["--env", "--local", "--url", "--delete"] } else { &["--env", "--local", "--url"] })?;
    let client = target(a)?;
    let set = checked(&a.positional, true)?;
    let current = client.list_all().map_err(|e| Fail(1, e))?;
    let p = plan(&set.kv(), &current);
    println!("{}", p.render());
    if !publish {
        return Ok(0);
    }
    let (adds, changes, deletes) = p.count();
    let writes: Vec<Value> = p
        .changes
        .iter()
        .filter(|c| a.has("--delete") || !matches!(c, crate::plan::Change::Delete { .. }))
        .map(crate::plan::Change::write)
        .collect();
    if deletes > 0 && !a.has("--delete") {
        println!("not deleting {deletes} routes: pass --delete to delete them");
    }
    if writes.is_empty() {
        println!("publish: nothing to do");
        return Ok(0);
    }
    let answers = client.apply(&writes).map_err(|e| Fail(1, format!("{e} (bulks before this one were applied)")))?;
    let pending: u64 = answers.iter().map(|a| a["kv_pending"].as_u64().unwrap_or(0)).sum();
    let deleted = if a.has("--delete") { deletes } else { 0 };
    println!("publish: {adds} added, {changes} changed, {deleted} deleted in {} bulk requests; {pending} KV writes pending", answers.len());
    for host in p.hosts() {
        match client.wait_caught_up(&host, Duration::from_secs(300)) {
            Ok(took) => println!("KV caught up for {host} after {:.1}s", took.as_secs_f64()),
            Err(e) => return Err(Fail(1, e)),
        }
    }
    Ok(0)
}

fn explain(a: &Args) -> Result<i32, Fail> {
    a.only(&["--country", "--language", "--user-agent", "--cookie", "--routes"])?;
    let [url] = a.positional.as_slice() else { return Err(usage("explain takes one URL")) };
    let routes = a.options.get("--routes").cloned().unwrap_or_default();
    let set = checked(&routes, true)?;
    let client = Client {
        country: a.one("--country").map(str::to_string),
        language: a.one("--language").map(str::to_string),
        user_agent: a.one("--user-agent").map(str::to_string),
        cookie: a.one("--cookie").map(str::to_string),
    };
    let answer = explain_json(&Offline::new(&set.kv()), url, &client, now_ms());
    println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
    Ok(0)
}

fn qr_cmd(a: &Args) -> Result<i32, Fail> {
    a.only(&["--out", "--scale"])?;
    let [url] = a.positional.as_slice() else { return Err(usage("qr takes one URL")) };
    let out = a.one("--out").ok_or_else(|| usage("--out FILE.svg or FILE.png is required"))?;
    let scale = a.one("--scale").map_or(Ok(8), str::parse::<usize>).ok().filter(|s| (1..=64).contains(s)).ok_or_else(|| usage("--scale: 1 to 64 pixels per module"))?;
    let parsed = Url::parse(url).map_err(|e| usage(format!("{url}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(usage(format!("{url}: a QR code for a link must be http(s)")));
    }
    let bytes = match Path::new(out).extension().and_then(|e| e.to_str()) {
        Some("svg") => qr::svg(parsed.as_str(), scale).map(String::into_bytes),
        Some("png") => qr::png(parsed.as_str(), scale),
        _ => return Err(usage("--out must end in .svg or .png")),
    }
    .map_err(|e| Fail(1, e))?;
    fs::write(out, bytes).map_err(|e| Fail(1, format!("{out}: {e}")))?;
    println!("wrote {out} for {parsed}");
    Ok(0)
}
