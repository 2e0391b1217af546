// GET /__redirector/explain?url=...: the lookup steps, match, variant and Location.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, EDGE_EXPLAIN_TOKEN } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
  await h.seed({
    "go.example.com/off": { to: "https://example.com/off", enabled: false },
    "rules:go.example.com": [
      { from: "/blog/:slug", to: "https://blog.example.com/:slug", when: [{ language: ["de"], to: "https://blog.example.de/:slug" }] },
    ],
    "go.example.com/split": { to: "https://a.example.com/", canary: { to: "https://b.example.com/", percent: 100 } },
    "go.example.com/bad": { raw: '"javascript:alert(1)"' },
  });
  await h.seed({ "edge.test/x": "https://example.com/x" }, h.edgeKv);
});
after(() => h.close());

const explain = async (target, init = {}, base = "https://go.example.com") => {
  const res = await h.fetch(`${base}/__redirector/explain?url=${encodeURIComponent(target)}`, init);
  return { res, body: res.status === 200 ? await res.json() : await res.text() };
};

test("explain: steps, rule and condition chosen, final Location", async () => {
  const { res, body } = await explain("https://go.example.com/blog/hello?x=1", { headers: { "accept-language": "de-DE" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("location"), null, "explain never redirects");
  assert.equal(body.host, "go.example.com");
  assert.equal(body.path, "/blog/hello");
  assert.deepEqual(body.steps.map((s) => [s.step, s.key]), [
    ["exact host", "go.example.com/blog/hello"],
    ["exact any host", "*/blog/hello"],
    ["rules host", "rules:go.example.com"],
  ]);
  assert.equal(body.steps[0].result, "absent");
  assert.match(body.steps[2].result, /^matched rule \[0\] \/blog\/:slug$/);
  assert.deepEqual(body.match, { key: "rules:go.example.com", rule: 0, from: "/blog/:slug", route_id: "rules:go.example.com[0]" });
  assert.equal(body.record.to, "https://blog.example.com/:slug");
  assert.equal(body.variant, "when:0");
  assert.equal(body.condition, 0);
  assert.equal(body.status, 302);
  assert.equal(body.location, "https://blog.example.de/hello?x=1");
  assert.equal(body.cache_control, "private, no-store");
  assert.deepEqual(body.client.languages, ["de"]);
  assert.equal(body.outcome, "redirect");
});

test("explain: fall-through reasons and a miss", async () => {
  const { body } = await explain("https://go.example.com/off");
  assert.equal(body.steps[0].result, "present but disabled (enabled: false)");
  assert.deepEqual(body.steps.map((s) => s.step), ["exact host", "exact any host", "rules host", "rules any host", "host fallback"]);
  assert.equal(body.steps[4].key, "fallback:go.example.com");
  assert.equal(body.outcome, "miss");
  assert.equal(body.status, 404);
  assert.equal(body.location, null);
});

test("explain: canary variant and the cookie that would be set", async () => {
  const { body } = await explain("https://go.example.com/split");
  assert.equal(body.variant, "canary");
  assert.equal(body.location, "https://b.example.com/");
  assert.match(body.set_cookie, /^rdr_cid=/);
});

test("explain: X-Redirector-Country simulates cf.country", async () => {
  await h.seed({ "go.example.com/geo": { to: "https://example.com/", when: [{ country: ["JP"], to: "https://example.jp/" }] } });
  const { body } = await explain("https://go.example.com/geo", { headers: { "x-redirector-country": "JP" } });
  assert.equal(body.client.country, "JP");
  assert.equal(body.location, "https://example.jp/");
});

test("explain: invalid records and bad input are explained, not redirected", async () => {
  const bad = await explain("https://go.example.com/bad");
  assert.equal(bad.body.outcome, "invalid_record");
  assert.equal(bad.body.status, 500);
  assert.match(bad.body.error, /scheme/);
  for (const target of ["not a url", "ftp://go.example.com/x"]) {
    const { res } = await explain(target);
    assert.equal(res.status, 400, target);
  }
  const missing = await h.fetch("https://go.example.com/__redirector/explain");
  assert.equal(missing.status, 400);
});

test("explain: off unless allowed; with EXPLAIN=token only with the secret", async () => {
  const target = "https://edge.test/x";
  assert.equal((await explain(target, {}, "https://edge.test")).res.status, 404);
  const wrong = await explain(target, { headers: { authorization: "Bearer nope" } }, "https://edge.test");
  assert.equal(wrong.res.status, 404);
  const right = await explain(target, { headers: { authorization: `Bearer ${EDGE_EXPLAIN_TOKEN}` } }, "https://edge.test");
  assert.equal(right.res.status, 200);
  assert.equal(right.body.location, "https://example.com/x");
  // EXPLAIN=token but no secret configured: off for everyone
  const closed = await explain(target, { headers: { authorization: "Bearer " } }, "https://x.bare.test");
  assert.equal(closed.res.status, 404);
});

test("explain: one click per explain request, outcome explain", async () => {
  const { click } = await h.request(`https://go.example.com/__redirector/explain?url=${encodeURIComponent("https://go.example.com/off")}`);
  assert.equal(click.outcome, "explain");
  assert.equal(click.status, 200);
});
