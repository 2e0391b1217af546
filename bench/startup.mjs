// Fresh-isolate time (docs/performance.md "Fresh isolate"): Miniflare start and the
// first response, median of BENCH_STARTUP_SAMPLES (5), for (a) this worker, (d) the
// smallest Rust worker and (c) the static JS worker, interleaved.
//   node bench/startup.mjs
import { Miniflare } from "miniflare";
import { CF, CF_HEADER } from "./cf.mjs";
import { common, KV_ID, median, rustWorkers, STATE } from "./workers.mjs";

const SAMPLES = Number(process.env.BENCH_STARTUP_SAMPLES ?? 5);
const KINDS = {
  rust: () => rustWorkers("a", "src/entry.mjs"),
  // Diagnostic: (a) without the Durable Object namespace and the click binding's
  // worker, to tell Miniflare's cost of starting those services from the worker's.
  "rust-bare": () => [{ ...rustWorkers("a", "src/entry.mjs")[0], durableObjects: {}, wrappedBindings: {}, serviceBindings: {} }],
  "wasm-302": () => [{ ...common, name: "a", scriptPath: "bench/wasm-302/build/index.js", kvNamespaces: { ROUTES: KV_ID } }],
  static: () => [{ ...common, name: "a", scriptPath: "bench/static-302.js" }],
};
// BENCH_OTHER_ENTRY=path/entry.mjs adds `rust-bare-other`: `rust-bare` as built
// elsewhere (another commit: BUILD_DIR=... scripts/build-worker there), same rounds.
if (process.env.BENCH_OTHER_ENTRY) {
  KINDS["rust-bare-other"] = () => [{ ...KINDS["rust-bare"]()[0], scriptPath: process.env.BENCH_OTHER_ENTRY }];
}
const ms = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
for (let i = 0; i < SAMPLES; i++) {
  for (const [kind, workers] of Object.entries(KINDS)) {
    const t0 = performance.now();
    const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, logRequests: false, workers: workers() });
    const url = await mf.ready;
    await (await fetch(new URL("/l/1", url), { redirect: "manual", headers: { [CF_HEADER]: JSON.stringify(CF) } })).arrayBuffer();
    ms[kind].push(performance.now() - t0);
    await mf.dispose();
  }
}
const out = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Number(median(v).toFixed(1))]));
out.rust_over_smallest_rust = Number((out.rust / out["wasm-302"]).toFixed(2));
out.rust_bare_over_smallest_rust = Number((out["rust-bare"] / out["wasm-302"]).toFixed(2));
if (out["rust-bare-other"]) out.rust_bare_other_over_smallest_rust = Number((out["rust-bare-other"] / out["wasm-302"]).toFixed(2));
console.log(JSON.stringify(out));
