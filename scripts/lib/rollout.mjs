// The online steps of a promotion (docs/promotion.md), each a function of the
// Cloudflare API (scripts/lib/cf-api.mjs) so the tests run them against a local
// stand-in that answers in the documented formats:
//   * pre-flight: the error budget left (Analytics Engine SQL) and the TLS state of
//     the custom hostnames the redirector serves (Cloudflare for SaaS);
//   * deployments: the current split, a new split, a version's release tag
//     (Workers Versions and Deployments API);
//   * the KPI gate: canary against stable over the same window, by release.
import { analyticsSql, cfApi, sqlString, sqlTime, ToolError } from "./cf-api.mjs";

const DAY_MS = 86_400_000;

/** Error budget left over the SLO window: 1 - (5xx share / allowed 5xx share). */
export async function errorBudget(creds, dataset, rollout, now = Date.now()) {
  const { availability, window_days } = rollout.slo;
  const since = new Date(now - window_days * DAY_MS);
  const sql = [
    "SELECT SUM(_sample_interval) AS requests, SUM(IF(double1 >= 500, _sample_interval, 0)) AS errors",
    `FROM ${dataset}`,
    `WHERE timestamp >= ${sqlTime(since)} AND timestamp < ${sqlTime(new Date(now))}`,
    "FORMAT JSON",
  ].join("\n");
  const [row = {}] = await analyticsSql(creds, sql);
  const requests = Number(row.requests ?? 0);
  const errors = Number(row.errors ?? 0);
  const allowed = 1 - availability;
  const share = requests > 0 ? errors / requests : 0;
  const left = 1 - share / allowed;
  const { min_error_budget_left, min_requests } = rollout.preflight;
  const figures = `${errors} of ${requests} answers 5xx over ${window_days} days (${(share * 100).toFixed(3)} %, SLO allows ${(allowed * 100).toFixed(3)} %): ${(left * 100).toFixed(1)} % of the error budget left`;
  if (requests < min_requests) return { ok: true, left, requests, errors, reason: `${figures}; fewer than ${min_requests} requests, so the budget is not yet meaningful: passing` };
  if (left < min_error_budget_left) return { ok: false, left, requests, errors, reason: `${figures}; at least ${(min_error_budget_left * 100).toFixed(0)} % is required` };
  return { ok: true, left, requests, errors, reason: figures };
}

/** Every custom hostname of a zone (all pages). */
export async function customHostnames(creds, zone) {
  const out = [];
  for (let page = 1; ; page++) {
    const answer = await cfApi(creds, "GET", `/zones/${zone}/custom_hostnames?page=${page}&per_page=50`);
    out.push(...answer.result);
    const info = answer.result_info ?? {};
    if (!info.total_pages || page >= info.total_pages || answer.result.length === 0) return out;
  }
}

/** TLS health: no certificate failed, none pending past the allowed age. */
export function tlsProblems(hostnames, maxAgeHours, now = Date.now()) {
  const problems = [];
  for (const h of hostnames) {
    const ssl = h.ssl?.status ?? "unknown";
    const age = (now - Date.parse(h.created_at ?? h.ssl?.created_at ?? new Date(now).toISOString())) / 3_600_000;
    if (/fail|expired|deleted|timed_out/.test(ssl) || h.status === "blocked") {
      problems.push(`${h.hostname}: certificate ${ssl}${h.ssl?.validation_errors?.length ? ` (${h.ssl.validation_errors.map((e) => e.message).join("; ")})` : ""}`);
    } else if (ssl.startsWith("pending_") && age > maxAgeHours) {
      problems.push(`${h.hostname}: certificate ${ssl} for ${age.toFixed(1)} h (more than ${maxAgeHours} h)`);
    }
  }
  return problems;
}

/** The deployment serving now: [{ version_id, percentage }], largest share first. */
export async function currentSplit(creds, script) {
  const answer = await cfApi(creds, "GET", `/accounts/${creds.account}/workers/scripts/${script}/deployments`);
  const [latest] = answer.result?.deployments ?? [];
  if (!latest) throw new ToolError(`${script} has no deployment yet: deploy it once with wrangler deploy`);
  return [...latest.versions].sort((a, b) => b.percentage - a.percentage);
}

