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
// Prints JSON to stdout: microseconds per request, the median of BENCH_LOOP_ROUNDS.
import { Miniflare } from "miniflare";
import { common, loopWrapper, median, rustWorkers, STATE } from "./workers.mjs";

const N = Number(process.env.BENCH_LOOP_N ?? 20000);
const ROUNDS = Number(process.env.BENCH_LOOP_ROUNDS ?? 7);

const CASES = [
  { name: "a_repeat_hit", script: "src/entry.mjs", url: "http://127.0.0.1/l/7?utm_source=bench", rust: true },
  { name: "d_smallest_rust", script: "bench/wasm-302/build/index.js", url: "http://127.0.0.1/l/7" },
  { name: "c_static_js", script: "bench/static-302.js", url: "http://127.0.0.1/l/7" },
];

function workers(c) {
  const scriptPath = loopWrapper(c.name, c.script, c.rust);
  return c.rust ? rustWorkers("w", scriptPath) : [{ ...common, name: "w", scriptPath }];
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
