// Fails when a file holds something that looks like a secret (docs: SECURITY in the
// README's secrets table). Usage: scripts/secret-scan [dir]  (default: this repository)
//
// * Token shapes, anywhere: Stripe keys and webhook secrets, Sentry DSNs with a key,
//   AWS access keys, GitHub tokens (classic ghp_/gho_/ghu_/ghs_/ghr_ and fine-grained
//   github_pat_), Slack tokens, private keys, Cloudflare API tokens (40 characters)
//   and global API keys (37 hex) where a Cloudflare name, `X-Auth-Key` or `Bearer`
//   introduces them.
// * Our own secrets (ADMIN_TOKEN, EXPLAIN_TOKEN, SENTRY_DSN, CLOUDFLARE_API_TOKEN,
//   CLOUDFLARE_API_KEY) assigned a literal: quoted anywhere, and unquoted
//   (`NAME=value`, `NAME: value`) in .env, .dev.vars, YAML, TOML and INI files.
//
// Only the matched value itself can be a fixture: one starting with `test-`, `dev-`
// or `example-` passes. Nothing else on the line exempts it. Inside a git work tree
// the tracked files are scanned; outside one, every file under the directory
// (but .git, node_modules, target).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const OWN = "(?:ADMIN_TOKEN|EXPLAIN_TOKEN|SENTRY_DSN|CLOUDFLARE_API_TOKEN|CLOUDFLARE_API_KEY)";
const FIXTURE = /^(?:test|dev|example)-/;
/** [name, regex, index of the value group (checked against FIXTURE) or 0, file filter] */
export const PATTERNS = [
  ["stripe key", /\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}/],
  ["stripe webhook secret", /\bwhsec_[0-9A-Za-z]{16,}/],
  ["sentry dsn with a key", /https?:\/\/[0-9a-f]{32}(?::[0-9a-f]{32})?@[A-Za-z0-9.-]+(?::\d+)?\/\d+/],
  ["aws access key", /\bAKIA[0-9A-Z]{16}\b/],
  ["github token", /\bgh[pousr]_[A-Za-z0-9]{36,}/],
  ["github fine-grained token", /\bgithub_pat_[A-Za-z0-9_]{60,}/],
  ["slack token", /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ["private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ["cloudflare api token", /\b(?:CLOUDFLARE|CF)_[A-Z_]*(?:TOKEN|KEY)["']?\s*[:=]\s*["']?([A-Za-z0-9_-]{37,40})(?![A-Za-z0-9_-])/, 1],
  ["cloudflare global api key", /X-Auth-Key["']?\s*[:=]\s*["']?([0-9a-f]{37})\b/i, 1],
  ["bearer token", /\bBearer\s+([A-Za-z0-9_-]{40})(?![A-Za-z0-9_-])/, 1],
  ["own secret, quoted", new RegExp(`${OWN}["']?\\s*[:=]\\s*["']([^"'$\\s{]{8,})["']`), 1],
  ["own secret, unquoted", new RegExp(`^\\s*(?:export\\s+)?${OWN}\\s*[:=]\\s*([^"'$\\s{#][^\\s#]{7,})`), 1, (f) => /(^|\/)(\.env[^/]*|[^/]*\.env|\.dev\.vars)$|\.(ya?ml|toml|ini|cfg|conf)$/.test(f)],
];

function files(dir) {
  try {
    execFileSync("git", ["-C", dir, "rev-parse", "--is-inside-work-tree"], { stdio: "ignore" });
    return execFileSync("git", ["-C", dir, "ls-files", "-z"], { encoding: "utf8" }).split("\0").filter(Boolean);
  } catch {
    const out = [];
    const walk = (rel) => {
      for (const name of readdirSync(path.join(dir, rel))) {
        if ([".git", "node_modules", "target"].includes(name)) continue;
        const f = path.join(rel, name);
        const st = statSync(path.join(dir, f));
        if (st.isDirectory()) walk(f);
        else if (st.isFile()) out.push(f);
      }
    };
    walk("");
    return out;
  }
}

/** Findings: [{ file, line, kind, text }]. */
export function scan(dir) {
  const found = [];
  for (const file of files(dir)) {
    if (file === "scripts/secret-scan.mjs") continue; // the patterns themselves
    let text;
    try {
      text = readFileSync(path.join(dir, file));
    } catch {
      continue;
    }
    if (text.includes(0)) continue; // binary
    const lines = text.toString("utf8").split("\n");
    lines.forEach((line, i) => {
      for (const [kind, re, group = 0, only] of PATTERNS) {
        if (only && !only(file)) continue;
        const m = re.exec(line);
        if (!m) continue;
        if (group && FIXTURE.test(m[group])) continue;
        found.push({ file, line: i + 1, kind, text: line.trim().slice(0, 160) });
      }
    });
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), ".."));
  const found = scan(dir);
  for (const f of found) console.log(`secret-scan: possible secret (${f.kind}): ${f.file}:${f.line}: ${f.text}`);
  if (found.length) {
    console.log("secret-scan: FAILED. Remove the secret, rotate it, and set it with 'wrangler secret put' instead.");
    process.exit(1);
  }
  console.log(`secret-scan: no secrets in ${files(dir).length} files`);
}
