// scripts/promote's online steps against a local stand-in of the Cloudflare API
// (tests/integration/cf-standin.mjs): pre-flight pass and fail paths, a promotion
// killed mid-canary rolls back, and the KPI gate on a failing canary, a healthy
// one, and one with too little traffic. wrangler's `versions upload` is
// tests/integration/fake-wrangler.mjs, which uploads through the same stand-in and
// writes wrangler's documented output entry.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startStandIn } from "./cf-standin.mjs";
import { credentials } from "../../scripts/lib/cf-api.mjs";
import { onlineSteps } from "../../scripts/promote.mjs";
import { tlsProblems, judge } from "../../scripts/lib/rollout.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RELEASE = "1111111111111111111111111111111111111111";
const STABLE = "0000000000000000000000000000000000000000";
let api;

before(async () => {
  api = await startStandIn();
  Object.assign(process.env, api.env, { WRANGLER: path.join(ROOT, "tests/integration/fake-wrangler.mjs"), REDIRECTOR_RELEASE: RELEASE });
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
  api.state.sql = () => [];
});

/** A fake clock: sleeping moves it on, so a 30-minute deadline takes no time. */
function io(logs) {
  let t = Date.parse("2026-11-30T12:00:00Z");
  return {
    creds: credentials(process.env),
    step: (s) => logs.push(`step ${s}`),
    log: (s) => logs.push(s),
    sleep: async (ms) => void (t += Math.max(ms, 1000)),
    now: () => t,
    verify: async () => logs.push("verified"),
  };
}

/** Analytics Engine rows for the KPI query: per release { requests, errors, p95_ms }. */
function kpiRows(byRelease) {
  return (sql) => (/GROUP BY release/.test(sql) ? Object.entries(byRelease).map(([release, x]) => ({ release, requests: String(x.requests), errors: String(x.errors), p95_ms: x.p95_ms })) : []);
}

test("a healthy canary: split, verify, KPI gate against stable, full rollout", async () => {
  const stable = api.seedStable("redirector-staging", STABLE);
  api.state.sql = kpiRows({ [RELEASE]: { requests: 900, errors: 0, p95_ms: 3 }, [STABLE]: { requests: 9000, errors: 2, p95_ms: 3 } });
  const logs = [];
  assert.equal(await onlineSteps({ env: "staging", percent: 20 }, io(logs)), 0, logs.join("\n"));
  const deployments = api.state.scripts["redirector-staging"].deployments.slice(-2);
  const fresh = deployments[1].versions[0].version_id;
  assert.deepEqual(deployments[0].versions, [{ version_id: fresh, percentage: 20 }, { version_id: stable, percentage: 80 }]);
  assert.deepEqual(deployments[1].versions, [{ version_id: fresh, percentage: 100 }]);
  // The control script went out whole, before the edge's version was uploaded.
  const control = api.state.scripts["redirector-control-staging"];
  assert.equal(control.deployments.at(-1).versions[0].percentage, 100);
  const calls = api.requests.map((r) => r.path);
  const controlAt = calls.findIndex((c) => c.includes("/scripts/redirector-control-staging/versions"));
  const edgeAt = calls.findIndex((c) => c.includes("/scripts/redirector-staging/versions") && !c.includes("/versions/"));
  assert.ok(controlAt >= 0 && controlAt < edgeAt, `control first: ${calls.join(", ")}`);
  assert.ok(logs.includes("verified"));
  const kpi = api.requests.find((r) => /GROUP BY release/.test(r.body));
  assert.match(kpi.body, /blob11 IN \('1111111111111111111111111111111111111111', '0000000000000000000000000000000000000000'\)/, "canary and stable, same window");
  assert.match(kpi.body, /SUM\(_sample_interval\) AS requests/);
  assert.match(kpi.body, /quantileWeighted\(0\.95\)\(double2, _sample_interval\)/);
});

test("a failing canary: the KPI gate rolls back to the stable version", async () => {
  api.seedStable("redirector-staging", STABLE);
  const stable = api.latest("redirector-staging").versions[0].version_id;
  api.state.sql = kpiRows({ [RELEASE]: { requests: 800, errors: 40, p95_ms: 3 }, [STABLE]: { requests: 8000, errors: 4, p95_ms: 3 } });
  const logs = [];
  assert.equal(await onlineSteps({ env: "staging", percent: 10 }, io(logs)), 1);
  assert.deepEqual(api.latest("redirector-staging").versions, [{ version_id: stable, percentage: 100 }]);
  assert.ok(logs.some((l) => /^ROLLBACK: KPI gate: .*canary 5xx share/.test(l)), logs.join("\n"));
});

