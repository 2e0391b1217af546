// The `redirector` CLI (cli/) against the local worker: check, plan and publish
// through the admin API (local KV and Durable Objects), requests that prove the
// published routes serve, a second publish that is a no-op, deletes only with
// --delete, and `explain` agreeing with the worker's explain endpoint on a table of
// requests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { start, ADMIN_TOKEN } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.REDIRECTOR_BIN ?? path.join(ROOT, "target/debug/redirector");
let h, dir;

const ROUTES = `# The routes of cli.example.com, as an operator keeps them in git.
[[link]]
key = "cli.example.com/summer"
to = "https://shop.example.com/sale?src=cli"
id = "summer"

[[link]]
key = "cli.example.com/perm"
to = "https://shop.example.com/p"
status = 301

[[link]]
key = "cli.example.com/geo"
to = "https://shop.example.com/"
when = [
  { country = ["DE", "AT"], to = "https://shop.example.de/" },
  { language = ["fr"], to = "https://shop.example.fr/" },
]

[[link]]
key = "cli.example.com/split"
to = "https://shop.example.com/a"
canary = { to = "https://shop.example.com/b", percent = 50 }

[[link]]
key = "cli.example.com/ended"
to = "https://shop.example.com/gone"
expires = 2020-01-01T00:00:00Z
fallback = "https://shop.example.com/ended"

[[rule]]
host = "cli.example.com"
from = "/p/:id/*"
to = "https://shop.example.com/product/:id?rest=:splat"

[[fallback]]
host = "cli.example.com"
to = "https://shop.example.com/"
`;

