// Promotion of one env (docs/promotion.md):
//   1/9 config check   2/9 secret scan   3/9 build   4/9 dry run
//   5/9 pre-flight: error budget left and TLS of the custom hostnames (prod, or as
//       config/rollout.json says; skipping needs --skip-preflight "<reason>", logged)
//   6/9 the control script (redirector-control-<env>: admin API, RouteDo) deployed
//       whole, then the edge script's versions upload (version id from wrangler's
//       machine-readable output)
//   7/9 gradual deploy: new at --percent, current at the rest
//   8/9 canary verification pinned to the new version, then the KPI gate: canary
//       against stable over the same window, waiting for enough traffic
//   9/9 full rollout
// From step 7 on, anything that stops the promotion (a failed step, Ctrl-C, a
// killed CI job's SIGTERM) rolls back the edge script to the version that served
// before, or says loudly that it could not (exit 3). The control script is not
// rolled back: it serves the edge versions one release either side of it
// (core/src/forward.rs), and its Durable Object migrations only go forward.
//
//   scripts/promote --env dev|staging|prod [--percent 10] [--skip-preflight "<reason>"]
//
// Credentials: CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID. Without them every
// offline step runs and it prints what it would do next, then exits 0.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, ToolError } from "./lib/cf-api.mjs";
import { currentSplit, customHostnames, deploySplit, errorBudget, kpiGate, tlsProblems, versionRelease } from "./lib/rollout.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ENVS = ["dev", "staging", "prod"];
const USAGE = 'usage: scripts/promote --env dev|staging|prod [--percent N] [--skip-preflight "<reason>"]';

export function parseArgs(argv) {
  const args = { percent: 10 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--env") args.env = value;
    else if (flag === "--percent") args.percent = Number(value);
    else if (flag === "--skip-preflight") args.skipPreflight = value;
    else throw new ToolError(`${flag}: not understood\n${USAGE}`, 2);
    i++;
  }
  if (!ENVS.includes(args.env)) throw new ToolError(`--env must be dev, staging or prod\n${USAGE}`, 2);
  if (!(Number.isInteger(args.percent) && args.percent >= 1 && args.percent <= 99)) throw new ToolError("--percent: 1 to 99", 2);
  if (args.skipPreflight !== undefined && !String(args.skipPreflight).trim()) throw new ToolError('--skip-preflight needs a reason: --skip-preflight "monitoring outage, approved by ..."', 2);
  return args;
}

const readJson = (file) => JSON.parse(readFileSync(path.join(ROOT, file), "utf8"));

/** The same, without blocking the event loop (so Ctrl-C / SIGTERM are handled at once). */
function runAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code, signal) => (code === 0 ? resolve() : reject(new ToolError(`${cmd} ${args.join(" ")} failed (exit ${code ?? signal})`))));
  });
}

/** Run a command in the repository root, output shown; throws on failure. */
function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new ToolError(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

/**
 * wrangler (or $WRANGLER), run with WRANGLER_OUTPUT_FILE_PATH: its ND-JSON output
 * entries, the machine-readable record of what it did. Never blocks the event loop.
 */
export async function wrangler(args, outputFile, { quiet = false } = {}) {
  const bin = process.env.WRANGLER ?? "wrangler";
  rmSync(outputFile, { force: true });
  mkdirSync(path.dirname(outputFile), { recursive: true });
  const { code, out } = await new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: ROOT, env: { ...process.env, WRANGLER_OUTPUT_FILE_PATH: outputFile } });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? signal, out }));
  });
  if (!quiet || code !== 0) process.stdout.write(out);
  if (code !== 0) throw new ToolError(`wrangler ${args.join(" ")} failed (exit ${code})`);
  const entries = existsSync(outputFile) ? readFileSync(outputFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { entries, stdout: out };
}

export async function offlineSteps({ env }, step) {
  step("1/9 config check");
  run("scripts/config", ["check"]);
  step("2/9 secret scan");
  run("scripts/secret-scan", []);
  step("3/9 build");
  run("scripts/build-worker", []);
  step("4/9 dry run");
  for (const [script, config] of [["control", "wrangler.control.toml"], ["edge", "wrangler.toml"]]) {
    const out = `target/promote/${env}/${script}`;
    const dry = await wrangler(["deploy", "-c", config, "--env", env, "--dry-run", "--outdir", out], path.join(ROOT, `${out}/dry-run.ndjson`), { quiet: true });
    for (const line of dry.stdout.split("\n").filter((l) => /Total Upload|env\./.test(l))) console.log(`${script}: ${line}`);
  }
}

/**
 * The online steps (5-9). `io` carries the credentials, the log, and the clock and
 * sleep (tests inject them). Returns the exit code.
 */
