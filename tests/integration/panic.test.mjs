// Panic recovery (src/entry.mjs, src/lib.rs `install_panic_hook`), on the test-only
// build with paths that panic on purpose (BUILD_DIR=target/panic-build
// BUILD_FEATURES=test-panic scripts/build-worker; scripts/test makes it). After a
// panic, before or after an await, the request gets a 503 that no cache keeps, every
// other request the dead instance was serving is answered too, and the next requests,
// answered synchronously from the isolate cache or after a KV read, are normal.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD = path.join(ROOT, "target/panic-build");

let mf;
let kv;
before(async () => {
  assert.ok(existsSync(path.join(BUILD, "entry.mjs")), "run: BUILD_DIR=target/panic-build BUILD_FEATURES=test-panic scripts/build-worker");
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    kvPersist: false,
    durableObjectsPersist: false,
    workers: [
      {
        name: "redirector-local",
        rootPath: BUILD,
        scriptPath: "entry.mjs",
        modules: true,
        modulesRules: [
          { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
          { type: "CompiledWasm", include: ["**/*.wasm"] },
        ],
        compatibilityDate: "2026-04-20",
        // Production cache lifetimes: a repeat hit is answered without any I/O.
        bindings: { ENVIRONMENT: "local" },
        // The edge script alone: its panics are the ones under test (no control
        // script, so no Durable Object or CONTROL_LOCAL binding).
        kvNamespaces: ["ROUTES_KV_LOCAL"],
      },
    ],
  });
  await mf.ready;
  kv = await mf.getKVNamespace("ROUTES_KV_LOCAL");
  await kv.put("go.example.com/hello", JSON.stringify("https://example.com/hello"));
  await kv.put("go.example.com/other", JSON.stringify("https://example.com/other"));
});
after(() => mf?.dispose());

const get = (p) => mf.dispatchFetch(`https://go.example.com${p}`, { redirect: "manual" });

async function normal() {
  // After a KV read (first hit of this instance), then synchronously (a cached hit).
  const first = await get("/hello");
  assert.equal(first.status, 302);
  assert.equal(first.headers.get("location"), "https://example.com/hello");
  const cached = await get("/hello");
  assert.equal(cached.status, 302);
  const other = await get("/other");
  assert.equal(other.headers.get("location"), "https://example.com/other");
}

for (const [name, p] of [["before any await", "/__redirector/test/panic"], ["after a KV await", "/__redirector/test/panic-after-await"]]) {
  test(`regression: a panic ${name} is answered 503 no-store and the next requests are normal`, async () => {
    await normal();
    const res = await get(p);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("retry-after"), "5");
    await normal();
    await normal();
  });
}

test("regression: requests waiting on an instance that panics are answered, not left hanging", async () => {
  await normal();
  // Misses wait on KV reads; the panic after an await ends the instance meanwhile.
  const waiting = Array.from({ length: 20 }, (_, i) => get(`/miss-${i}`));
  const crash = get("/__redirector/test/panic-after-await");
  const answers = await Promise.all([crash, ...waiting]);
  assert.equal(answers[0].status, 503);
  for (const res of answers.slice(1)) assert.ok([404, 503].includes(res.status), `answered: ${res.status} ${await res.text()}`);
  await normal();
});
