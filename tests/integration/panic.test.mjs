// Panic recovery (src/wasm-handler.mjs, src/lib.rs `install_panic_hook`), on the
// test-only builds with paths that panic on purpose (BUILD_DIR=target/panic-build
// BUILD_FEATURES=test-panic scripts/build-worker, and the control script's variant in
// target/panic-build-control; scripts/test makes both). After a
// panic, before or after an await, the request gets a 503 that no cache keeps, every
// other request the dead instance was serving is answered too, and the next requests,
// answered synchronously from the isolate cache or after a KV read, are normal.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { BUILT } from "../../scripts/lib/two-scripts.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD = path.join(ROOT, "target/panic-build");
const CONTROL_BUILD = path.join(ROOT, "target/panic-build-control");
const TOKEN = "panic-admin-token";
const CLICK_TAG = "__click__ ";
/** Click points written so far (both scripts), read from workerd's logs. */
const clicks = [];

let mf;
let kv;
before(async () => {
  assert.ok(existsSync(path.join(BUILD, "entry.mjs")), "run: BUILD_DIR=target/panic-build BUILD_FEATURES=test-panic scripts/build-worker");
  assert.ok(existsSync(path.join(CONTROL_BUILD, "control.mjs")), 'run: BUILD_DIR=target/panic-build-control BUILD_FEATURES="test-panic control" scripts/build-worker');
  const script = (name, rootPath, scriptPath) => ({
    name,
    rootPath,
    scriptPath,
    ...BUILT,
    // Production cache lifetimes: a repeat hit is answered without any I/O.
    bindings: { ENVIRONMENT: "local", ADMIN_TOKEN: TOKEN },
    kvNamespaces: ["ROUTES_KV_LOCAL"],
    wrappedBindings: { CLICKS_LOCAL: "click-capture" },
  });
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    kvPersist: false,
    durableObjectsPersist: false,
    structuredWorkerdLogs: true,
    handleStructuredLogs: ({ message }) => {
      for (const line of String(message).split("\n")) {
        const at = line.indexOf(CLICK_TAG);
        if (at >= 0) clicks.push(JSON.parse(line.slice(at + CLICK_TAG.length)));
      }
    },
    workers: [
      { ...script("redirector-local", BUILD, "entry.mjs"), serviceBindings: { CONTROL_LOCAL: "redirector-control-local" } },
      { ...script("redirector-control-local", CONTROL_BUILD, "control.mjs"), durableObjects: { ROUTE_DO_LOCAL: { className: "RouteDo", useSQLite: true } } },
      {
        name: "click-capture",
        modules: true,
        script: `export default function () { return { writeDataPoint(p) { console.log(${JSON.stringify(CLICK_TAG)} + JSON.stringify(p)); } }; }`,
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

test("regression: a panic in the control script is answered 503 by the edge, with exactly one click, and the control script recovers", async () => {
  const admin = (p, method = "GET") => mf.dispatchFetch(`https://go.example.com/__redirector/admin/${p}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  const count = (p) => clicks.filter((c) => c.blobs[2] === p).length;
  const res = await admin("test/panic");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-redirector-panicked"), null, "the edge answers with its own 503");
  // The edge's click, and none from the dead control instance.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(count("/__redirector/admin/test/panic"), 1, JSON.stringify(clicks));
  const read = await admin(`route?key=${encodeURIComponent("go.example.com/hello")}`);
  assert.equal(read.status, 200, await read.clone().text());
  assert.equal((await read.json()).source, "kv");
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(count("/__redirector/admin/route"), 1, "one click for the next admin request, the control script's");
  await normal();
});