/** Deploy a split ([{ version_id, percentage }]), with a message for the history. */
export async function deploySplit(creds, script, versions, message) {
  const body = { strategy: "percentage", versions, annotations: { "workers/message": message } };
  return (await cfApi(creds, "POST", `/accounts/${creds.account}/workers/scripts/${script}/deployments`, body)).result;
}

/** The release (git sha) a version was uploaded with (`--tag`). */
export async function versionRelease(creds, script, versionId) {
  const answer = await cfApi(creds, "GET", `/accounts/${creds.account}/workers/scripts/${script}/versions/${versionId}`);
  return answer.result?.annotations?.["workers/tag"] ?? null;
}

/** 5xx share, p95 and requests of each release since `since`, sampling-correct. */
export async function kpiByRelease(creds, dataset, releases, since, until) {
  const sql = [
    "SELECT blob11 AS release, SUM(_sample_interval) AS requests,",
    "  SUM(IF(double1 >= 500, _sample_interval, 0)) AS errors,",
    "  quantileWeighted(0.95)(double2, _sample_interval) AS p95_ms",
    `FROM ${dataset}`,
    `WHERE blob11 IN (${releases.map(sqlString).join(", ")}) AND timestamp >= ${sqlTime(since)} AND timestamp < ${sqlTime(until)}`,
    "GROUP BY release",
    "FORMAT JSON",
  ].join("\n");
  const out = Object.fromEntries(releases.map((r) => [r, { requests: 0, errors: 0, p95_ms: 0 }]));
  for (const row of await analyticsSql(creds, sql)) {
    out[row.release] = { requests: Number(row.requests), errors: Number(row.errors), p95_ms: Number(row.p95_ms) };
  }
  return out;
}

/** The verdict on one reading: "pass", "fail" (with why), or "wait" (too little traffic). */
export function judge(canary, stable, kpi, atDeadline) {
  const share = (x) => (x.requests > 0 ? x.errors / x.requests : 0);
  const figures = `canary ${canary.requests} requests, ${(share(canary) * 100).toFixed(3)} % 5xx, p95 ${canary.p95_ms.toFixed(1)} ms; stable ${stable.requests} requests, ${(share(stable) * 100).toFixed(3)} % 5xx, p95 ${stable.p95_ms.toFixed(1)} ms`;
  if (canary.requests < kpi.min_requests) {
    if (!atDeadline) return { verdict: "wait", reason: `${figures}: fewer than ${kpi.min_requests} canary requests, waiting` };
    return canary.errors === 0
      ? { verdict: "pass", reason: `${figures}: low traffic at the deadline (${canary.requests} < ${kpi.min_requests}), and no canary 5xx: passing` }
      : { verdict: "fail", reason: `${figures}: low traffic at the deadline, and the canary answered ${canary.errors} 5xx` };
  }
  const worse5xx = share(canary) > Math.max(kpi.max_5xx_ratio, share(stable) + kpi.max_5xx_over_stable);
  const p95Limit = stable.requests > 0 ? Math.max(stable.p95_ms * kpi.max_p95_over_stable_ratio, stable.p95_ms + kpi.max_p95_over_stable_ms) : Infinity;
  if (worse5xx) return { verdict: "fail", reason: `${figures}: canary 5xx share above max(${kpi.max_5xx_ratio}, stable + ${kpi.max_5xx_over_stable})` };
  if (canary.p95_ms > p95Limit) return { verdict: "fail", reason: `${figures}: canary p95 above ${p95Limit.toFixed(1)} ms` };
  return { verdict: "pass", reason: figures };
}

/**
 * The KPI gate: poll until the canary has enough traffic to compare with stable over
 * the same window, or until the deadline; then judge. `sleep` and `now` are
 * injectable for tests.
 */
export async function kpiGate(creds, { dataset, canaryRelease, stableRelease, startedAt, kpi, log, sleep, now = Date.now }) {
  const deadline = startedAt + kpi.deadline_seconds * 1000;
  for (;;) {
    const t = now();
    const since = new Date(Math.max(startedAt, t - kpi.window_minutes * 60_000));
    const figures = await kpiByRelease(creds, dataset, [canaryRelease, stableRelease], since, new Date(t));
    const result = judge(figures[canaryRelease], figures[stableRelease], kpi, t >= deadline);
    log(`KPI ${result.verdict}: ${result.reason}`);
    if (result.verdict !== "wait") return result;
    await sleep(Math.min(kpi.poll_seconds * 1000, Math.max(0, deadline - t)));
  }
}
