// What one strong link, and one host's shard, take in workerd (docs/strong-routes.md
// "Capacity"): the built worker (scripts/build-worker) in Miniflare, with local
// storage. A local figure, not production's: it shows where the per-object queue
// starts to cost, and that a flood on one link leaves the host's other objects free.
//
//   node bench/strong.mjs [CLICKS=5000] [IN_FLIGHT=50]
import { Miniflare } from "miniflare";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BUILT, withControl } from "../scripts/lib/two-scripts.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLICKS = Number(process.argv[2] ?? 5000);
const IN_FLIGHT = Number(process.argv[3] ?? 50);
const TOKEN = "bench-admin";

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  kvPersist: false,
  durableObjectsPersist: false,
  workers: withControl({
    name: "redirector-local",
    rootPath: ROOT,
    scriptPath: "src/entry.mjs",
    ...BUILT,
    bindings: { ENVIRONMENT: "local", ADMIN_TOKEN: TOKEN },
    kvNamespaces: ["ROUTES_KV_LOCAL"],
    durableObjects: { ROUTE_DO_LOCAL: { className: "RouteDo", useSQLite: true } },
  }, "local"),
});
await mf.ready;

const admin = (method, pathAndQuery, body) =>
  mf.dispatchFetch(`https://cap.example.com/__redirector/admin/${pathAndQuery}`, {
    method, headers: { authorization: `Bearer ${TOKEN}` }, body: body === undefined ? undefined : JSON.stringify(body),
  });

async function run(name, url, n, inFlight) {
  const times = [];
  const statuses = new Map();
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < n) {
      next += 1;
      const t = performance.now();
      const res = await mf.dispatchFetch(url, { redirect: "manual" });
      await res.arrayBuffer();
      times.push(performance.now() - t);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  console.log(`${name.padEnd(34)} ${(n / seconds).toFixed(0).padStart(6)} req/s  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  p99.9 ${q(0.999)} ms  max ${times.at(-1).toFixed(1)} ms  ${JSON.stringify(Object.fromEntries(statuses))}`);
}

await admin("PUT", "route?key=cap.example.com/plain", "https://example.com/plain");
await admin("PUT", "route?key=cap.example.com/capped", { to: "https://example.com/c", strong: true, max_clicks: 10_000_000 });
await admin("PUT", "route?key=cap.example.com/uncapped", { to: "https://example.com/u", strong: true });
for (const p of ["plain", "capped", "uncapped"]) await mf.dispatchFetch(`https://cap.example.com/${p}`, { redirect: "manual" });

console.log(`${CLICKS} requests each, ${IN_FLIGHT} in flight (workerd via Miniflare, this machine)`);
await run("ordinary link (baseline)", "https://cap.example.com/plain", CLICKS, IN_FLIGHT);
await run("strong link, no cap", "https://cap.example.com/uncapped", CLICKS, IN_FLIGHT);
await run("strong link, max_clicks (a write each)", "https://cap.example.com/capped", CLICKS, IN_FLIGHT);
// Admin writes to the same host while its capped link is flooded.
const flood = run("  flood on the capped link", "https://cap.example.com/capped", CLICKS, IN_FLIGHT);
const writes = (async () => {
  const t = performance.now();
  for (let i = 0; i < 50; i++) await admin("PUT", `route?key=cap.example.com/w${i}`, `https://example.com/w${i}`);
  console.log(`  50 admin writes to the host during the flood: ${((performance.now() - t) / 50).toFixed(1)} ms each`);
})();
await Promise.all([flood, writes]);
await mf.dispose();
