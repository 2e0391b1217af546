// CPU profile of the in-isolate repeat-hit loop (bench/isolate.mjs's case (a)),
// through workerd's inspector: self time per function, heaviest first.
// On a build that keeps wasm names (scripts/build-worker strips them):
//   worker-build --release --out-dir target/prof-build
//   sed 's#"\.\./build/index\.js"#"./index.js"#' src/entry.mjs >target/prof-build/entry.mjs
//   BENCH_LINKS=10000 PROFILE_ENTRY=target/prof-build/entry.mjs node bench/profile-isolate.mjs
// (PROFILE_URL, BENCH_LOOP_N, PROFILE_TOP; BENCH_FIRST_HITS=1 turns the isolate cache
// off, so every request of the loop is a first hit that reads KV.)
import { Miniflare } from "miniflare";
import path from "node:path";
import { inspector, loopWrapper, rustWorkers, STATE, workersFor } from "./workers.mjs";

const N = Number(process.env.BENCH_LOOP_N ?? 200000);
// PROFILE_KIND=js-kv or js-same profiles that JS baseline instead (its script from workersFor).
const KIND = process.env.PROFILE_KIND;
const BUILD = process.env.PROFILE_ENTRY ?? (KIND ? workersFor(KIND)[0].scriptPath : "src/entry.mjs");
const URL_ = process.env.PROFILE_URL ?? "http://127.0.0.1/l/7?utm_source=bench";
const script = loopWrapper("profile", BUILD);
const port = 9500 + Math.floor(Math.random() * 400);
const workers = KIND ? (([w, ...rest]) => [{ ...w, name: "w", scriptPath: script }, ...rest])(workersFor(KIND)) : rustWorkers("w", script);
if (process.env.BENCH_FIRST_HITS === "1") workers[0].bindings = { ...workers[0].bindings, ROUTE_CACHE_TTL_MS: "0" };
const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, inspectorPort: port, logRequests: false, workers });
const url = await mf.ready;
const loop = async (n) => (await fetch(`${url}__loop?n=${n}&url=${encodeURIComponent(URL_)}`)).text();
await loop(20000);
const { send, close } = await inspector(port, /core:user:w\b/);
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 50 });
await send("Profiler.start");
const t0 = performance.now();
await loop(N);
const ms = performance.now() - t0;
const { profile } = await send("Profiler.stop");
close();
await mf.dispose();
const self = new Map();
const dt = new Map(profile.nodes.map((n) => [n.id, 0]));
for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], dt.get(profile.samples[i]) + (profile.timeDeltas[i] ?? 0));
let total = 0;
for (const n of profile.nodes) {
  const f = n.callFrame;
  const name = `${f.functionName || "(anon)"} ${f.url ? path.basename(f.url) : ""}`.trim();
  self.set(name, (self.get(name) ?? 0) + dt.get(n.id));
  total += dt.get(n.id);
}
console.log(`${N} requests in ${ms.toFixed(0)} ms (${((ms * 1000) / N).toFixed(2)} us each incl. loop); profile ${(total / 1000).toFixed(0)} ms`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 45))) {
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / N).toFixed(2).padStart(6)} us  ${name.slice(0, 150)}`);
}
