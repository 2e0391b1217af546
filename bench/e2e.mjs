// End-to-end benchmark in workerd, Miniflare driven directly (no wrangler proxy).
// Front (BENCH_FRONT): "direct" (default) serves each worker on its own workerd
// socket (Miniflare's unsafeDirectSockets), as the platform serves a worker; "entry"
// goes through Miniflare's entry worker, a JS worker in front of every request that
// costs more CPU than a whole static worker (docs/performance.md). Every request
// carries the same `cf` blob (bench/cf.mjs) in the header workerd parses it from.
// Workers: (a) the built Rust worker, (b) bench/kv-redirect.js, (b') the same plus a
// pin lookup per KV read (bench/kv-redirect-ryw.js), (c) bench/static-302.js, (d)
// bench/wasm-302 (the smallest workers-rs worker: the floor of any Rust worker), (e)
// bench/js-same.js (a JS worker doing this worker's work: KV read with cacheTtl,
// request.cf, the click).
// Local KV (persisted under target/bench) is seeded once with BENCH_LINKS links. For
// each worker in turn and each workload:
//   * throughput: wrk, closed loop, BENCH_CONNECTIONS connections (wrk's latency
//     figures are not used: on this machine they break Little's law, see
//     docs/performance.md);
//   * latency: oha at one fixed offered rate for every worker (half of what (b)
//     sustained on that workload in this run), with coordinated-omission correction,
//     so p50/p99 compare service times at equal load, not queue lengths.
// Prints JSON.
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { CF, CF_HEADER } from "./cf.mjs";
import { LINKS, ROOT, STATE, workersFor } from "./workers.mjs";
import { seed } from "./seed.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FRONT = process.env.BENCH_FRONT ?? "direct";
if (!["direct", "entry"].includes(FRONT)) throw new Error(`BENCH_FRONT: direct or entry, not ${FRONT}`);
const CF_JSON = JSON.stringify(CF);

const worker = workersFor;

async function startWorker(kind, front = FRONT) {
  const workers = worker(kind);
  if (front === "direct") workers[0].unsafeDirectSockets = [{ host: "127.0.0.1", port: 0 }];
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, logRequests: false, workers });
  const entry = await mf.ready;
  const url = front === "direct" ? await mf.unsafeGetDirectURL(workers[0].name) : entry;
  return { mf, url };
}

function wrk(url, hot) {
  const out = execFileSync(
    "wrk",
    ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "-s", path.join(ROOT, "bench/paths.lua"), url],
    { env: { ...process.env, BENCH_LINKS: String(LINKS), BENCH_HOT: String(hot), BENCH_CF: CF_JSON }, encoding: "utf8" },
  );
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]), errors: non2xx };
}

// The same mix as bench/paths.lua, as a URL list oha draws from at random.
function urlFile(url, hot) {
  const file = path.join(ROOT, `target/bench/urls-${hot}.txt`);
  const lines = [];
  const pick = (n) => Math.floor(Math.random() * n);
  for (let i = 0; i < 100_000; i++) {
    const n = hot > 0 && Math.random() < 0.9 ? pick(hot) : pick(LINKS);
    lines.push(new URL(`/l/${n}?utm_source=bench`, url).href);
  }
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

function oha(url, hot, rate) {
  const out = execFileSync(
    "oha",
    ["-q", String(rate), "--latency-correction", "-z", `${SECONDS}s`, "-c", String(CONNECTIONS), "--no-tui",
      "--output-format", "json", "--redirect", "0", "-H", `${CF_HEADER}: ${CF_JSON}`, "--urls-from-file", urlFile(url, hot)],
    { encoding: "utf8", maxBuffer: 1 << 28 },
  );
  const r = JSON.parse(out);
  const codes = r.statusCodeDistribution ?? {};
  const errors = Object.entries(codes).filter(([code]) => code !== "302").reduce((n, [, c]) => n + c, 0);
  return { rate, p50_ms: r.latencyPercentiles.p50 * 1000, p99_ms: r.latencyPercentiles.p99 * 1000, errors };
}

async function startupMs(kind) {
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const { mf, url } = await startWorker(kind, "entry"); // as measured before: Miniflare start, first response
    await (await fetch(new URL("/l/1", url), { redirect: "manual" })).arrayBuffer();
    samples.push(performance.now() - t0);
    await mf.dispose();
  }
  return samples.sort((x, y) => x - y)[1];
}

await seed();
const workloads = Object.fromEntries(
  Object.entries({ skewed: 1000, uniform: 0 }).filter(([name]) => !process.env.BENCH_WORKLOADS || process.env.BENCH_WORKLOADS.split(",").includes(name)),
);
// (b) first: its throughput sets the offered rate of the latency runs.
const kinds = (process.env.BENCH_KINDS ?? "js-kv,rust,js-same,js-kv-ryw,static,wasm-302").split(",");
const rates = {};
const results = {};
for (const kind of kinds) {
  const { mf, url } = await startWorker(kind);
  // check it answers, and warm up
  const probe = await fetch(new URL("/l/42?x=1", url), { redirect: "manual", headers: { [CF_HEADER]: CF_JSON } });
  if (probe.status !== 302) throw new Error(`${kind}: probe answered ${probe.status}`);
  wrk(url, 1000);
  results[kind] = {};
  for (const [name, hot] of Object.entries(workloads)) {
    const throughput = wrk(url, hot);
    rates[name] ??= Math.max(100, Math.round(throughput.rps / 2 / 100) * 100);
    const latency = oha(url, hot, rates[name]);
    results[kind][name] = { rps: throughput.rps, errors: throughput.errors + latency.errors, rate: latency.rate, p50_ms: latency.p50_ms, p99_ms: latency.p99_ms };
  }
  await mf.dispose();
}
const startup = process.env.BENCH_KINDS
  ? {}
  : { rust: await startupMs("rust"), static: await startupMs("static"), "wasm-302": await startupMs("wasm-302") };
console.log(JSON.stringify({ front: FRONT, links: LINKS, seconds: SECONDS, connections: CONNECTIONS, rates, results, startup_ms: startup }, null, 2));
