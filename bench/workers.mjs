// What the bench scripts share: paths, the seeded KV namespace, and the Miniflare
// definitions of the workers under test.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { WebSocket } from "undici";
import { CF } from "./cf.mjs";
import { BUILT, withControl } from "../scripts/lib/two-scripts.mjs";

export const ROOT = path.resolve(import.meta.dirname, "..");
/** Local KV state, persisted across runs (seeded once by bench/e2e.mjs). */
export const STATE = path.join(ROOT, "target/bench/kv");
export const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
export const KV_ID = `bench-routes-${LINKS}`;

/** Worker options every bench worker shares (built output loaded by module rules). */
export const common = { ...BUILT, rootPath: ROOT };

/**
 * (a) this worker as the `bench` environment: the seeded KV, its Durable Object, and
 * an Analytics Engine binding that discards the click points; the first is the edge
 * script, the second its control script.
 */
export function rustWorkers(name, scriptPath) {
  const edge = {
    ...common,
    name,
    scriptPath,
    bindings: { ENVIRONMENT: "bench" },
    kvNamespaces: { ROUTES_KV_BENCH: KV_ID },
    durableObjects: { ROUTE_DO_BENCH: { className: "RouteDo", useSQLite: true } },
    wrappedBindings: { CLICKS_BENCH: "discard-clicks" },
  };
  // The edge script serves; its control script holds the RouteDo class.
  return [
    ...withControl(edge, "bench"),
    { name: "discard-clicks", modules: true, script: `export default function () { return { writeDataPoint() {} }; }` },
  ];
}

/**
 * The Miniflare workers for one kind under test: (a) "rust" (BENCH_FIRST_HITS=1: no
 * isolate cache, so every request reads KV), (b) "js-kv", (b') "js-kv-ryw", (c)
 * "static", (d) "wasm-302", (d') "wasm-302-kv" (the same, reading the link from KV
 * first: the least a workers-rs worker does for a first hit), (f) "rust-floor" (this
 * worker's entry, executor and KV read around a fixed 302: src/bench_floor.rs), (e)
 * "js-same". The first is the one to serve.
 */
export function workersFor(kind) {
  if (kind === "rust" || kind === "rust-floor") {
    // rust-floor: BUILD_DIR=target/floor-build BUILD_FEATURES=bench-floor scripts/build-worker
    const ws = rustWorkers("a", kind === "rust" ? "src/entry.mjs" : "target/floor-build/entry.mjs");
    if (process.env.BENCH_FIRST_HITS === "1") ws[0].bindings = { ...ws[0].bindings, ROUTE_CACHE_TTL_MS: "0" };
    return ws;
  }
  const script = {
    "js-kv": "bench/kv-redirect.js",
    "js-kv-ryw": "bench/kv-redirect-ryw.js",
    "js-same": "bench/js-same.js",
    static: "bench/static-302.js",
    "wasm-302": "bench/wasm-302/build/index.js",
    "wasm-302-kv": "bench/wasm-302/build/index.js",
  }[kind];
  if (!script) throw new Error(`unknown worker kind ${kind}`);
  const w = { ...common, name: kind, scriptPath: script, kvNamespaces: { ROUTES: KV_ID } };
  if (kind === "wasm-302-kv") w.bindings = { KV_READ: "1" };
  if (kind !== "js-same") return [w];
  // (e) writes its click to a binding that discards it, as (a)'s does.
  if (process.env.BENCH_OMIT) w.bindings = { BENCH_OMIT: process.env.BENCH_OMIT };
  w.wrappedBindings = { CLICKS: "discard-clicks" };
  return [w, { name: "discard-clicks", modules: true, script: "export default function () { return { writeDataPoint() {} }; }" }];
}

/** The median (the lower middle for an even count). */
export const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];

// The in-isolate loop (bench/isolate.mjs, bench/profile-isolate.mjs): a module that
// serves `/__loop?n=N&url=U` by calling the worker's own default export N times in a
// row inside the isolate, each request carrying bench/cf.mjs as its `cf`. `target`
// is an object with fetch, or a class the runtime would construct per request, as
// worker-build's stock entry is.
const loopModule = (importPath) => `import target from ${JSON.stringify(importPath)};
const CF = ${JSON.stringify(CF)};
const handle = typeof target === "function"
  ? (req, env, ctx) => new target(ctx, env).fetch(req)
  : (req, env, ctx) => target.fetch(req, env, ctx);
export default {
  async fetch(request, env, ctx) {
    const u = new URL(request.url);
    if (u.pathname !== "/__loop") return handle(request, env, ctx);
    const n = Number(u.searchParams.get("n")), to = u.searchParams.get("url");
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const res = await handle(new Request(to, { cf: CF, headers: { "user-agent": "bench/1.0" } }), env, ctx);
      if (res.status < 400) ok++;
    }
    return new Response(String(ok));
  },
};
`;

/** Writes the loop module around `script` (a path from ROOT) and returns its path from ROOT. */
export function loopWrapper(name, script) {
  const dir = path.join(ROOT, "target/bench/isolate");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(file, loopModule(path.relative(dir, path.join(ROOT, script))));
  return path.relative(ROOT, file);
}

/**
 * A session on workerd's inspector with the first target whose title or URL matches
 * `pattern`: `send(method, params)` resolves with the result (or the error),
 * `snapshotChunks` collects the chunks of a heap snapshot. One session per isolate: attaching to several isolates
 * while under load stalled workerd once (docs/failures.md, "Soak").
 */
export async function inspector(port, pattern) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => pattern.test(`${t.title} ${t.url}`)) ?? targets[0];
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const waiting = new Map();
  const snapshotChunks = [];
  socket.addEventListener("message", (e) => {
    const msg = JSON.parse(e.data);
    if (msg.method === "HeapProfiler.addHeapSnapshotChunk") snapshotChunks.push(msg.params.chunk);
    waiting.get(msg.id)?.(msg.result ?? msg.error);
    waiting.delete(msg.id);
  });
  const send = (method, params = {}) => new Promise((resolve) => { waiting.set(++id, resolve); socket.send(JSON.stringify({ id, method, params })); });
  return { send, snapshotChunks, close: () => socket.close() };
}