test("too little traffic: the gate waits until the deadline, then passes only on zero canary 5xx", async () => {
  api.seedStable("redirector-staging", STABLE);
  api.state.sql = kpiRows({ [RELEASE]: { requests: 40, errors: 0, p95_ms: 2 }, [STABLE]: { requests: 400, errors: 0, p95_ms: 2 } });
  let logs = [];
  assert.equal(await onlineSteps({ env: "staging", percent: 10 }, io(logs)), 0, logs.join("\n"));
  const waits = logs.filter((l) => /^KPI wait: .*fewer than 500 canary requests/.test(l)).length;
  assert.equal(waits, 30, "polled every 60 s until the 30-minute deadline");
  assert.ok(logs.some((l) => /^KPI pass: .*low traffic at the deadline \(40 < 500\), and no canary 5xx/.test(l)));
  api.state.sql = kpiRows({ [RELEASE]: { requests: 40, errors: 1, p95_ms: 2 }, [STABLE]: { requests: 400, errors: 0, p95_ms: 2 } });
  logs = [];
  assert.equal(await onlineSteps({ env: "staging", percent: 10 }, io(logs)), 1);
  assert.ok(logs.some((l) => /^ROLLBACK: KPI gate: .*low traffic at the deadline, and the canary answered 1 5xx/.test(l)));
});

test("regression: a promotion killed mid-canary (SIGTERM, as a cancelled CI job) rolls back", async () => {
  const stable = api.seedStable("redirector-staging", STABLE);
  const child = spawn("node", [path.join(ROOT, "tests/integration/promote-entry.mjs"), "--env", "staging", "--percent", "25"], { cwd: ROOT, env: process.env });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (out += c));
  // Wait until the canary split is live (and the gate is waiting for traffic).
  for (let i = 0; i < 200 && !/KPI wait/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(api.latest("redirector-staging").versions.length, 2, `canary split live:\n${out}`);
  child.kill("SIGTERM");
  const code = await new Promise((resolve) => child.on("close", resolve));
  assert.equal(code, 130, out);
  assert.match(out, /ROLLBACK: promotion interrupted \(SIGTERM\)/);
  assert.deepEqual(api.latest("redirector-staging").versions, [{ version_id: stable, percentage: 100 }], "no canary split left deployed");
});

test("a failed upload stops before any split; a rollback that fails says so loudly (exit 3)", async () => {
  api.seedStable("redirector-staging", STABLE);
  const before = api.state.scripts["redirector-staging"].deployments.length;
  // The edge's upload fails (the control script went out), then the control's deploy.
  for (const [fail, message] of [["upload", /wrangler versions upload .* failed/], ["all", /wrangler deploy -c wrangler.control.toml --env staging failed/]]) {
    process.env.FAKE_WRANGLER_FAIL = fail;
    try {
      await assert.rejects(onlineSteps({ env: "staging", percent: 10 }, io([])), message);
    } finally {
      delete process.env.FAKE_WRANGLER_FAIL;
    }
    assert.equal(api.state.scripts["redirector-staging"].deployments.length, before, "nothing deployed");
  }
  // A canary that fails, and an API that refuses the rollback.
  api.state.sql = kpiRows({ [RELEASE]: { requests: 800, errors: 80, p95_ms: 3 }, [STABLE]: { requests: 8000, errors: 0, p95_ms: 3 } });
  const logs = [];
  const ioBroken = io(logs);
  const realLog = ioBroken.log;
  ioBroken.log = (s) => {
    realLog(s);
    if (s.startsWith("ROLLBACK:")) process.env.CLOUDFLARE_API_TOKEN_BROKEN = "1";
  };
  ioBroken.creds = { ...ioBroken.creds };
  const proxy = new Proxy(ioBroken.creds, { get: (t, k) => (k === "token" && process.env.CLOUDFLARE_API_TOKEN_BROKEN ? "test-revoked" : t[k]) });
  ioBroken.creds = proxy;
  const errors = [];
  const realError = console.error;
  console.error = (s) => errors.push(s);
  try {
    assert.equal(await onlineSteps({ env: "staging", percent: 10 }, ioBroken), 3);
  } finally {
    console.error = realError;
    delete process.env.CLOUDFLARE_API_TOKEN_BROKEN;
  }
  assert.match(errors.join("\n"), /ROLLBACK FAILED: .*401[\s\S]*wrangler versions deploy .*@100% --env staging -y/);
});

