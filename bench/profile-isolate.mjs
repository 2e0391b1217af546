// CPU profile of the in-isolate repeat-hit loop (bench/isolate.mjs's case (a)),
// through workerd's inspector: self time per function, heaviest first.
//   BUILD_DIR=target/prof-build (a build with wasm names: worker-build without the
//   strip in scripts/build-worker) node bench/profile-isolate.mjs
import { Miniflare } from "miniflare";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { WebSocket } from "undici";
import { CF } from "./cf.mjs";
import { ROOT, rustWorkers, STATE } from "./workers.mjs";

const N = Number(process.env.BENCH_LOOP_N ?? 200000);
const BUILD = process.env.PROFILE_ENTRY ?? "src/entry.mjs";
const URL_ = process.env.PROFILE_URL ?? "http://127.0.0.1/l/7?utm_source=bench";
const GEN = path.join(ROOT, "target/bench/isolate");
mkdirSync(GEN, { recursive: true });
const file = path.join(GEN, "profile.mjs");
const imp = JSON.stringify(path.relative(GEN, path.join(ROOT, BUILD)));
writeFileSync(file, `import target from ${imp};
export { RouteDo } from ${imp};
const CF = ${JSON.stringify(CF)};
export default {
  async fetch(request, env, ctx) {
    const u = new URL(request.url);
    if (u.pathname !== "/__loop") return target.fetch(request, env, ctx);
    const n = Number(u.searchParams.get("n")), to = u.searchParams.get("url");
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const res = await target.fetch(new Request(to, { cf: CF, headers: { "user-agent": "bench/1.0" } }), env, ctx);
      if (res.status < 400) ok++;
    }
    return new Response(String(ok));
  },
};
`);
const port = 9500 + Math.floor(Math.random() * 400);
const mf = new Miniflare({ host: "127.0.0.1", port: 0, kvPersist: STATE, inspectorPort: port, logRequests: false, workers: rustWorkers("w", path.relative(ROOT, file)) });
const url = await mf.ready;
const loop = async (n) => (await fetch(`${url}__loop?n=${n}&url=${encodeURIComponent(URL_)}`)).text();
await loop(20000);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const t = targets.find((x) => /\bw\b|core:user:w/.test(`${x.title} ${x.url}`)) ?? targets[0];
const ws = new WebSocket(t.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener("open", r, { once: true }));
let id = 0;
const waiting = new Map();
ws.addEventListener("message", (e) => { const m = JSON.parse(e.data); if (waiting.has(m.id)) { waiting.get(m.id)(m.result); waiting.delete(m.id); } });
const send = (method, params = {}) => new Promise((r) => { waiting.set(++id, r); ws.send(JSON.stringify({ id, method, params })); });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 50 });
await send("Profiler.start");
const t0 = performance.now();
await loop(N);
const ms = performance.now() - t0;
const { profile } = await send("Profiler.stop");
ws.close();
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
