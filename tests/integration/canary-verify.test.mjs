// scripts/canary-verify against the built worker over HTTP: the local case file with
// the sample routes passes; a mismatch, a 5xx or a blown latency budget fails; a
// version id becomes the Cloudflare-Workers-Version-Overrides header.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { start } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
  for (const { key, value } of JSON.parse(readFileSync("scripts/sample/routes.json", "utf8"))) {
    await h.kv.put(key, value);
  }
});
after(() => h.close());

const verify = (...args) => spawnSync("scripts/canary-verify", args, { encoding: "utf8" });

function casesFile(cases, extra = {}) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "canary-")), "cases.json");
  writeFileSync(file, JSON.stringify({ budget_p95_ms: 2000, repeat: 2, cases, ...extra }));
  return file;
}

test("the local case file passes against the local worker with the sample routes", () => {
  const r = verify("--env", "local", "--base-url", h.url.toString());
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const summary = JSON.parse(r.stdout.split("\n")[0]);
  assert.equal(summary.failures.length, 0);
  assert.equal(summary.requests, summary.cases * 3);
  assert.ok(summary.p95_ms >= 0);
});

test("a Location mismatch fails", () => {
  const file = casesFile([{ name: "wrong", url: "http://localhost/moved", expect: { status: 301, location: "https://example.com/elsewhere" } }]);
  const r = verify("--cases", file, "--base-url", h.url.toString());
  assert.equal(r.status, 1);
  assert.match(r.stderr, /wrong: Location https:\/\/example\.com\/new-home, expected https:\/\/example\.com\/elsewhere/);
});

test("a 5xx fails even when it was expected", () => {
  const file = casesFile([{ name: "broken", url: "http://localhost/broken", expect: { status: 500 } }]);
  const r = verify("--cases", file, "--base-url", h.url.toString());
  assert.equal(r.status, 1);
  assert.match(r.stderr, /broken: server error 500/);
});

test("a p95 over the budget fails", () => {
  const file = casesFile([{ name: "ok", url: "http://localhost/moved", expect: { status: 301 } }]);
  const r = verify("--cases", file, "--base-url", h.url.toString(), "--budget-ms", "0");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /p95 latency .* over the 0 ms budget/);
});

test("--version-id pins the version with Cloudflare-Workers-Version-Overrides", async () => {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ host: req.headers.host, override: req.headers["cloudflare-workers-version-overrides"], url: req.url });
    res.writeHead(302, { location: "https://example.com/x" }).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const file = casesFile([{ name: "pinned", url: "https://go.example.com/x?y=1", expect: { status: 302, location: "https://example.com/x" } }]);
  // asynchronously: the endpoint runs in this process and must keep serving
  const args = ["--cases", file, "--base-url", `http://127.0.0.1:${server.address().port}`, "--version-id", "v-123", "--worker-name", "redirector-prod"];
  const code = await new Promise((resolve) => execFile("scripts/canary-verify", args, (err) => resolve(err ? err.code : 0)));
  server.close();
  assert.equal(code, 0);
  assert.deepEqual(seen[0], { host: "go.example.com", override: 'redirector-prod="v-123"', url: "/x?y=1" });
});
