// In-isolate cost of one request, without HTTP: a small wrapper module, loaded into
// workerd by Miniflare next to each worker, serves the same request N times in a row
// inside the isolate (`/__loop`). The client times N and 0 iterations; the difference
// over N is what one request costs the worker itself: the isolate's own work,
// without workerd's HTTP handling and Miniflare's entry worker, which make up most of
// an end-to-end request here (docs/performance.md, "Where the time goes").
//
// Workers: (a) this worker on a repeat hit (answered from the isolate cache), (d) bench/wasm-302 (the smallest workers-rs worker), (c) bench/static-302.js.
// Requests carry bench/cf.mjs as their `cf`. Given as an object to `new Request`,
// it is not parsed again on access, as an incoming request's is: this measure leaves
// out reading `cf` (the end-to-end figures include it).
// BENCH_FIRST_HITS=1 measures first hits instead, each request a KV read: (a) with its
// isolate cache off, against (b) bench/kv-redirect.js, (d') bench/wasm-302 reading
// the link from KV first (its `KV_READ` var) and (e) bench/js-same.js. The
// loop awaits each request, so this is latency in one isolate, KV's time included.
// Prints JSON to stdout: microseconds per request, the median of BENCH_LOOP_ROUNDS.
import { Miniflare } from "miniflare";
import { common, loopWrapper, median, rustWorkers, STATE, workersFor } from "./workers.mjs";

const N = Number(process.env.BENCH_LOOP_N ?? 20000);
const ROUNDS = Number(process.env.BENCH_LOOP_ROUNDS ?? 7);

const FIRST_HITS = process.env.BENCH_FIRST_HITS === "1";
const LINK = "http://127.0.0.1/l/7?utm_source=bench";
const CASES = FIRST_HITS
  ? [
      { name: "a_first_hit", script: "src/entry.mjs", url: LINK, rust: true },
      { name: "b_js_kv", script: "bench/kv-redirect.js", url: LINK, kind: "js-kv" },
      { name: "d_rust_kv_read", script: "bench/wasm-302/build/index.js", url: LINK, kind: "wasm-302-kv" },
      { name: "e_js_same", script: "bench/js-same.js", url: LINK, kind: "js-same" },
    ]
  : [
      { name: "a_repeat_hit", script: "src/entry.mjs", url: LINK, rust: true },
      { name: "d_smallest_rust", script: "bench/wasm-302/build/index.js", url: "http://127.0.0.1/l/7" },
      { name: "c_static_js", script: "bench/static-302.js", url: "http://127.0.0.1/l/7" },
    ];

// BENCH_OTHER_ENTRY=path/entry.mjs adds (a) as built elsewhere (another commit, built
// with BUILD_DIR=... scripts/build-worker), measured in the same interleaved rounds.
if (process.env.BENCH_OTHER_ENTRY) CASES.splice(1, 0, { ...CASES[0], name: `${CASES[0].name}_other`, script: process.env.BENCH_OTHER_ENTRY });

function workers(c) {
  const scriptPath = loopWrapper(c.name, c.script);
  if (c.rust) {
    const ws = rustWorkers("w", scriptPath);
    if (FIRST_HITS) ws[0].bindings = { ...ws[0].bindings, ROUTE_CACHE_TTL_MS: "0" };
    return ws;
  }
  if (c.kind) {
    const [w, ...rest] = workersFor(c.kind);
    return [{ ...w, name: "w", scriptPath }, ...rest];
  }
  return [{ ...common, name: "w", scriptPath }];
}

const running = [];
for (const c of CASES) {
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, logRequests: false, workers: workers(c) });
  running.push({ c, mf, url: await mf.ready, us: [] });
}
const time = async (r, n) => {
  const t0 = performance.now();
  const res = await fetch(`${r.url}__loop?n=${n}&url=${encodeURIComponent(r.c.url)}`);
  const ok = Number(await res.text());
  if (ok !== n) throw new Error(`${r.c.name}: ${ok} of ${n} requests answered`);
  return performance.now() - t0;
};
for (const r of running) await time(r, N); // warm-up: JIT, isolate cache
// Interleaved rounds, so drift on the machine falls on every case alike.
for (let i = 0; i < ROUNDS; i++) {
  for (const r of running) {
    const empty = await time(r, 0);
    r.us.push(((await time(r, N)) - empty) * 1000 / N);
  }
}
const result = { n: N, rounds: ROUNDS, us_per_request: {} };
for (const r of running) {
  result.us_per_request[r.c.name] = Number(median(r.us).toFixed(2));
  await r.mf.dispose();
}
console.log(JSON.stringify(result, null, 2));
