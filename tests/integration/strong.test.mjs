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

const status = (res) => res.status;

test("regression: a strong 301 is never cacheable; nor is an answer reached past a capped strong link", async () => {
  await h.admin("PUT", route("cache.example.com/s"), { body: { to: "https://example.com/s", status: 301, strong: true, max_clicks: 1 } });
  await h.seed({ "*/s": { to: "https://example.com/fallback", status: 301 } });
  const first = await h.fetch("https://cache.example.com/s");
  assert.equal(first.status, 301);
  assert.equal(first.headers.get("cache-control"), "private, no-store", "a kill switch or a cap could take it back");
  const past = await h.fetch("https://cache.example.com/s");
  assert.equal(past.headers.get("location"), "https://example.com/fallback");
  assert.equal(past.headers.get("cache-control"), "private, no-store", "raising the cap must reach this client");
  const plain = await h.fetch("https://other.example.com/s");
  assert.equal(plain.headers.get("cache-control"), "public, max-age=3600");
});

test("regression: a 301 expiring in ten minutes is cacheable for at most ten minutes", async () => {
  const expires = new Date(Date.now() + 10 * 60_000).toISOString();
  await h.seed({ "cache.example.com/soon": { to: "https://example.com/soon", status: 301, expires } });
  const res = await h.fetch("https://cache.example.com/soon");
  const maxAge = Number(/^public, max-age=(\d+)$/.exec(res.headers.get("cache-control"))?.[1]);
  assert.ok(maxAge > 590 && maxAge <= 600, res.headers.get("cache-control"));
});

test("regression: explain never spends a click nor adopts KV's copy", async () => {
  await h.seed({ "explain.example.com/one": { to: "https://example.com/v1", strong: true, max_clicks: 1 } });
  const explain = () => h.fetch(`https://explain.example.com/__redirector/explain?url=${encodeURIComponent("https://explain.example.com/one")}`).then((r) => r.json());
  for (let i = 0; i < 3; i++) assert.equal((await explain()).status, 302);
  // Nothing was adopted: an edit in KV before the first real click is still taken.
  await h.seed({ "explain.example.com/one": { to: "https://example.com/v2", strong: true, max_clicks: 1 } });
  const read = await (await h.admin("GET", route("explain.example.com/one"))).json();
  assert.equal(read.source, "kv", "the shard has no copy");
  const click = await h.fetch("https://explain.example.com/one");
  assert.equal(click.headers.get("location"), "https://example.com/v2", "the one click was still there");
  assert.equal((await h.fetch("https://explain.example.com/one")).status, 404);
  const after = await explain();
  assert.equal(after.status, 404);
  assert.match(JSON.stringify(after.steps), /max_clicks 1 reached/);
  assert.equal((await (await h.admin("GET", route("explain.example.com/one"))).json()).clicks, 1);
});

test("regression: 200 clicks on one strong link do not hold up the host: a kill switch completes and takes effect", async () => {
  const hot = { to: "https://example.com/hot", strong: true, max_clicks: 100_000 };
  await h.admin("PUT", route("flood.example.com/hot"), { body: hot });
  await h.admin("PUT", route("flood.example.com/other"), { body: { to: "https://example.com/other", strong: true, max_clicks: 10 } });
  assert.equal((await h.fetch("https://flood.example.com/hot")).status, 302);
  assert.equal((await h.fetch("https://flood.example.com/other")).status, 302);
  let answered = 0;
  const flood = Array.from({ length: 200 }, () => h.fetch("https://flood.example.com/hot").then((r) => { answered += 1; return r.status; }));
  // While the flood is in flight: the host's other strong link, and an admin write
  // to the host, go to other objects. (Locally workerd runs every object on one
  // thread behind one dispatch path, so the isolation shows in where the work is
  // done, asserted below, not in timing.)
  const other = h.fetch("https://flood.example.com/other").then((r) => ({ status: r.status }));
  const write = h.admin("PUT", route("flood.example.com/unrelated"), { body: "https://example.com/u" }).then((r) => ({ status: r.status }));
  const kill = await h.admin("PUT", route("flood.example.com/hot"), { body: { ...hot, enabled: false } });
  assert.equal(kill.status, 200, "the kill switch completes during the flood, in effect (not 202)");
  assert.equal((await h.fetch("https://flood.example.com/hot")).status, 404, "and takes effect at once");
  const [o, w] = await Promise.all([other, write]);
  assert.equal(o.status, 302, "another strong link of the host is answered");
  assert.equal(w.status, 200);
  const statuses = await Promise.all(flood);
  assert.equal(answered, 200);
  assert.ok(statuses.every((s) => s === 302 || s === 404), "no click failed");
  const served = 1 + statuses.filter((s) => s === 302).length;
  const read = await (await h.admin("GET", route("flood.example.com/hot"))).json();
  assert.equal(read.clicks, served, "every redirect counted once");
  // Where the work went: the hot link's clicks in its own counter, the other
  // link's in its own; the host's shard took the writes and no click.
  const ns = await h.routeDo();
  const ask = async (name, kind, message) =>
    (await ns.get(ns.idFromName(name)).fetch(`https://route-do/${kind}`, { method: "POST", body: JSON.stringify(message) })).json();
  assert.equal((await ask("link:flood.example.com/hot", "link", { op: "read", key: "flood.example.com/hot" })).clicks, served);
  assert.equal((await ask("link:flood.example.com/other", "link", { op: "read", key: "flood.example.com/other" })).clicks, 2);
  const shard = await ask("shard:flood.example.com", "shard", { op: "status" });
  assert.equal(shard.version, 4, "two puts, the unrelated write and the kill switch: no click reached the shard");
});

test("regression: a read-your-writes pin forged by another worker on the zone is ignored", async () => {
  // The neighbour writes a pin, in the old unsigned format and with a fake signature,
  // for a link that does not exist, and a marker that claims a write just now.
  // Under every spelling the worker might read (the old one, and today's
  // form-urlencoded name, where "~" is "%7E").
  const spellings = (name) => [...new Set([encodeURIComponent(name), encodeURIComponent(name).replace(/~/g, "%7E")])];
  const forge = async (name, body, headers) => {
    for (const spelled of spellings(name)) {
      const url = `https://ryw.redirector.invalid/ryw/${spelled}`;
      const res = await h.fetch(`https://neighbour.test/put?url=${encodeURIComponent(url)}`, { method: "POST", body, headers: { "cache-control": "max-age=120", ...headers } });
      if (res.status !== 200) return res;
    }
    return { status: 200 };
  };
  assert.equal((await forge("go.ryw.test/phish", JSON.stringify("https://evil.example/login"), { "x-ryw": "put" })).status, 200);
  assert.equal((await forge("go.ryw.test/phish2", JSON.stringify("https://evil.example/login"), {
    "x-ryw": "put", "x-ryw-exp": String(Date.now() + 100_000), "x-ryw-sig": "0".repeat(64),
  })).status, 200);
  await forge("~last-write", String(Date.now()), { "x-ryw": "marker" });
  for (const path of ["/phish", "/phish2"]) {
    const res = await h.fetch(`https://go.ryw.test${path}`);
    assert.equal(res.status, 404, `${path}: no redirect from a forged pin`);
    assert.equal(res.headers.get("location"), null);
  }
  // The worker's own pins still work.
  assert.equal((await h.admin("PUT", route("go.ryw.test/phish"), { body: "https://example.com/real", base: "https://go.ryw.test" })).status, 200);
  assert.equal((await h.fetch("https://go.ryw.test/phish")).headers.get("location"), "https://example.com/real");
});