test("pre-flight on prod: error budget and TLS pass, or fail with the reason; skipping is explicit and logged", async () => {
  api.seedStable("redirector-prod", STABLE);
  const zone = "0000000000000000000000000000f002";
  const healthy = kpiRows({ [RELEASE]: { requests: 900, errors: 0, p95_ms: 3 }, [STABLE]: { requests: 9000, errors: 0, p95_ms: 3 } });
  const budget = (requests, errors) => (sql) => (/GROUP BY release/.test(sql) ? healthy(sql) : [{ requests: String(requests), errors: String(errors) }]);
  api.state.zones[zone] = { hostnames: [{ id: "h1", hostname: "shop.seller.example", status: "active", created_at: "2026-11-01T00:00:00Z", ssl: { status: "active" } }] };

  api.state.sql = budget(1_000_000, 200); // 0.02 % of a 0.1 % budget: 80 % left
  let logs = [];
  assert.equal(await onlineSteps({ env: "prod", percent: 10 }, io(logs)), 0, logs.join("\n"));
  assert.ok(logs.some((l) => /^pre-flight error budget: 200 of 1000000 answers 5xx over 28 days .* 80\.0 % of the error budget left/.test(l)), logs.join("\n"));
  assert.ok(logs.includes("pre-flight TLS: 1 custom hostnames, 0 problems"));
  const budgetSql = api.requests.find((r) => /AS errors\nFROM clicks_prod/.test(r.body));
  assert.match(budgetSql.body, /SUM\(_sample_interval\) AS requests, SUM\(IF\(double1 >= 500, _sample_interval, 0\)\) AS errors/);

  api.state.sql = budget(1_000_000, 900); // 90 % of the budget spent
  await assert.rejects(onlineSteps({ env: "prod", percent: 10 }, io([])), /pre-flight failed: error budget: .*10\.0 % of the error budget left; at least 25 % is required/);

  api.state.sql = budget(1_000_000, 200);
  api.state.zones[zone].hostnames.push(
    { id: "h2", hostname: "stuck.seller.example", status: "pending", created_at: "2026-11-28T12:00:00Z", ssl: { status: "pending_validation" } },
    { id: "h3", hostname: "broken.seller.example", status: "active", created_at: "2026-11-30T11:00:00Z", ssl: { status: "validation_timed_out", validation_errors: [{ message: "CAA record prevents issuance" }] } },
    { id: "h4", hostname: "new.seller.example", status: "pending", created_at: "2026-11-30T11:30:00Z", ssl: { status: "pending_validation" } },
  );
  const deployedBefore = api.state.scripts["redirector-prod"].deployments.length;
  await assert.rejects(onlineSteps({ env: "prod", percent: 10 }, io([])), (e) => {
    assert.match(e.message, /stuck\.seller\.example: certificate pending_validation for 48\.0 h/);
    assert.match(e.message, /broken\.seller\.example: certificate validation_timed_out \(CAA record prevents issuance\)/);
    assert.doesNotMatch(e.message, /new\.seller\.example/, "pending for half an hour is normal");
    return true;
  });
  assert.equal(api.state.scripts["redirector-prod"].deployments.length, deployedBefore, "a failed pre-flight deploys nothing");

  logs = [];
  assert.equal(await onlineSteps({ env: "prod", percent: 10, skipPreflight: "TLS incident INC-42, approved by on-call" }, io(logs)), 0);
  assert.ok(logs.includes("PRE-FLIGHT SKIPPED for prod by --skip-preflight: TLS incident INC-42, approved by on-call"));
});

test("the gate's judgement, unit by unit", () => {
  const kpi = { min_requests: 500, max_5xx_ratio: 0.005, max_5xx_over_stable: 0.001, max_p95_over_stable_ratio: 1.25, max_p95_over_stable_ms: 5 };
  const x = (requests, errors, p95_ms) => ({ requests, errors, p95_ms });
  assert.equal(judge(x(1000, 1, 10), x(10000, 5, 10), kpi, false).verdict, "pass");
  assert.equal(judge(x(1000, 1, 30), x(10000, 5, 10), kpi, false).verdict, "fail", "p95 3x stable");
  assert.equal(judge(x(1000, 1, 14), x(10000, 5, 10), kpi, false).verdict, "pass", "within stable + 5 ms");
  assert.equal(judge(x(100, 0, 1), x(10000, 5, 10), kpi, false).verdict, "wait");
  assert.deepEqual(tlsProblems([{ hostname: "a", created_at: "2026-11-30T00:00:00Z", ssl: { status: "active" } }], 24, Date.parse("2026-12-30T00:00:00Z")), []);
});
