// Methods, caching, health, reserved paths and failure answers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
  await h.seed({
    "go.example.com/t": "https://example.com/t",
    "go.example.com/p301": { to: "https://example.com/p", status: 301 },
    "go.example.com/p308": { to: "https://example.com/p", status: 308 },
    "go.example.com/t303": { to: "https://example.com/t", status: 303 },
    "go.example.com/t307": { to: "https://example.com/t", status: 307 },
    "go.example.com/__redirector/health": "https://evil.example.com/",
    "go.example.com/__redirector/other": "https://evil.example.com/",
  });
  await h.seed({ "x.aefail.test/t": "https://example.com/aefail" }, h.aefailKv);
});
after(() => h.close());

test("HEAD: same status and Location, no body", async () => {
  const get = await h.request("https://go.example.com/t");
  const head = await h.request("https://go.example.com/t", { method: "HEAD" });
  assert.equal(head.res.status, get.res.status);
  assert.equal(head.res.headers.get("location"), get.res.headers.get("location"));
  assert.equal(head.res.headers.get("cache-control"), get.res.headers.get("cache-control"));
  assert.equal(head.body, "");
  assert.equal(head.click.method, "HEAD");
  const miss = await h.request("https://go.example.com/none", { method: "HEAD" });
  assert.equal(miss.res.status, 404);
  assert.equal(miss.body, "");
});

test("OPTIONS: 204 with Allow", async () => {
  const { res, body, click } = await h.request("https://go.example.com/t", { method: "OPTIONS" });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
  assert.equal(res.headers.get("location"), null);
  assert.equal(body, "");
  assert.equal(click.outcome, "options");
});

for (const method of ["POST", "PUT", "DELETE", "PATCH", "PROPFIND"]) {
  test(`${method}: 405 with Allow, no redirect`, async () => {
    const init = { method, ...(["POST", "PUT", "PATCH"].includes(method) ? { body: "x" } : {}) };
    const { res, click } = await h.request("https://go.example.com/t", init);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
    assert.equal(res.headers.get("location"), null);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(click.outcome, "method_not_allowed");
    assert.equal(click.method, method);
  });
}

test("regression: unknown methods are not treated as GET (workers-rs maps them to GET)", async () => {
  const { res } = await h.request("https://go.example.com/t", { method: "PROPFIND" });
  assert.equal(res.status, 405);
});

const caching = [
  ["/p301", 301, "public, max-age=3600"],
  ["/p308", 308, "public, max-age=3600"],
  ["/t", 302, "private, no-store"],
  ["/t303", 303, "private, no-store"],
  ["/t307", 307, "private, no-store"],
  ["/missing", 404, "no-store"],
];
for (const [path, status, cache] of caching) {
  test(`Cache-Control for ${status}: ${cache}`, async () => {
    const { res } = await h.request(`https://go.example.com${path}`);
    assert.equal(res.status, status);
    assert.equal(res.headers.get("cache-control"), cache);
  });
}

test("health: env, release and each binding's presence", async () => {
  const { res, body, click } = await h.request("https://go.example.com/__redirector/health");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.match(res.headers.get("content-type"), /application\/json/);
  const health = JSON.parse(body);
  assert.equal(health.env, "local");
  assert.match(health.release, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
  assert.deepEqual(health.bindings, { ROUTES_KV_LOCAL: true, ROUTE_DO_LOCAL: true, CLICKS_LOCAL: true, CONTROL_LOCAL: true });
  assert.equal(health.ok, true);
  assert.equal(click.outcome, "health");
  assert.equal(click.release, health.release);
});

test("health reports missing bindings with 503", async () => {
  const { res, body } = await h.request("https://x.bare.test/__redirector/health");
  assert.equal(res.status, 503);
  const health = JSON.parse(body);
  assert.equal(health.env, "bare");
  assert.equal(health.ok, false);
  assert.deepEqual(health.bindings, { ROUTES_KV_BARE: false, ROUTE_DO_BARE: false, CLICKS_BARE: true, CONTROL_BARE: false });
});

test("reserved paths are never looked up in KV", async () => {
  const { res, click } = await h.request("https://go.example.com/__redirector/other");
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("location"), null);
  assert.equal(click.outcome, "miss");
  // the health route is served even though KV holds a record at that key
  const health = await h.request("https://go.example.com/__redirector/health");
  assert.equal(health.res.headers.get("location"), null);
});

test("KV failure: 503 with Retry-After and no-store, never 404", async () => {
  const { res, body, click } = await h.request("https://x.kvfail.test/anything");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("location"), null);
  assert.doesNotMatch(body, /injected/, "internals must not leak");
  assert.equal(click.outcome, "store_error");
  assert.equal(click.status, 503);
});

test("missing KV binding: 503, not 404", async () => {
  const { res, click } = await h.request("https://x.bare.test/anything");
  assert.equal(res.status, 503);
  assert.equal(click.outcome, "store_error");
});

test("a failing Analytics Engine never fails the redirect", async () => {
  const res = await h.fetch("https://x.aefail.test/t");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "https://example.com/aefail");
});

test("oversized path: 414, no lookup", async () => {
  const { res, click } = await h.request(`https://go.example.com/${"a".repeat(3000)}`);
  assert.equal(res.status, 414);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(click.outcome, "uri_too_long");
  assert.ok(click.path.length <= 1024, "click path is truncated");
});

test("path longer than a KV key can be: 404, not a KV error", async () => {
  const { res } = await h.request(`https://go.example.com/${"b".repeat(700)}`);
  assert.equal(res.status, 404);
});

test("hostile URLs never produce a foreign Location", async () => {
  const hostile = [
    "https://go.example.com/t?next=https://evil.example.com",
    "https://go.example.com/t?%0d%0aLocation:%20https://evil.example.com",
    "https://go.example.com/t?@evil.example.com",
    "https://go.example.com//evil.example.com",
    "https://go.example.com/%2F%2Fevil.example.com",
    "https://go.example.com/..%2F..%2Fevil",
    "https://go.example.com/\\evil.example.com",
  ];
  for (const url of hostile) {
    const { res } = await h.request(url);
    const loc = res.headers.get("location");
    assert.ok(res.status < 500, `${url}: ${res.status}`);
    if (loc) assert.equal(new URL(loc).host, "example.com", `${url} -> ${loc}`);
  }
});
