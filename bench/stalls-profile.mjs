// Finds what stalls the process (docs/performance.md "Tail latency"): loads this
// worker as bench/tail.mjs does (closed loop, BENCH_CONNECTIONS connections, 90 % over
// BENCH_HOT links) while it samples, through workerd's inspector, the isolate's JS
// heap every 50 ms and a CPU profile, and workerd's resident memory from /proc. Then
// it lines up the stalls (>= 4 requests over 100 ms ending within 20 ms) with what
// the isolate was doing just before each: garbage collection, wasm, JS, idle.
//
//   BENCH_LINKS=10000 BENCH_SECONDS=15 node bench/stalls-profile.mjs
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Pool } from "undici";
import { CF, CF_HEADER } from "./cf.mjs";
import { common, inspector, KV_ID, LINKS, rustWorkers, STATE } from "./workers.mjs";
import { seed } from "./seed.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const HOT = Number(process.env.BENCH_HOT ?? 100);
const INSPECTOR = 9239;
const CF_JSON = JSON.stringify(CF);

await seed();
// BENCH_KIND=js-same profiles the JavaScript baseline (e) instead.
const ws = process.env.BENCH_KIND === "js-same"
  ? [{ ...common, name: "a", scriptPath: "bench/js-same.js", kvNamespaces: { ROUTES: KV_ID }, wrappedBindings: { CLICKS: "discard-clicks" } },
     { name: "discard-clicks", modules: true, script: "export default function () { return { writeDataPoint() {} }; }" }]
  : rustWorkers("a", process.env.BENCH_ENTRY ?? "src/entry.mjs");
ws[0].unsafeDirectSockets = [{ host: "127.0.0.1", port: 0 }];
if (process.env.BENCH_VARS) ws[0].bindings = { ...ws[0].bindings, ...JSON.parse(process.env.BENCH_VARS) };
const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, logRequests: false, inspectorPort: INSPECTOR, workers: ws });
await mf.ready;
const url = await mf.unsafeGetDirectURL("a");
const pid = execFileSync("pgrep", ["-f", "workerd serve"], { encoding: "utf8" }).trim().split("\n")[0];
try {
  execFileSync("taskset", ["-a", "-p", "1", pid], { stdio: "ignore" });
  execFileSync("taskset", ["-a", "-p", "2", String(process.pid)], { stdio: "ignore" });
} catch {}

// The inspector: one target per worker; this one's is `core:user:a`.
const { send } = await inspector(INSPECTOR, /core:user:a\b/);

const pool = new Pool(url.origin, { connections: 256, pipelining: 1 });
const pick = (n) => Math.floor(Math.random() * n);
const nextPath = () => `/l/${HOT > 0 && Math.random() < 0.9 ? pick(HOT) : pick(LINKS)}?utm_source=bench`;
const one = async () => {
  const { body } = await pool.request({ path: nextPath(), method: "GET", headers: { [CF_HEADER]: CF_JSON } });
  await body.dump();
};
for (let i = 0; i < 2000; i++) await one();

const PROFILE = process.env.BENCH_PROFILE !== "0";
// BENCH_HEAP=1: where the garbage that reaches the old generation comes from (V8's
// sampling heap profiler, objects collected by major GCs included).
const HEAP = process.env.BENCH_HEAP === "1";
if (HEAP) {
  await send("HeapProfiler.enable");
  await send("HeapProfiler.startSampling", { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
}
if (PROFILE) {
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 500 });
  await send("Profiler.start");
}
const wallStart = performance.now();
const heap = [];
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sampler = setInterval(async () => {
  const t = performance.now() - wallStart;
  const h = await send("Runtime.getHeapUsage");
  heap.push({ t, used: h.usedSize, total: h.totalSize, rss_kb: rss() });
}, 50);

