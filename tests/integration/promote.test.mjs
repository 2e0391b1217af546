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
  for (const step of ["1/8 config check", "2/8 secret scan", "3/8 build", "4/8 dry run"]) assert.match(r.stdout, new RegExp(step));
  assert.match(r.stdout, /Total Upload/);
  assert.match(r.stdout, /offline: no CLOUDFLARE_API_TOKEN/);
  assert.match(r.stdout, /wrangler versions deploy <new>@20% <current>@80% --env dev -y/);
  assert.match(r.stdout, /scripts\/canary-verify --env dev --version-id <new>/);
});

test("promote refuses an unknown env", () => {
  const r = spawnSync("scripts/promote", ["--env", "qa"], { encoding: "utf8" });
  assert.equal(r.status, 2);
});
