// KV reads per request, counted at the binding: the isolate cache and KV cacheTtl at
// work with production lifetimes (links 15 s, rule arrays 30 s).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
  await h.seed({ "a.count.test/hit": "https://example.com/hit", "*/any": "https://example.com/any", "c.count.test/ttl": "https://example.com/ttl" }, h.countedKv);
});
after(() => h.close());

async function readsFor(url) {
  const before = h.kvReads.length;
  const res = await h.fetch(url);
  await res.arrayBuffer();
  // logs arrive asynchronously; the click sentinel orders them after this request
  await h.request("https://a.count.test/__redirector/health");
  return { res, reads: h.kvReads.slice(before) };
}

test("first hit: one KV read; repeat hit: none", async () => {
  const first = await readsFor("https://a.count.test/hit");
  assert.equal(first.res.status, 302);
  assert.deepEqual(first.reads, ["a.count.test/hit"]);
  const repeat = await readsFor("https://a.count.test/hit?utm=x");
  assert.equal(repeat.res.headers.get("location"), "https://example.com/hit?utm=x");
  assert.deepEqual(repeat.reads, []);
});

test("every KV read asks KV's edge cache to keep the value 60 s (cacheTtl)", async () => {
  const before = h.kvReadOptions.length;
  await readsFor("https://c.count.test/ttl");
  assert.deepEqual(h.kvReadOptions.slice(before).map((o) => o?.cacheTtl), [60]);
});

test("hit on the any-host key: two reads first, none on repeat", async () => {
  assert.deepEqual((await readsFor("https://b.count.test/any")).reads, ["b.count.test/any", "*/any"]);
  assert.deepEqual((await readsFor("https://b.count.test/any")).reads, []);
});

test("miss: every step and the host fallback read once, then nothing on repeat", async () => {
  const miss = await readsFor("https://a.count.test/nothing");
  assert.equal(miss.res.status, 404);
  assert.deepEqual(miss.reads, ["a.count.test/nothing", "*/nothing", "rules:a.count.test", "rules:*", "fallback:a.count.test"]);
  assert.deepEqual((await readsFor("https://a.count.test/nothing")).reads, []);
  // another miss on the same host reuses the cached rule arrays
  assert.deepEqual((await readsFor("https://a.count.test/other")).reads, ["a.count.test/other", "*/other"]);
});
