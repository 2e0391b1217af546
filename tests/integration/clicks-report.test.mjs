// scripts/clicks against a local stand-in of the Analytics Engine SQL API that answers
// in the documented format (FORMAT JSON: { meta, data, rows }) and records what it
// was asked: the SQL must count people only, sampling-correct.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const asked = [];
let server, base;
let answer = (sql) => ({ status: 200, body: rowsFor(sql) });

/** Canned rows per split, as the API returns them (sums of 64-bit ints as strings). */
function rowsFor(sql) {
  const column = /SELECT blob1 AS route, (blob\d+) AS value/.exec(sql)?.[1];
  const data = {
    blob6: [{ route: "summer", value: "DE", clicks: "800" }, { route: "summer", value: "FR", clicks: "434" }, { route: "checkout", value: "US", clicks: "1000" }],
    blob9: [{ route: "summer", value: "mobile", clicks: "900" }, { route: "summer", value: "desktop", clicks: "334" }, { route: "checkout", value: "desktop", clicks: "1000" }],
    blob13: [{ route: "summer", value: "", clicks: "1234" }, { route: "checkout", value: "canary", clicks: "300" }, { route: "checkout", value: "control", clicks: "700" }],
    blob5: [{ route: "summer", value: "redirect", clicks: "1200" }, { route: "summer", value: "fallback", clicks: "34" }, { route: "checkout", value: "redirect", clicks: "1000" }],
  }[column] ?? [];
  return JSON.stringify({ meta: [{ name: "route", type: "String" }, { name: "value", type: "String" }, { name: "clicks", type: "UInt64" }], data, rows: data.length, rows_before_limit_at_least: data.length });
}

before(async () => {
  server = http.createServer((req, res) => {
    let sql = "";
    req.on("data", (c) => (sql += c));
    req.on("end", () => {
      asked.push({ method: req.method, url: req.url, authorization: req.headers.authorization, sql });
      const { status, body } = answer(sql);
      res.writeHead(status, { "content-type": status === 200 ? "application/json" : "text/plain" });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}/client/v4`;
});
after(() => server.close());

function clicks(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn("scripts/clicks", args, {
      env: { ...process.env, CLOUDFLARE_ACCOUNT_ID: "acc123", CLOUDFLARE_API_TOKEN: "test-read-token", CLOUDFLARE_API_BASE: base, ...env },
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("clicks: people only, sampling-correct, one query per split, table and canary split", async () => {
  asked.length = 0;
  const dir = mkdtempSync(path.join(tmpdir(), "clicks-"));
  const chart = path.join(dir, "clicks.svg");
  const r = await clicks(["--env", "prod", "--since", "2026-11-29T00:00:00Z", "--until", "2026-11-30T00:00:00Z", "--svg", chart]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(asked.length, 4, "country, device, variant, outcome");
  for (const q of asked) {
    assert.equal(q.method, "POST");
    assert.equal(q.url, "/client/v4/accounts/acc123/analytics_engine/sql");
    assert.equal(q.authorization, "Bearer test-read-token");
    assert.match(q.sql, /SUM\(_sample_interval\) AS clicks/);
    assert.doesNotMatch(q.sql, /count\(/i, "never count(): rows are samples");
    assert.match(q.sql, /FROM clicks_prod\n/);
    assert.match(q.sql, /blob14 = 'person'/, "previews, bots and HEAD left out");
    assert.match(q.sql, /timestamp >= toDateTime\('2026-11-29 00:00:00'\) AND timestamp < toDateTime\('2026-11-30 00:00:00'\)/);
    assert.match(q.sql, /GROUP BY route, value/);
  }
  assert.deepEqual(asked.map((q) => /AS route, (blob\d+)/.exec(q.sql)[1]).sort(), ["blob13", "blob5", "blob6", "blob9"]);
  assert.match(r.stdout, /summer\s+1,234\s+country\s+DE 800 · FR 434/);
  assert.match(r.stdout, /outcome\s+redirect 1,200 · fallback 34/);
  assert.match(r.stdout, /checkout\s+1,000\s+country\s+US 1,000/);
  assert.match(r.stdout, /canary split[\s\S]*checkout\s+300\s+700\s+30\.0 %/);
  assert.doesNotMatch(r.stdout.split("canary split")[1], /summer/, "a route without a canary has no split");
  const svg = readFileSync(chart, "utf8");
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, />summer</);
  assert.match(svg, /canary 300 \(30.0 %\)/);
});

test("clicks --route escapes the id into the SQL; --json gives the figures", async () => {
  asked.length = 0;
  const r = await clicks(["--env", "staging", "--since", "7d", "--route", "it's\\x", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  for (const q of asked) assert.match(q.sql, /AND blob1 = 'it\\'s\\\\x'/);
  const out = JSON.parse(r.stdout);
  assert.equal(out.env, "staging");
  assert.equal(out.routes.find((x) => x.route === "checkout").canary.canary_percent, 30);
});

test("clicks without credentials says which are missing and asks nothing", async () => {
  asked.length = 0;
  const r = await clicks(["--env", "prod"], { CLOUDFLARE_API_TOKEN: "" });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs CLOUDFLARE_API_TOKEN/);
  assert.equal(asked.length, 0);
});

test("clicks reports the API's refusal and bad arguments clearly", async () => {
  answer = () => ({ status: 401, body: "Authentication error" });
  try {
    const r = await clicks(["--env", "prod"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /answered 401: Authentication error/);
  } finally {
    answer = (sql) => ({ status: 200, body: rowsFor(sql) });
  }
  for (const args of [["--env", "qa"], ["--env", "prod", "--since", "yesterday"], ["--env", "prod", "--since", "1h", "--until", "2020-01-01T00:00:00Z"]]) {
    const r = await clicks(args);
    assert.equal(r.code, 2, args.join(" "));
  }
});
