// Canary verification: runs a file of cases (request URL + headers -> expected status
// and Location) against a base URL, measures latency, and fails on any mismatch, any
// 5xx, or a p95 over the budget.
//
//   scripts/canary-verify --env prod [--base-url URL] [--version-id ID] [--budget-ms N]
//   scripts/canary-verify --cases path/to/cases.json --base-url http://127.0.0.1:8787
//
// --base-url sends every case to that address with the case's own Host (so a local
// worker or a workers.dev URL can stand in for the real domain); without it the case
// URLs are requested as written. --version-id pins a worker version with the
// Cloudflare-Workers-Version-Overrides header (during a gradual deploy).
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = argv[i].startsWith("--") && argv[i].includes("=") ? argv[i].split(/=(.*)/) : [argv[i], argv[i + 1]];
    if (!k.startsWith("--")) throw new Error(`unexpected argument ${k}`);
    args[k.slice(2)] = v;
    if (!argv[i].includes("=")) i++;
  }
  return args;
}

function request(caseUrl, base, headers) {
  const target = new URL(caseUrl);
  const via = base ? new URL(base) : target;
  const lib = via.protocol === "https:" ? https : http;
  const options = {
    host: via.hostname,
    port: via.port || (via.protocol === "https:" ? 443 : 80),
    path: target.pathname + target.search,
    method: "GET",
    headers: { host: target.host, "user-agent": "redirector-canary/1", ...headers },
    servername: base ? via.hostname : target.hostname,
    timeout: 10_000,
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = lib.request(options, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, location: res.headers.location ?? null, ms: performance.now() - started }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

export async function verify({ cases: file, base, versionId, workerName, budgetMs, repeat }) {
  const spec = JSON.parse(readFileSync(file, "utf8"));
  const budget = Number(budgetMs ?? spec.budget_p95_ms ?? 300);
  const times = [];
  const failures = [];
  const extra = versionId ? { "cloudflare-workers-version-overrides": `${workerName}="${versionId}"` } : {};
  for (const c of spec.cases) {
    for (let i = 0; i < Number(repeat ?? spec.repeat ?? 3); i++) {
      let got;
      try {
        got = await request(c.url, base, { ...(c.headers ?? {}), ...extra });
      } catch (e) {
        failures.push(`${c.name}: request failed: ${e.message}`);
        break;
      }
      times.push(got.ms);
      const want = c.expect;
      if (got.status >= 500) failures.push(`${c.name}: server error ${got.status}`);
      else if (got.status !== want.status) failures.push(`${c.name}: status ${got.status}, expected ${want.status}`);
      else if ("location" in want && got.location !== want.location) {
        failures.push(`${c.name}: Location ${got.location}, expected ${want.location}`);
      }
      if (failures.length && failures.at(-1).startsWith(`${c.name}:`)) break;
    }
  }
  times.sort((a, b) => a - b);
  const p95 = times.length ? times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)] : NaN;
  if (p95 > budget) failures.push(`p95 latency ${p95.toFixed(1)} ms is over the ${budget} ms budget`);
  return { cases: spec.cases.length, requests: times.length, p95_ms: Number(p95.toFixed(1)), budget_ms: budget, failures };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const env = args.env;
  const cases = args.cases ?? (env && path.join(ROOT, `config/canary/${env}.json`));
  if (!cases) {
    console.error("usage: scripts/canary-verify --env E | --cases FILE [--base-url URL] [--version-id ID] [--budget-ms N]");
    process.exit(2);
  }
  const envs = JSON.parse(readFileSync(path.join(ROOT, "config/environments.json"), "utf8")).envs;
  const workerName = args["worker-name"] ?? envs[env]?.worker_name;
  const result = await verify({ cases, base: args["base-url"], versionId: args["version-id"], workerName, budgetMs: args["budget-ms"], repeat: args.repeat });
  console.log(JSON.stringify(result));
  if (result.failures.length) {
    for (const f of result.failures) console.error(`canary: FAIL ${f}`);
    process.exit(1);
  }
  console.log(`canary: ok (${result.cases} cases, ${result.requests} requests, p95 ${result.p95_ms} ms <= ${result.budget_ms} ms)`);
}
