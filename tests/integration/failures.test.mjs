// Failure injection in workerd (docs/failures.md): KV throws, KV hangs, the Durable
// Object throws or never answers, Analytics Engine throws, Sentry is down. For each:
// the documented answer, never a cached error, the next request unaffected, and
// what happens to the request's click.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
before(async () => {
  // A Sentry that is down (nothing listens on port 9): faults are still answered.
  h = await start({ sentryDsn: "http://publickey@127.0.0.1:9/1" });
  await h.seed({ "x.dohang.test/plain": "https://example.com/plain", "x.dohang.test/strong": { to: "https://example.com/s", strong: true } }, h.dohangKv);
});
after(() => h.close());

function noCachedError(res) {
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("location"), null);
}

test("KV hangs: 503 with Retry-After within the stated time (KV_TIMEOUT_MS), click written as store_error", async () => {
  const started = Date.now();
  const { res, click } = await h.request("https://x.kvhang.test/anything");
  const took = Date.now() - started;
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "5");
  noCachedError(res);
  assert.ok(took < 2000, `answered in ${took} ms (KV_TIMEOUT_MS 300 here; 3 s in production)`);
  assert.equal(click.outcome, "store_error");
  // and the next request is answered the same way, not stuck behind the first
  const again = await h.request("https://x.kvhang.test/other");
  assert.equal(again.res.status, 503);
});

test("the Durable Object never answers: plain links still redirect; a strong link is 503 no-store in time", async () => {
  const plain = await h.request("https://x.dohang.test/plain");
  assert.equal(plain.res.status, 302);
  const started = Date.now();
  const strong = await h.request("https://x.dohang.test/strong");
  assert.equal(strong.res.status, 503);
  noCachedError(strong.res);
  assert.ok(Date.now() - started < 2000, "DO_TIMEOUT_MS 300 here; 5 s in production");
  assert.equal(strong.click.outcome, "store_error");
  assert.equal((await h.request("https://x.dohang.test/plain")).res.status, 302, "the next request is unaffected");
});

test("KV throws, Sentry down: 503 Retry-After no-store, and the next request unaffected", async () => {
  const { res, click } = await h.request("https://x.kvfail.test/a");
  assert.equal(res.status, 503);
  noCachedError(res);
  assert.equal(click.outcome, "store_error");
  assert.equal((await h.fetch("https://x.kvfail.test/b")).status, 503);
  await h.seed({ "go.example.com/ok": "https://example.com/ok" });
  assert.equal((await h.fetch("https://go.example.com/ok")).status, 302, "another env is untouched");
});

test("Analytics Engine throws: the redirect is served, the click is lost (logged)", async () => {
  await h.seed({ "x.aefail.test/a": "https://example.com/a" }, h.aefailKv);
  const res = await h.fetch("https://x.aefail.test/a");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "https://example.com/a");
});

test("regression: a KV read's deadline timer leaked its callbacks (wasm memory grew with every KV read)", async () => {
  // Every request here reads KV (ROUTE_CACHE_TTL_MS=0), each read raced against a
  // KV_TIMEOUT_MS timer. The timer used to stay set after the read won; workerd
  // cancels a request's timers when it ends, so its promise never settled and the
  // callbacks awaiting it (about 140 bytes of wasm memory a read) were never freed.
  await h.seed({ "go.example.com/leak": "https://example.com/leak" });
  const memory = async () => (await (await h.fetch("https://go.example.com/__redirector/health")).json()).memory_bytes;
  const burst = async (n) => {
    for (let i = 0; i < n; i += 16) {
      await Promise.all(Array.from({ length: 16 }, async () => (await h.fetch("https://go.example.com/leak")).arrayBuffer()));
    }
  };
  await burst(1000); // the allocator's and the isolate's steady state first
  const before = await memory();
  await burst(8000);
  const grown = (await memory()) - before;
  assert.ok(grown < 256 * 1024, `wasm memory grew ${grown} bytes over 8 000 KV reads`);
});
