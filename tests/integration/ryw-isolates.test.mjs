// Read-your-writes across the isolates of one location (docs/strong-routes.md): the
// "pair" environment has a writer and a second isolate (the peer, with production
// cache lifetimes) sharing a KV that shows every write only after 60 s and one Cache
// API. Its own Miniflare, so the location starts with no recent write.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

// redirector_core::ryw::MARKER_FRESH_MS: how stale an isolate's view of the
// location's latest write may be.
const MARKER_FRESH_MS = 1000;

let h;
before(async () => {
  h = await start();
});
after(() => h.close());

const base = "https://go.pair.test";
const route = (key) => `route?key=${encodeURIComponent(key)}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test("a new link is served at once by another isolate, even one that saw no recent write", async () => {
  await h.laggyInner.put("go.pair.test/known", JSON.stringify("https://example.com/known"));
  // The peer learns the location is quiet, then reads a hit and a miss from KV.
  assert.equal((await h.peer(`${base}/known`)).headers.get("location"), "https://example.com/known");
  assert.equal((await h.peer(`${base}/fresh`)).status, 404);
  assert.equal((await h.peer(`${base}/fresh`)).status, 404);
  assert.equal((await h.admin("PUT", route("go.pair.test/fresh"), { body: "https://example.com/fresh", base })).status, 200);
  const res = await h.peer(`${base}/fresh`);
  assert.equal(res.status, 302, "KV still misses for 60 s; the pin answers");
  assert.equal(res.headers.get("location"), "https://example.com/fresh");
  const kv = await h.laggyInner.getWithMetadata("go.pair.test/fresh");
  assert.equal(kv.metadata.previous, null, "KV itself still shows the miss: the pin answered");
});

test("updates and deletes reach another isolate within MARKER_FRESH_MS, even a record it has cached", async () => {
  await h.laggyInner.put("go.pair.test/moving", JSON.stringify("https://example.com/v1"));
  assert.equal((await h.peer(`${base}/moving`)).headers.get("location"), "https://example.com/v1");
  assert.equal((await h.peer(`${base}/moving`)).headers.get("location"), "https://example.com/v1", "now cached");
  await h.admin("PUT", route("go.pair.test/moving"), { body: "https://example.com/v2", base });
  assert.equal((await h.fetch(`${base}/moving`)).headers.get("location"), "https://example.com/v2", "the writer at once");
  await sleep(MARKER_FRESH_MS + 50);
  assert.equal((await h.peer(`${base}/moving`)).headers.get("location"), "https://example.com/v2", "the peer");
  await h.admin("DELETE", route("go.pair.test/moving"), { base });
  await sleep(MARKER_FRESH_MS + 50);
  assert.equal((await h.peer(`${base}/moving`)).status, 404);
  const kv = await h.laggyInner.getWithMetadata("go.pair.test/moving");
  assert.ok(Date.now() < kv.metadata.visibleAt, "KV itself does not show the delete yet: the pin answered");
});