const samples = [];
const until = performance.now() + SECONDS * 1000;
await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
  while (performance.now() < until) {
    const t = performance.now();
    await one();
    const end = performance.now();
    samples.push({ ms: end - t, end: end - wallStart });
  }
}));
clearInterval(sampler);
if (HEAP) {
  const { profile: hp } = await send("HeapProfiler.stopSampling");
  const sites = [];
  const walk = (node, stack) => {
    const frame = `${node.callFrame.functionName || "(anon)"}@${(node.callFrame.url || "").split("/").pop()}:${node.callFrame.lineNumber}`;
    const here = [...stack, frame];
    if (node.selfSize > 0) sites.push({ bytes: node.selfSize, stack: here.slice(-5).join(" < ") });
    for (const c of node.children) walk(c, here);
  };
  walk(hp.head, []);
  sites.sort((a, b) => b.bytes - a.bytes);
  const total = sites.reduce((n, x) => n + x.bytes, 0);
  console.error(`sampled ${(total / 1e6).toFixed(1)} MB reaching major GC or alive`);
  for (const x of sites.slice(0, 25)) console.error(`${(x.bytes / 1e6).toFixed(2).padStart(7)} MB  ${x.stack}`);
}
const { profile } = PROFILE ? await send("Profiler.stop") : { profile: { nodes: [{ id: 1, callFrame: { functionName: "(idle)" } }], samples: [], timeDeltas: [], startTime: 0 } };

// Stalls.
const slow = samples.filter((s) => s.ms > 100).sort((a, b) => a.end - b.end);
const stalls = [];
for (let i = 0; i < slow.length; ) {
  let j = i;
  while (j + 1 < slow.length && slow[j + 1].end - slow[i].end <= 20) j++;
  if (j - i + 1 >= 4) stalls.push({ at: slow[i].end, n: j - i + 1, waited: Math.max(...slow.slice(i, j + 1).map((s) => s.ms)) });
  i = j + 1;
}

// What the isolate did in the window before each stall ended, from the CPU profile.
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const category = (nodeId) => {
  const f = nodes.get(nodeId).callFrame;
  if (f.functionName === "(garbage collector)") return "gc";
  if (f.functionName === "(idle)") return "idle";
  if (f.functionName === "(program)") return "program";
  if (f.url?.includes("wasm") || f.functionName.startsWith("$") || /wasm-function/.test(f.functionName)) return "wasm";
  return "js";
};
let t = profile.startTime;
const timeline = profile.samples.map((s, i) => {
  t += profile.timeDeltas[i];
  return { t: (t - profile.startTime) / 1000, what: category(s), fn: nodes.get(s).callFrame.functionName };
});
const window = (from, to) => {
  const by = {};
  const fns = {};
  const inWin = timeline.filter((x) => x.t >= from && x.t < to);
  for (let i = 1; i < inWin.length; i++) {
    const d = inWin[i].t - inWin[i - 1].t;
    by[inWin[i].what] = (by[inWin[i].what] ?? 0) + d;
    if (inWin[i].what !== "idle") fns[inWin[i].fn] = (fns[inWin[i].fn] ?? 0) + d;
  }
  const top = Object.entries(fns).sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.BENCH_TOP ?? 6)).map(([f, ms]) => `${f || "(anon)"} ${ms.toFixed(1)}`);
  const gaps = inWin.slice(1).map((x, i) => x.t - inWin[i].t).sort((a, b) => b - a).slice(0, 3).map((g) => g.toFixed(1));
  return { ms: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, Math.round(v)])), top, largest_sample_gaps_ms: gaps };
};
const report = {
  requests: samples.length,
  stalls: stalls.map((s) => ({ ...s, before: window(s.at - s.waited, s.at), heap: heap.filter((h) => h.t >= s.at - s.waited - 100 && h.t <= s.at + 50).map((h) => `${(h.used / 1e6).toFixed(1)}/${(h.total / 1e6).toFixed(1)}MB rss ${(h.rss_kb / 1e3).toFixed(0)}MB`) })),
  whole_run: window(0, SECONDS * 1000),
  heap_first: heap[0],
  heap_last: heap.at(-1),
};
writeFileSync("target/bench/stalls-profile.json", JSON.stringify({ report, heap }, null, 2));
console.log(JSON.stringify(report, null, 2));
socket.close();
await pool.close();
await mf.dispose();
