// Times `redirector check` (release build) on the generated route set of
// bench/gen-routes.mjs: wall time of the whole command, median of BENCH_CHECK_RUNS
// (3). Writes JSON to stdout (scripts/bench step 7, docs/performance.md).
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { median } from "./workers.mjs";

const dir = process.argv[2] ?? "target/bench/routes";
const runs = Number(process.env.BENCH_CHECK_RUNS ?? 3);
const seconds = [];
let last;
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  last = spawnSync("target/release/redirector", ["check", dir], { encoding: "utf8", maxBuffer: 1 << 26 });
  seconds.push((performance.now() - t) / 1000);
  if (last.status !== 0) {
    console.error(last.stderr.slice(-2000));
    process.exit(1);
  }
}
const summary = last.stderr.trim().split("\n").at(-1);
console.log(JSON.stringify({ dir, runs, seconds, median_s: median(seconds), summary }, null, 2));
