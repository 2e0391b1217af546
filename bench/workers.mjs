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

/** The median (the lower middle for an even count). */
export const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
