// Abuse limits (src/limits.rs): a client probing missing paths is rate limited with
// the Workers rate-limiting binding (Miniflare's), per client and per env; a valid
// redirect is never blocked; a failing limiter fails open.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
  await h.seed({ "x.abuse.test/real": "https://example.com/real" }, h.abuseKv);
  await h.seed({ "x.abusefail.test/real": "https://example.com/real" }, h.abusefailKv);
});
after(() => h.close());

const from = (ip) => ({ headers: { "cf-connecting-ip": ip } });

test("a client probing missing paths gets 429 after the limit; its valid redirects never do", async () => {
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await h.fetch(`https://x.abuse.test/probe-${i}`, from("198.51.100.1"))).status);
  assert.deepEqual(statuses, [404, 404, 404, 404, 404, 429, 429, 429], "limit 5 misses a minute in this env");
  const limited = await h.request("https://x.abuse.test/probe-x", from("198.51.100.1"));
  assert.equal(limited.res.status, 429);
  assert.equal(limited.res.headers.get("retry-after"), "60");
  assert.equal(limited.res.headers.get("cache-control"), "no-store");
  assert.equal(limited.click.outcome, "rate_limited");
  for (let i = 0; i < 10; i++) {
    const ok = await h.fetch("https://x.abuse.test/real", from("198.51.100.1"));
    assert.equal(ok.status, 302, "a valid redirect is never limited, even for a limited client");
  }
});

test("per client and per env: another client, and another env, are not limited", async () => {
  assert.equal((await h.fetch("https://x.abuse.test/probe-0", from("198.51.100.2"))).status, 404);
  for (let i = 0; i < 10; i++) assert.equal((await h.fetch(`https://go.example.com/probe-${i}`, from("198.51.100.1"))).status, 404, "the local env has its own (no) limiter");
});

test("a failing limiter fails open: misses are plain 404s", async () => {
  for (let i = 0; i < 10; i++) assert.equal((await h.fetch(`https://x.abusefail.test/probe-${i}`, from("198.51.100.3"))).status, 404);
  assert.equal((await h.fetch("https://x.abusefail.test/real", from("198.51.100.3"))).status, 302);
});