function cli(args, env = {}) {
  const r = spawnSync(BIN, args, { encoding: "utf8", cwd: ROOT, env: { ...process.env, REDIRECTOR_ADMIN_TOKEN: ADMIN_TOKEN, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(async () => {
  h = await start();
  dir = mkdtempSync(path.join(tmpdir(), "routes-"));
  writeFileSync(path.join(dir, "cli.toml"), ROUTES);
  // A route another writer keeps on another host: never planned for deletion.
  await h.seed({ "other.example.com/keep": "https://example.com/keep" });
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test("check passes the route files", () => {
  const r = cli(["check", dir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /0 errors, 0 warnings in 7 routes \(1 files\)/);
});

test("plan, publish, serve; a second publish is a no-op", async () => {
  const url = h.url.toString();
  const plan = cli(["plan", "--url", url, dir]);
  assert.equal(plan.code, 0, plan.err);
  assert.match(plan.out, /\+ cli\.example\.com\/summer /);
  assert.match(plan.out, /\+ rules:cli\.example\.com /);
  assert.match(plan.out, /\+ fallback:cli\.example\.com /);
  assert.match(plan.out, /plan: 7 to add, 0 to change, 0 to delete \(1 routes on hosts these files do not name are left alone\)/);
  const pub = cli(["publish", "--url", url, dir]);
  assert.equal(pub.code, 0, pub.err);
  assert.match(pub.out, /publish: 7 added, 0 changed, 0 deleted in 1 bulk requests/);
  assert.match(pub.out, /KV caught up for cli\.example\.com after/);
  const summer = await h.fetch("https://cli.example.com/summer?utm=1");
  assert.equal(summer.status, 302);
  assert.equal(summer.headers.get("location"), "https://shop.example.com/sale?src=cli&utm=1");
  assert.equal((await h.fetch("https://cli.example.com/perm")).status, 301);
  assert.equal((await h.fetch("https://cli.example.com/p/7/a/b")).headers.get("location"), "https://shop.example.com/product/7?rest=a/b");
  assert.equal((await h.fetch("https://cli.example.com/ended")).headers.get("location"), "https://shop.example.com/ended");
  assert.equal((await h.fetch("https://cli.example.com/nothing")).headers.get("location"), "https://shop.example.com/");
  const again = cli(["publish", "--url", url, dir]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /plan: 0 to add, 0 to change, 0 to delete/);
  assert.match(again.out, /publish: nothing to do/);
});

test("a removed route is deleted only with --delete; other hosts are never touched", async () => {
  const url = h.url.toString();
  const fewer = path.join(dir, "fewer");
  rmSync(fewer, { recursive: true, force: true });
  spawnSync("mkdir", ["-p", fewer]);
  writeFileSync(path.join(fewer, "cli.toml"), ROUTES.replace(/\[\[link\]\]\nkey = "cli.example.com\/perm"[^[]*/, ""));
  const pub = cli(["publish", "--url", url, fewer]);
  assert.equal(pub.code, 0, pub.err);
  assert.match(pub.out, /- cli\.example\.com\/perm /);
  assert.match(pub.out, /not deleting 1 routes: pass --delete/);
  assert.equal((await h.fetch("https://cli.example.com/perm")).status, 301, "still served");
  const del = cli(["publish", "--url", url, "--delete", fewer]);
  assert.equal(del.code, 0, del.err);
  assert.match(del.out, /publish: 0 added, 0 changed, 1 deleted/);
  assert.equal((await h.fetch("https://cli.example.com/perm")).headers.get("location"), "https://shop.example.com/", "now the host's fallback");
  assert.equal((await h.fetch("https://other.example.com/keep")).status, 302, "another host's route is left alone");
});

test("publish refuses files with errors and writes nothing", async () => {
  const bad = path.join(mkdtempSync(path.join(tmpdir(), "bad-routes-")), "bad.toml");
  writeFileSync(bad, '[[link]]\nkey = "cli.example.com/evil"\nto = "javascript:alert(1)"\n');
  const r = cli(["publish", "--url", h.url.toString(), bad]);
  assert.equal(r.code, 1);
  assert.match(r.err, /bad\.toml:1: error\[invalid-target\] cli\.example\.com\/evil/);
  assert.equal((await h.fetch("https://cli.example.com/evil")).headers.get("location"), "https://shop.example.com/", "not published: the fallback answers");
  const noToken = cli(["plan", "--url", h.url.toString(), dir], { REDIRECTOR_ADMIN_TOKEN: "" });
  assert.equal(noToken.code, 2);
  const wrongToken = cli(["plan", "--url", h.url.toString(), dir], { REDIRECTOR_ADMIN_TOKEN: "test-wrong" });
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.err, /401/);
});

// The same requests to the worker's explain endpoint and to `redirector explain`.
const CASES = [
  ["https://cli.example.com/summer?x=1", {}],
  ["https://CLI.example.com/summer/", {}],
  ["https://cli.example.com/geo", { country: "AT" }],
  ["https://cli.example.com/geo", { language: "fr-CH, en;q=0.5" }],
  ["https://cli.example.com/geo", { country: "US", userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148" }],
  ["https://cli.example.com/split", { cookie: "rdr_cid=abc123" }],
  ["https://cli.example.com/split", { cookie: "rdr_cid=zzz999" }],
  ["https://cli.example.com/p/42/red/xl?size=m", {}],
  ["https://cli.example.com/ended?ref=mail", {}],
  ["https://cli.example.com/nowhere", {}],
  ["https://unknown.example.com/x", {}],
  ["https://cli.example.com/a/../summer", {}],
];

test("explain agrees with the worker's explain endpoint on a table of requests", async () => {
  for (const [url, given] of CASES) {
    const c = { country: "US", ...given }; // both sides see the same client
    const headers = {};
    const args = ["explain", url, "--routes", path.join(dir, "cli.toml")];
    if (c.country) (headers["x-redirector-country"] = c.country), args.push("--country", c.country);
    if (c.language) (headers["accept-language"] = c.language), args.push("--language", c.language);
    if (c.userAgent) (headers["user-agent"] = c.userAgent), args.push("--user-agent", c.userAgent);
    if (c.cookie) (headers.cookie = c.cookie), args.push("--cookie", c.cookie);
    headers["user-agent"] ??= "redirector-test";
    if (!c.userAgent) args.push("--user-agent", "redirector-test");
    const worker = await (await h.fetch(`https://cli.example.com/__redirector/explain?url=${encodeURIComponent(url)}`, { headers })).json();
    const r = cli(args);
    assert.equal(r.code, 0, r.err);
    const offline = JSON.parse(r.out);
    // Reading the files by the same code the worker runs: the whole answer agrees.
    assert.deepEqual(offline, worker, `${url} ${JSON.stringify(c)}`);
  }
});

test("qr writes an SVG and a PNG for a link", () => {
  for (const ext of ["svg", "png"]) {
    const out = path.join(dir, `summer.${ext}`);
    const r = cli(["qr", "https://cli.example.com/summer", "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote .*summer\.(svg|png)/);
  }
  assert.equal(cli(["qr", "javascript:alert(1)", "--out", path.join(dir, "x.svg")]).code, 2);
});
