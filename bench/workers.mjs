// What the bench scripts share: paths, the seeded KV namespace, and the Miniflare
// definitions of the workers under test.
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
/** Local KV state, persisted across runs (seeded once by bench/e2e.mjs). */
export const STATE = path.join(ROOT, "target/bench/kv");
export const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
export const KV_ID = `bench-routes-${LINKS}`;

/** Worker options every bench worker shares (built output loaded by module rules). */
export const common = {
  compatibilityDate: "2026-04-20",
  modules: true,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  rootPath: ROOT,
};

/**
 * (a) this worker as the `bench` environment: the seeded KV, its Durable Object, and
 * an Analytics Engine binding that discards the click points.
 */
export function rustWorkers(name, scriptPath) {
  return [
    {
      ...common,
      name,
      scriptPath,
      bindings: { ENVIRONMENT: "bench" },
      kvNamespaces: { ROUTES_KV_BENCH: KV_ID },
      durableObjects: { ROUTE_DO_BENCH: { className: "RouteDo", useSQLite: true } },
      wrappedBindings: { CLICKS_BENCH: "discard-clicks" },
    },
    { name: "discard-clicks", modules: true, script: `export default function () { return { writeDataPoint() {} }; }` },
  ];
}

/**
 * The Miniflare workers for one kind under test: (a) "rust" (BENCH_FIRST_HITS=1: no
 * isolate cache, so every request reads KV), (b) "js-kv", (b') "js-kv-ryw", (c)
 * "static", (d) "wasm-302", (e) "js-same". The first is the one to serve.
 */
export function workersFor(kind) {
  if (kind === "rust") {
    const ws = rustWorkers("a", "src/entry.mjs");
    if (process.env.BENCH_FIRST_HITS === "1") ws[0].bindings = { ...ws[0].bindings, ROUTE_CACHE_TTL_MS: "0" };
    return ws;
  }
  const script = {
    "js-kv": "bench/kv-redirect.js",
    "js-kv-ryw": "bench/kv-redirect-ryw.js",
    "js-same": "bench/js-same.js",
    static: "bench/static-302.js",
    "wasm-302": "bench/wasm-302/build/index.js",
  }[kind];
  if (!script) throw new Error(`unknown worker kind ${kind}`);
  const w = { ...common, name: kind, scriptPath: script, kvNamespaces: { ROUTES: KV_ID } };
  if (kind !== "js-same") return [w];
  // (e) writes its click to a binding that discards it, as (a)'s does.
  if (process.env.BENCH_OMIT) w.bindings = { BENCH_OMIT: process.env.BENCH_OMIT };
  w.wrappedBindings = { CLICKS: "discard-clicks" };
  return [w, { name: "discard-clicks", modules: true, script: "export default function () { return { writeDataPoint() {} }; }" }];
}

/** The median (the lower middle for an even count). */
export const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
