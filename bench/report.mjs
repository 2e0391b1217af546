// Prints the benchmark summary from target/bench/* and writes report.json.
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { median } from "./workers.mjs";

const dir = "target/bench";
const estimate = (id) => {
  const file = `target/criterion/${id}/new/estimates.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).mean.point_estimate : NaN;
};
const native = {};
for (const n of [1000, 100000, 1000000]) {
  native[`lookup_cold_${n}`] = estimate(`lookup_cold/${n}`);
  native[`lookup_warm_${n}`] = estimate(`lookup_warm/${n}`);
}
native.rules_1k = estimate("rules_1k");
native.handle_warm = estimate("handle_warm");

const dry = readFileSync(`${dir}/dry-run.log`, "utf8");
const upload = /Total Upload:\s*([\d.]+) KiB \/ gzip:\s*([\d.]+) KiB/.exec(dry);
const wasm = readFileSync("build/index_bg.wasm");
const size = {
  upload_kib: Number(upload?.[1]),
  upload_gzip_kib: Number(upload?.[2]),
  wasm_bytes: wasm.length,
  wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
};
const kvReads = JSON.parse(readFileSync(`${dir}/kv-reads.json`, "utf8"));
const runs = readdirSync(dir)
  .filter((f) => /^e2e-\d+\.json$/.test(f))
  .sort((x, y) => Number(x.match(/\d+/)[0]) - Number(y.match(/\d+/)[0]))
  .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, "utf8")));
const e2e = runs[runs.length - 1];
const r = e2e.results;
const KINDS = [
  ["rust", "(a) this worker"],
  ["js-kv", "(b) JS KV redirect"],
  ["js-same", "(e) JS, this worker's work"],
  ["js-kv-ryw", "(b') (b) + pin per read"],
  ["static", "(c) static JS 302"],
  ["wasm-302", "(d) smallest Rust 302"],
];
const ratios = {};
for (const w of Object.keys(r.rust)) {
  ratios[w] = {
    a_over_b: r.rust[w].rps / r["js-kv"][w].rps,
    a_over_b_ryw: r.rust[w].rps / r["js-kv-ryw"][w].rps,
    a_over_e: r["js-same"] ? r.rust[w].rps / r["js-same"][w].rps : NaN,
    a_over_c: r.rust[w].rps / r.static[w].rps,
    d_over_c: r["wasm-302"][w].rps / r.static[w].rps,
    a_over_d: r.rust[w].rps / r["wasm-302"][w].rps,
    p99_a_ms: r.rust[w].p99_ms,
    p99_b_ms: r["js-kv"][w].p99_ms,
  };
}
const perRun = runs.map((run) => Object.fromEntries(Object.keys(run.results.rust).map((w) => {
  const x = (k) => run.results[k][w];
  return [w, { a_over_b: x("rust").rps / x("js-kv").rps, a_over_c: x("rust").rps / x("static").rps, p99_a_ms: x("rust").p99_ms, p99_b_ms: x("js-kv").p99_ms }];
})));
const isolate = existsSync(`${dir}/isolate.json`) ? JSON.parse(readFileSync(`${dir}/isolate.json`, "utf8")) : null;
const tail = existsSync(`${dir}/tail.json`) ? JSON.parse(readFileSync(`${dir}/tail.json`, "utf8")) : null;
const check = existsSync(`${dir}/check.json`) ? JSON.parse(readFileSync(`${dir}/check.json`, "utf8")) : null;
const report = { native_ns: native, size, kv_reads: kvReads, e2e, ratios, runs: perRun, isolate, tail, check };
writeFileSync(`${dir}/report.json`, JSON.stringify(report, null, 2));

const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
console.log("\n## Native core (criterion, ns per lookup)");
for (const [k, v] of Object.entries(native)) console.log(`  ${k.padEnd(24)} ${f(v, 1)}`);
const front = e2e.front === "entry" ? "through Miniflare's entry worker" : "each worker on its own workerd socket";
console.log(`\n## End to end (workerd via Miniflare, ${front}; ${e2e.links} links, ${e2e.connections} connections, ${e2e.seconds} s per run)`);
console.log("  req/s: wrk, closed loop; p50/p99: oha at the fixed offered rate shown (half of (b)'s req/s)");
console.log("  workload  worker                   req/s   rate   p50 ms  p99 ms");
for (const w of Object.keys(r.rust)) {
  for (const [k, label] of KINDS) {
    const x = r[k]?.[w];
    if (!x) continue;
    console.log(`  ${w.padEnd(9)} ${label.padEnd(22)} ${f(x.rps).padStart(7)} ${f(x.rate).padStart(6)} ${f(x.p50_ms, 2).padStart(8)} ${f(x.p99_ms, 1).padStart(7)}`);
  }
  const q = ratios[w];
  console.log(`  ${w.padEnd(9)} (a)/(b) = ${f(q.a_over_b, 2)}   (a)/(e) = ${f(q.a_over_e, 2)}   (a)/(b') = ${f(q.a_over_b_ryw, 2)}   (a)/(c) = ${f(q.a_over_c, 2)}   (d)/(c) = ${f(q.d_over_c, 2)}   (a)/(d) = ${f(q.a_over_d, 2)}`);
}
if (runs.length > 1) {
  console.log(`\n## ${runs.length} runs (the table above is the last)`);
  for (const w of Object.keys(perRun[0])) {
    const each = (k) => perRun.map((r) => f(r[w][k], 2)).join(" ");
    console.log(`  ${w.padEnd(9)} (a)/(b): ${each("a_over_b")} (median ${f(median(perRun.map((r) => r[w].a_over_b)), 2)})   (a)/(c): ${each("a_over_c")}`);
    console.log(`  ${w.padEnd(9)} p99 (a) vs (b) ms: ${perRun.map((r) => `${f(r[w].p99_a_ms)}/${f(r[w].p99_b_ms)}`).join(" ")}`);
  }
}
const st = e2e.startup_ms;
console.log(`\n## Fresh isolate: first response ${f(st.rust)} ms (this worker), ${f(st["wasm-302"])} ms (smallest Rust), ${f(st.static)} ms (static JS); Miniflare start included`);
console.log(`## Size: upload ${size.upload_kib} KiB / gzip ${size.upload_gzip_kib} KiB; wasm ${size.wasm_bytes} B / gzip ${size.wasm_gzip_bytes} B`);
console.log(`## KV reads per request: ${JSON.stringify(kvReads)}`);
if (isolate) {
  const u = isolate.us_per_request;
  console.log(`## In-isolate cost per request, no HTTP (median of ${isolate.rounds} rounds of ${isolate.n}): ` +
    `(a) repeat hit ${f(u.a_repeat_hit, 1)} us, (d) ${f(u.d_smallest_rust, 1)} us, (c) ${f(u.c_static_js, 1)} us`);
}
if (tail) {
  console.log(`\n## Tail latency and stalls (bench/tail.mjs: ${tail.links} links, ${tail.hot} hot at 90 %, ${tail.connections} connections, ${tail.seconds} s; workerd on one core, client on the other)`);
  console.log("  closed loop = saturation (Little's law: connections vs throughput x mean latency); open = fixed offered rate, latency from when each request was due");
  console.log("  worker      mode    req/s   p50 ms   p99 ms p99.9 ms   max ms  stalls/min  little");
  const names = { rust: "(a) this", "js-kv": "(b) JS KV", "js-kv-ryw": "(b') +pin", static: "(c) static", "wasm-302": "(d) Rust 302", "js-same": "(e) JS same" };
  for (const [k, v] of Object.entries(tail.results)) {
    for (const mode of ["closed", "open"]) {
      const x = v[mode];
      const little = x.little ? `${x.little.connections}/${f(x.little.throughput_x_mean, 1)}` : "";
      console.log(`  ${(names[k] ?? k).padEnd(11)} ${mode.padEnd(6)} ${f(x.rps).padStart(6)} ${f(x.p50_ms, 1).padStart(8)} ${f(x.p99_ms, 1).padStart(8)} ${f(x.p999_ms, 1).padStart(8)} ${f(x.max_ms, 1).padStart(8)} ${f(x.stalls_per_min, 1).padStart(11)}  ${little}`);
    }
  }
}
if (check) {
  console.log(`\n## redirector check, 1 000 000 links + 1 000 rules (target < 5 s): median ${f(check.median_s, 2)} s of ${check.runs} (${check.seconds.map((x) => f(x, 2)).join(", ")}); ${check.summary}`);
}
