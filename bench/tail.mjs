// Tail latency and stalls, end to end in workerd (docs/performance.md "Tail latency").
// Each worker is served by Miniflare on its own workerd socket, workerd pinned to one
// core and this client to the other; local KV seeded with BENCH_LINKS links; 90 % of
// requests over BENCH_HOT hot links, 10 % uniform (BENCH_HOT=0: all uniform).
//
// The client is this process: BENCH_CONNECTIONS keep-alive connections, every request
// timed from when it was due. Two modes per worker:
//   * closed loop (saturation): each connection sends its next request when the last
//     answer arrives. Little's law (connections = throughput x mean latency) is
//     checked and reported: these figures are consistent, wrk's were not.
//   * open loop at a fixed offered rate (BENCH_RATE, default half of what (b) sustained
//     closed-loop): requests are due on a fixed schedule, latency counts from when a
//     request was due (no coordinated omission).
// A stall: four or more requests that each waited over 100 ms, finishing within 20 ms
// of each other. Reported per minute, apart from those during which this client
// itself was paused by its own garbage collector for 20 ms or more (those are the
// client's, not the worker's: node's GC events are recorded alongside).
//
//   BENCH_KINDS=rust,js-kv,js-same BENCH_SECONDS=20 node bench/tail.mjs
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { Pool } from "undici";
import { CF_HEADER, CF } from "./cf.mjs";
import { LINKS, STATE, workersFor } from "./workers.mjs";
import { seed } from "./seed.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const HOT = Number(process.env.BENCH_HOT ?? 100);
const CF_JSON = JSON.stringify(CF);

/** Pin every thread of workerd to CPU 0 and this process to CPU 1 (when taskset exists). */
function pin() {
  try {
    const pids = execFileSync("pgrep", ["-f", "workerd serve"], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    for (const pid of pids) execFileSync("taskset", ["-a", "-p", "1", pid], { stdio: "ignore" });
    execFileSync("taskset", ["-a", "-p", "2", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The client's own GC pauses (node), as [start, end] in performance.now() time. */
const clientGc = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.duration >= 20) clientGc.push([e.startTime, e.startTime + e.duration]);
}).observe({ entryTypes: ["gc"] });

const pick = (n) => Math.floor(Math.random() * n);
const nextPath = () => `/l/${HOT > 0 && Math.random() < 0.9 ? pick(HOT) : pick(LINKS)}?utm_source=bench`;

/** One request; its status, or 0 when the connection failed (counted as an error). */
async function one(pool, path) {
  try {
    const { statusCode, body } = await pool.request({ path, method: "GET", headers: { [CF_HEADER]: CF_JSON } });
    await body.dump();
    return statusCode;
  } catch {
    return 0;
  }
}

function summary(samples, seconds, connections) {
  const lat = samples.map((s) => s.ms).sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  const rps = samples.length / seconds;
  // Stalls: runs of >= 4 slow (> 100 ms) requests ending within 20 ms of each other.
  const slowEnds = samples.filter((s) => s.ms > 100).map((s) => s.end).sort((a, b) => a - b);
  let stalls = 0;
  let clientStalls = 0;
  for (let i = 0; i < slowEnds.length; ) {
    let j = i;
    while (j + 1 < slowEnds.length && slowEnds[j + 1] - slowEnds[i] <= 20) j++;
    if (j - i + 1 >= 4) {
      const end = slowEnds[i];
      if (clientGc.some(([a, b]) => b >= end - 100 && a <= end)) clientStalls++;
      else stalls++;
    }
    i = j + 1;
  }
  const errors = samples.filter((s) => s.status !== 302).length;
  // A worker that answers something else (a 404 for a key it did not find) measures
  // other work: say so, with the statuses seen.
  if (errors > samples.length / 100) {
    const statuses = [...new Set(samples.filter((s) => s.status !== 302).map((s) => s.status))];
    console.error(`warning: ${errors} of ${samples.length} requests not answered 302 (statuses ${statuses.join(", ")})`);
  }
  const out = { rps: Math.round(rps), p50_ms: q(0.5), p99_ms: q(0.99), p999_ms: q(0.999), max_ms: lat.at(-1), mean_ms: mean, stalls_per_min: (stalls * 60) / seconds, client_gc_stalls_per_min: (clientStalls * 60) / seconds, errors };
  if (connections) out.little = { connections, throughput_x_mean: (rps * mean) / 1000 };
  return out;
}

async function closedLoop(pool) {
  const samples = [];
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const status = await one(pool, nextPath());
      const end = performance.now();
      samples.push({ ms: end - t, end, status });
    }
  }));
  return summary(samples, SECONDS, CONNECTIONS);
}

async function openLoop(pool, rate) {
  const samples = [];
  const start = performance.now() + 50;
  const total = Math.round(rate * SECONDS);
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(one(pool, nextPath()).then((status) => {
      const end = performance.now();
      samples.push({ ms: end - due, end, status });
    }));
  }
  await Promise.all(pending);
  const out = summary(samples, SECONDS);
  out.rate = rate;
  return out;
}

await seed();
const kinds = (process.env.BENCH_KINDS ?? "js-kv,js-same,rust").split(",");
let rate = Number(process.env.BENCH_RATE ?? 0);
const results = {};
for (const kind of kinds) {
  const ws = workersFor(kind);
  ws[0].unsafeDirectSockets = [{ host: "127.0.0.1", port: 0 }];
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, logRequests: false, workers: ws });
  await mf.ready;
  const url = await mf.unsafeGetDirectURL(ws[0].name);
  const pinned = pin();
  const pool = new Pool(url.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
  for (let i = 0; i < 2000; i++) await one(pool, nextPath()); // warm up
  const closed = await closedLoop(pool);
  rate ||= Math.max(100, Math.round(closed.rps / 2 / 100) * 100);
  const open = await openLoop(pool, rate);
  results[kind] = { pinned, closed, open };
  await pool.close();
  await mf.dispose();
}
console.log(JSON.stringify({ links: LINKS, hot: HOT, seconds: SECONDS, connections: CONNECTIONS, results }, null, 2));