export async function onlineSteps(args, io) {
  const { env, percent } = args;
  const { creds, step, log, sleep, now } = io;
  const config = readJson("config/environments.json").envs[env];
  const rollout = readJson("config/rollout.json");
  const script = config.worker_name;
  const dataset = config.analytics_dataset;
  const release = process.env.REDIRECTOR_RELEASE ?? spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();

  step("5/9 pre-flight");
  if (!rollout.preflight.envs.includes(env)) {
    log(`pre-flight: not required for ${env} (config/rollout.json preflight.envs)`);
  } else if (args.skipPreflight !== undefined) {
    log(`PRE-FLIGHT SKIPPED for ${env} by --skip-preflight: ${args.skipPreflight}`);
  } else {
    const budget = await errorBudget(creds, dataset, rollout, now());
    log(`pre-flight error budget: ${budget.reason}`);
    if (!budget.ok) throw new ToolError(`pre-flight failed: error budget: ${budget.reason}`);
    const zone = process.env.CLOUDFLARE_ZONE_ID ?? config.custom_hostnames_zone_id;
    if (zone) {
      const hostnames = await customHostnames(creds, zone);
      const problems = tlsProblems(hostnames, rollout.preflight.tls_pending_max_age_hours, now());
      log(`pre-flight TLS: ${hostnames.length} custom hostnames, ${problems.length} problems`);
      if (problems.length) throw new ToolError(`pre-flight failed: TLS issuance queue:\n  ${problems.join("\n  ")}`);
    }
  }

  step("6/9 control script deploy, then versions upload");
  // First: the edge's new version binds the control's class and service by name.
  await wrangler(["deploy", "-c", "wrangler.control.toml", "--env", env], path.join(ROOT, `target/promote/${env}/control-deploy.ndjson`));
  log(`${config.control_worker_name} deployed`);
  const upload = await wrangler(["versions", "upload", "--env", env, "--tag", release, "--message", `release ${release}`], path.join(ROOT, `target/promote/${env}/upload.ndjson`));
  const created = upload.entries.find((e) => e.type === "version-upload");
  if (!created?.version_id) throw new ToolError("wrangler versions upload wrote no version-upload entry with a version_id");
  const fresh = created.version_id;
  const [stable] = await currentSplit(creds, script);
  if (stable.version_id === fresh) throw new ToolError(`${fresh} already serves ${stable.percentage} %: nothing to promote`);
  const stableRelease = await versionRelease(creds, script, stable.version_id);
  log(`new version ${fresh} (release ${release}); stable ${stable.version_id} (release ${stableRelease ?? "unknown"})`);

  // From here on a canary split may be live: every way out rolls back.
  let armed = true;
  const rollback = async (why) => {
    if (!armed) return 0;
    armed = false;
    log(`ROLLBACK: ${why}`);
    try {
      await deploySplit(creds, script, [{ version_id: stable.version_id, percentage: 100 }], `rollback: ${why}`);
      const [now100] = await currentSplit(creds, script);
      if (now100.version_id !== stable.version_id || now100.percentage !== 100) throw new ToolError(`the deployment reads ${JSON.stringify(now100)}`);
      log(`rolled back: ${stable.version_id} serves 100 %`);
      return 1;
    } catch (e) {
      console.error(`\n!!! ROLLBACK FAILED: ${e.message}\n!!! ${script} may still serve ${fresh} at ${percent} %. Roll back by hand NOW:\n!!!   wrangler versions deploy ${stable.version_id}@100% --env ${env} -y\n`);
      return 3;
    }
  };
  const onSignal = (signal) => {
    rollback(`promotion interrupted (${signal})`).then((code) => process.exit(code === 1 ? 130 : code));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    step(`7/9 gradual deploy: ${fresh} at ${percent} %, ${stable.version_id} at ${100 - percent} %`);
    const startedAt = now();
    await deploySplit(creds, script, [{ version_id: fresh, percentage: percent }, { version_id: stable.version_id, percentage: 100 - percent }], `canary ${release}`);

    step(`8/9 canary verification pinned to ${fresh}, then the KPI gate`);
    if (io.verify) await io.verify(fresh);
    else await runAsync("scripts/canary-verify", ["--env", env, "--version-id", fresh]);
    const gate = await kpiGate(creds, { dataset, canaryRelease: release, stableRelease: stableRelease ?? "", startedAt, kpi: rollout.kpi, log, sleep, now });
    if (gate.verdict !== "pass") return await rollback(`KPI gate: ${gate.reason}`);

    step(`9/9 full rollout of ${fresh}`);
    await deploySplit(creds, script, [{ version_id: fresh, percentage: 100 }], `release ${release}`);
    armed = false;
    log(`done: ${fresh} serves 100 %`);
    return 0;
  } catch (e) {
    return await rollback(e.message);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

function offlinePlan({ env, percent }) {
  return `
[promote ${env}] offline: no CLOUDFLARE_API_TOKEN / CLOUDFLARE_ACCOUNT_ID, so it stops here.
With credentials it would now run:
  5/9 pre-flight (config/rollout.json): error budget left over the SLO window, TLS of the custom hostnames
  6/9 wrangler deploy -c wrangler.control.toml --env ${env} (the control script, whole), then
      wrangler versions upload --env ${env} --tag <release> (version id from WRANGLER_OUTPUT_FILE_PATH)
  7/9 deployment: <new>@${percent}% <current>@${100 - percent}%
  8/9 scripts/canary-verify --env ${env} --version-id <new>, then the KPI gate (canary against stable)
  9/9 pass: <new>@100%; fail or interrupted: <current>@100% (rollback)`;
}

export async function main(argv) {
  const args = parseArgs(argv);
  const step = (s) => console.log(`\n[promote ${args.env}] ${s}`);
  const log = (s) => console.log(`[promote ${args.env}] ${s}`);
  await offlineSteps(args, step);
  if (!process.env.CLOUDFLARE_API_TOKEN || !process.env.CLOUDFLARE_ACCOUNT_ID) {
    console.log(offlinePlan(args));
    return 0;
  }
  const creds = credentials(process.env, "scripts/promote", "Workers Scripts: Edit, Account Analytics: Read, SSL and Certificates: Read");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  return onlineSteps(args, { creds, step, log, sleep, now: Date.now });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`promote: ${e.message}`);
      process.exit(e instanceof ToolError ? e.code : 1);
    },
  );
}
