// Strong links: ROUTE_DO_<ENV> answers before the worker redirects.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
});
after(() => h.close());

const route = (key) => `route?key=${encodeURIComponent(key)}`;

test("max_clicks is exact under concurrency: 200 parallel requests, cap 50", async () => {
  const put = await h.admin("PUT", route("go.example.com/capped"), {
    body: { to: "https://example.com/limited", strong: true, max_clicks: 50 },
  });
  assert.equal(put.status, 200);
  const results = await Promise.all(Array.from({ length: 200 }, () => h.fetch("https://go.example.com/capped")));
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 302).length, 50);
  assert.equal(statuses.filter((s) => s === 404).length, 150, "after the cap the route is absent");
  const read = await (await h.admin("GET", route("go.example.com/capped"))).json();
  assert.equal(read.clicks, 50);
});

test("a capped strong link falls through to the next lookup step", async () => {
  await h.seed({ "*/capped-fallback": "https://example.com/fallback" });
  await h.admin("PUT", route("go.example.com/capped-fallback"), {
    body: { to: "https://example.com/limited", strong: true, max_clicks: 1 },
  });
  assert.equal((await h.fetch("https://go.example.com/capped-fallback")).headers.get("location"), "https://example.com/limited");
  assert.equal((await h.fetch("https://go.example.com/capped-fallback")).headers.get("location"), "https://example.com/fallback");
});

test("strong links seeded straight into KV are adopted, counted and capped", async () => {
  await h.seed({ "go.example.com/seeded": { to: "https://example.com/s", strong: true, max_clicks: 3 } });
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await h.fetch("https://go.example.com/seeded")).status);
  assert.deepEqual(statuses, [302, 302, 302, 404, 404]);
});

test("the Durable Object's copy wins over KV's", async () => {
  await h.seed({ "go.example.com/authority": { to: "https://example.com/adopted", strong: true } });
  assert.equal((await h.fetch("https://go.example.com/authority")).headers.get("location"), "https://example.com/adopted");
  // someone edits KV behind the admin API's back: the authority keeps its copy
  await h.seed({ "go.example.com/authority": { to: "https://example.com/edited-in-kv", strong: true } });
  assert.equal((await h.fetch("https://go.example.com/authority")).headers.get("location"), "https://example.com/adopted");
});

test("kill switch: disabling a strong link takes effect on the next request", async () => {
  const base = "https://go.ryw.test";
  await h.laggyInner.put("go.ryw.test/campaign", JSON.stringify({ to: "https://example.com/c", strong: true }));
  assert.equal((await h.fetch(`${base}/campaign`)).status, 302);
  const kill = await h.admin("PUT", route("go.ryw.test/campaign"), { body: { to: "https://example.com/c", strong: true, enabled: false }, base });
  assert.equal(kill.status, 200);
  const res = await h.fetch(`${base}/campaign`);
  assert.equal(res.status, 404, "KV still says enabled for 60 s; the Durable Object does not");
});

test("Durable Object failure: ordinary links still serve from KV, strong links 503 no-store", async () => {
  await h.seed({ "x.dofail.test/plain": "https://example.com/plain", "x.dofail.test/strong": { to: "https://example.com/s", strong: true } }, h.dofailKv);
  const plain = await h.request("https://x.dofail.test/plain");
  assert.equal(plain.res.status, 302);
  const strong = await h.request("https://x.dofail.test/strong");
  assert.equal(strong.res.status, 503);
  assert.equal(strong.res.headers.get("cache-control"), "no-store");
  assert.equal(strong.res.headers.get("retry-after"), "5");
  assert.equal(strong.res.headers.get("location"), null);
  assert.equal(strong.click.outcome, "store_error");
});
