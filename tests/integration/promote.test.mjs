// scripts/promote without credentials: runs every offline step and says what it
// would do next (the online steps need a Cloudflare account).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

test("promote --env dev offline: config check, scan, build, dry run, then the plan", () => {
  const env = { ...process.env };
  delete env.CLOUDFLARE_API_TOKEN;
  delete env.CLOUDFLARE_ACCOUNT_ID;
  const r = spawnSync("scripts/promote", ["--env", "dev", "--percent", "20"], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const step of ["1/9 config check", "2/9 secret scan", "3/9 build", "4/9 dry run"]) assert.match(r.stdout, new RegExp(step));
  // Both scripts dry-run: the control script first.
  assert.match(r.stdout, /control: .*Total Upload[\s\S]*edge: .*Total Upload/);
  assert.match(r.stdout, /offline: no CLOUDFLARE_API_TOKEN/);
  assert.match(r.stdout, /7\/9 deployment: <new>@20% <current>@80%/);
  assert.match(r.stdout, /scripts\/canary-verify --env dev --version-id <new>/);
  assert.match(r.stdout, /fail or interrupted: <current>@100% \(rollback\)/);
});

test("promote refuses an unknown env", () => {
  const r = spawnSync("scripts/promote", ["--env", "qa"], { encoding: "utf8" });
  assert.equal(r.status, 2);
});

test("promote: a skipped pre-flight needs a reason", () => {
  const r = spawnSync("scripts/promote", ["--env", "prod", "--skip-preflight", " "], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--skip-preflight needs a reason/);
});

test("regression: a failed dry run fails the promotion (it was piped through grep and ignored)", () => {
  const env = { ...process.env, WRANGLER: "false" };
  delete env.CLOUDFLARE_API_TOKEN;
  const r = spawnSync("scripts/promote", ["--env", "dev"], { encoding: "utf8", env });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /wrangler deploy -c wrangler.control.toml --env dev --dry-run .* failed/);
  assert.doesNotMatch(r.stdout, /offline: no CLOUDFLARE_API_TOKEN/);
});
