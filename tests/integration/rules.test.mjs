// Pattern rules (rules:<host>, rules:*) and the full lookup order, in workerd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
const HOUR = 3600_000;

before(async () => {
  h = await start();
  await h.seed({
    // step 1 and 2 exact links for precedence checks
    "old.example.com/blog/pinned": "https://exact-host.example.com/pinned",
    "*/blog/any-exact": "https://exact-any.example.com/",
    "rules:old.example.com": [
      { from: "/blog/:year/:slug", to: "https://new.example.com/posts/:year/:slug", status: 301 },
      { from: "/docs/*", to: "https://docs.example.com/v2/:splat" },
      { from: "/u/:user/files/*", to: "https://files.example.com/:user?path=:splat", forward_query: false },
      { from: "/off/*", to: "https://n.example.com/off", enabled: false },
      { from: "/off/*", to: "https://n.example.com/off-next" },
      { from: "/later/*", to: "https://n.example.com/later", starts: new Date(Date.now() + HOUR).toISOString() },
      { from: "/s/:code", to: "https://n.example.com/s/:code", id: "short-links" },
      { from: "/bad/:x", to: "javascript:alert(1)" },
      { from: "/bad/:x/*", to: "https://n.example.com/after-bad" },
      { from: "/search/:q", to: "https://n.example.com/search?q=:q" },
    ],
    "rules:*": [
      { from: "/blog/*", to: "https://any-rules.example.com/blog/:splat", status: 308 },
      { from: "/later/*", to: "https://any-rules.example.com/later" },
    ],
    "rules:broken.example.com": { raw: "{not json" },
    "rules:nofrom.example.com": [{ to: "https://n.example.com/" }],
  });
});
after(() => h.close());

const cases = [
  // [name, url, status, location]
  ["step 1 exact host beats every rule", "https://old.example.com/blog/pinned", 302, "https://exact-host.example.com/pinned"],
  ["step 2 exact * beats rules", "https://old.example.com/blog/any-exact", 302, "https://exact-any.example.com/"],
  ["step 3 host rule with :name placeholders", "https://old.example.com/blog/2024/hello", 301, "https://new.example.com/posts/2024/hello"],
  ["step 4 rules:* when no host rule matches", "https://old.example.com/blog/2024", 308, "https://any-rules.example.com/blog/2024"],
  ["step 4 rules:* on another host", "https://else.example.com/blog/a/b", 308, "https://any-rules.example.com/blog/a/b"],
  ["step 5 no route", "https://old.example.com/nowhere/at/all", 404, null],
  ["trailing * with :splat", "https://old.example.com/docs/guide/intro", 302, "https://docs.example.com/v2/guide/intro"],
  ["trailing * matches zero segments", "https://old.example.com/docs", 302, "https://docs.example.com/v2/"],
  ["forward_query default on rules", "https://old.example.com/docs/a?x=1", 302, "https://docs.example.com/v2/a?x=1"],
  ["forward_query false on rules", "https://old.example.com/u/ann/files/a/b?x=1", 302, "https://files.example.com/ann?path=a/b"],
  ["disabled rule falls through to the next rule", "https://old.example.com/off/x", 302, "https://n.example.com/off-next"],
  ["rule not started falls through to rules:*", "https://old.example.com/later/x", 302, "https://any-rules.example.com/later"],
  ["placeholder values are percent-encoded", "https://old.example.com/search/a&b=c", 302, "https://n.example.com/search?q=a%26b%3Dc"],
  ["%2F in a value stays encoded", "https://old.example.com/s/a%2Fb", 302, "https://n.example.com/s/a%2Fb"],
  ["@ in a value cannot become user-info", "https://old.example.com/s/@evil.example.com", 302, "https://n.example.com/s/%40evil.example.com"],
  ["non-ASCII value", "https://old.example.com/s/caf%C3%A9", 302, "https://n.example.com/s/caf%C3%A9"],
  ["rule paths are canonical too", "https://OLD.example.com//docs/./a/", 302, "https://docs.example.com/v2/a"],
];

for (const [name, url, status, location] of cases) {
  test(`rules: ${name}`, async () => {
    const { res, click } = await h.request(url);
    assert.equal(res.status, status, url);
    assert.equal(res.headers.get("location"), location, url);
    if (location) assert.equal(new URL(location).host, new URL(location).host.toLowerCase());
    assert.equal(click.target, location ?? "");
  });
}

test("rules: route id is the record id, else rules:<host>[index]", async () => {
  assert.equal((await h.request("https://old.example.com/s/abc")).click.route_id, "short-links");
  assert.equal((await h.request("https://old.example.com/docs/a")).click.route_id, "rules:old.example.com[1]");
  assert.equal((await h.request("https://x.example.com/blog/a")).click.route_id, "rules:*[0]");
});

test("rules: a matching invalid rule is never redirected to, and stops the lookup", async () => {
  const { res, click } = await h.request("https://old.example.com/bad/1");
  assert.equal(res.status, 500);
  assert.equal(res.headers.get("location"), null);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(click.outcome, "invalid_record");
  // a path the invalid rule does not match still reaches later rules
  assert.equal((await h.request("https://old.example.com/bad/1/2")).res.headers.get("location"), "https://n.example.com/after-bad");
});

test("rules: an invalid array answers 500 for every request that reaches it", async () => {
  for (const url of ["https://broken.example.com/a", "https://nofrom.example.com/b/c"]) {
    const { res, click } = await h.request(url);
    assert.equal(res.status, 500, url);
    assert.equal(res.headers.get("location"), null);
    assert.equal(click.outcome, "invalid_record");
  }
});

test("rules: hostile paths never change the target host", async () => {
  const hostile = ["/s/%2F%2Fevil.com", "/docs/..%2F..%2Fevil.com", "/s/evil.com%3A443", "/search/%23frag", "/docs/%5C%5Cevil.com", "/s/%0D%0A"];
  for (const path of hostile) {
    const { res } = await h.request(`https://old.example.com${path}`);
    const loc = res.headers.get("location");
    assert.ok(loc, path);
    assert.ok(["n.example.com", "docs.example.com"].includes(new URL(loc).host), `${path} -> ${loc}`);
  }
});

test("rules cache: a change reaches an isolate within the stated lifetime (1 s here)", async () => {
  await h.seed({ "rules:cached.edge.test": [{ from: "/*", to: "https://v1.example.com/:splat" }] }, h.edgeKv);
  const first = await h.fetch("https://cached.edge.test/a");
  assert.equal(first.headers.get("location"), "https://v1.example.com/a");
  await h.seed({ "rules:cached.edge.test": [{ from: "/*", to: "https://v2.example.com/:splat" }] }, h.edgeKv);
  const cached = await h.fetch("https://cached.edge.test/a");
  assert.equal(cached.headers.get("location"), "https://v1.example.com/a", "served from the isolate cache");
  await new Promise((r) => setTimeout(r, 1100));
  const fresh = await h.fetch("https://cached.edge.test/a");
  assert.equal(fresh.headers.get("location"), "https://v2.example.com/a", "re-read after the lifetime");
});
