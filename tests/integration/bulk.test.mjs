// Bulk publishing at the platform's limits (docs/strong-routes.md "Bulk"): a bulk is
// authoritative in its shard at once, reaches KV in batches from the shard's alarm
// (KV allows 1 000 operations per invocation), retries failed KV writes, says how
// far it has got (status), and a bulk across hosts is all or nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
});
after(() => h.close());

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const route = (key) => `route?key=${encodeURIComponent(key)}`;

/** Poll the host's status until KV has caught up; returns every status seen. */
async function caughtUp(host, base, timeoutMs = 120_000) {
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await (await h.admin("GET", `status?host=${encodeURIComponent(host)}`, { base })).json();
    seen.push(status);
    if (status.caught_up) return seen;
    assert.ok(Date.now() < deadline, `KV never caught up: ${JSON.stringify(status)}`);
    await sleep(250);
  }
}

async function countKeys(namespace, prefix) {
  let n = 0;
  let cursor;
  do {
    const page = await namespace.list({ prefix, cursor });
    n += page.keys.length;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return n;
}

test("regression: KV failing the Nth writes leaves nothing half-written: retried until KV has all of it", async () => {
  const host = "x.flaky.test";
  const base = `https://${host}`;
  // Writes 3, 7 and 8 of this env's KV fail.
  const body = Array.from({ length: 10 }, (_, i) => ({ key: `${host}/f${i}`, value: `https://example.com/f/${i}` }));
  const res = await h.admin("POST", "bulk", { body, base });
  assert.equal(res.status, 200, "the bulk is committed: a KV failure is retried, not rolled back");
  const answer = await res.json();
  assert.equal(answer.kv_pending, 3, "three writes failed and are queued");
  const status = await (await h.admin("GET", `status?host=${host}`, { base })).json();
  assert.match(status.last_error, /injected failure of KV write/, "the failure is reported, not silent");
  for (let i = 0; i < 10; i++) {
    const r = await h.fetch(`${base}/f${i}`);
    assert.equal(r.headers.get("location"), `https://example.com/f/${i}`, `f${i} served while KV catches up`);
  }
  await caughtUp(host, base);
  for (let i = 0; i < 10; i++) {
    assert.equal(await h.flakyInner.get(`${host}/f${i}`), JSON.stringify(`https://example.com/f/${i}`));
  }
  const done = await (await h.admin("GET", `status?host=${host}`, { base })).json();
  assert.equal(done.last_error, null);
});

// After the test above (13 writes), this bulk's KV write number 5003 fails too.
test("regression: a bulk of 10 000 keys over a KV that fails a write is accepted whole, served at once, and reaches KV in batches", async () => {
  const host = "bulk10k.flaky.test";
  const body = Array.from({ length: 10_000 }, (_, i) => ({ key: `${host}/k${i}`, value: `https://example.com/t/${i}` }));
  const res = await h.admin("POST", "bulk", { body, base: `https://${host}` });
  assert.equal(res.status, 200);
  const answer = await res.json();
  assert.equal(answer.written.length, 10_000);
  assert.ok(answer.kv_pending > 0 && answer.kv_pending <= 10_000, `kv_pending ${answer.kv_pending}`);
  // Keys not yet in KV are answered from the shard in this location.
  let checked = 0;
  for (let i = 9_999; i >= 0 && checked < 3; i -= 97) {
    if ((await h.flakyInner.get(`${host}/k${i}`)) !== null) continue;
    const r = await h.fetch(`https://${host}/k${i}`);
    assert.equal(r.status, 302, `k${i} before it reached KV`);
    assert.equal(r.headers.get("location"), `https://example.com/t/${i}`);
    checked += 1;
  }
  assert.ok(checked > 0, "some keys were still on their way to KV");
  const seen = await caughtUp(host, `https://${host}`);
  assert.ok(seen.some((s) => s.kv_pending > 0), "the status showed the drain in progress");
  assert.ok(seen.some((s) => /injected failure of KV write 5003/.test(s.last_error ?? "")), "the failed write was reported");
  assert.equal(seen.at(-1).last_error, null);
  assert.equal(await countKeys(h.flakyInner, `${host}/`), 10_000, "every key reached KV, the failed one on retry");
});

test("a bulk across hosts is written everywhere", async () => {
  const body = [
    { key: "xa.example.com/one", value: "https://example.com/xa" },
    { key: "xb.example.com/one", value: "https://example.com/xb" },
    { key: "*/xany", value: "https://example.com/any" },
  ];
  const res = await h.admin("POST", "bulk", { body });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).hosts_pending, []);
  assert.equal((await h.fetch("https://xa.example.com/one")).headers.get("location"), "https://example.com/xa");
  assert.equal((await h.fetch("https://xb.example.com/one")).headers.get("location"), "https://example.com/xb");
  assert.equal((await h.fetch("https://q.example.com/xany")).headers.get("location"), "https://example.com/any");
});

test("regression: a bulk across hosts that one shard refuses changes nothing on any host", async () => {
  await h.seed({ "ya.example.com/keep": "https://example.com/old" });
  // Another bulk holds yb.example.com/locked staged (open, not decided).
  const ns = await h.routeDo();
  const stub = ns.get(ns.idFromName("shard:yb.example.com"));
  const blocker = { op: "prepare", txn: "blocker", coordinator: "yb.example.com", writes: [{ key: "yb.example.com/locked", value: '"https://example.com/b"' }], deadline_ms: Date.now() + 60_000 };
  assert.equal((await stub.fetch("https://route-do/shard", { method: "POST", body: JSON.stringify(blocker) })).status, 200);
  const body = [
    { key: "ya.example.com/keep", value: "https://example.com/new" },
    { key: "ya.example.com/added", value: "https://example.com/added" },
    { key: "yb.example.com/locked", value: "https://example.com/mine" },
  ];
  const res = await h.admin("POST", "bulk", { body });
  assert.equal(res.status, 503);
  assert.equal((await h.fetch("https://ya.example.com/keep")).headers.get("location"), "https://example.com/old");
  assert.equal((await h.fetch("https://ya.example.com/added")).status, 404);
  assert.equal(await h.kv.get("ya.example.com/added"), null);
  assert.equal((await h.admin("GET", route("ya.example.com/added"))).status, 404);
  assert.equal((await h.admin("GET", route("yb.example.com/locked"))).status, 404);
  const status = await (await h.admin("GET", "status?host=ya.example.com")).json();
  assert.equal(status.open_bulks, 0, "the refused bulk was aborted on the host that had staged it");
});

test("status needs the admin token and names a host", async () => {
  assert.equal((await h.admin("GET", "status?host=go.example.com", { token: null })).status, 401);
  assert.equal((await h.admin("GET", "status")).status, 400);
  assert.equal((await h.admin("POST", "status?host=go.example.com")).status, 405);
});
