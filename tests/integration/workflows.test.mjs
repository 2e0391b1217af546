// The pipeline's rules (issue 16), read from the workflow files themselves (zizmor
// and actionlint audit them too, in scripts/test): actions pinned to commit SHAs,
// no default permissions and no `contents: write` outside the job that publishes the
// release, the Cloudflare token only in the steps that deploy, the release published
// after its tests, cargo tools cached in CI, the toolchain pinned.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const read = (f) => readFileSync(`.github/workflows/${f}`, "utf8");
const FILES = ["ci.yml", "release.yml"];

/** Jobs of a workflow: name -> the job's lines (indentation kept). */
function jobs(text) {
  const out = {};
  let name = null;
  let inJobs = false;
  for (const line of text.split("\n")) {
    if (/^jobs:/.test(line)) inJobs = true;
    else if (/^\S/.test(line)) inJobs = false;
    const m = inJobs && /^  ([a-z0-9-]+):\s*$/.exec(line);
    if (m) out[(name = m[1])] = [];
    else if (inJobs && name) out[name].push(line);
  }
  return out;
}

test("every action is pinned to a commit SHA", () => {
  for (const f of FILES) {
    const uses = [...read(f).matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]);
    assert.ok(uses.length > 0, f);
    for (const u of uses) assert.match(u, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${f}: ${u}`);
  }
});

test("no default permissions; contents: write only where the release is published", () => {
  for (const f of FILES) {
    const text = read(f);
    assert.match(text, /^permissions: \{\}$/m, `${f}: workflow-level permissions are empty`);
    for (const [job, lines] of Object.entries(jobs(text))) {
      const body = lines.join("\n");
      const writes = /contents: write/.test(body);
      assert.equal(writes, f === "release.yml" && job === "release", `${f} ${job}: contents: write`);
      if (/scripts\/promote/.test(body)) assert.match(body, /contents: read/, `${f} ${job}: a deploy job reads only`);
    }
  }
});

test("the Cloudflare token reaches only the steps that deploy", () => {
  for (const f of FILES) {
    for (const [job, lines] of Object.entries(jobs(read(f)))) {
      // Steps start at "      - "; a secret may appear only in a step that runs scripts/promote.
      const steps = lines.join("\n").split(/\n(?=      - )/);
      for (const step of steps) {
        if (/CLOUDFLARE_API_TOKEN/.test(step)) {
          assert.match(step, /run: scripts\/promote /, `${f} ${job}: token outside a deploy step:\n${step}`);
          assert.match(step, /^        env:/m, `${f} ${job}: step-level env, not job-level`);
        }
      }
      const jobLevel = lines.filter((l) => /^    env:/.test(l));
      assert.deepEqual(jobLevel, [], `${f} ${job}: no job-level env`);
    }
  }
});

test("the release is published after its tests pass, and prod deploys after the release", () => {
  const j = jobs(read("release.yml"));
  assert.ok(j.test.join("\n").includes("run: scripts/test"));
  assert.match(j.release.join("\n"), /needs: test/);
  assert.match(j.release.join("\n"), /gh release create/);
  assert.match(j["deploy-prod"].join("\n"), /needs: release/);
  assert.match(j["deploy-prod"].join("\n"), /environment: production/);
});

test("CI caches the cargo tools; the toolchain is pinned", () => {
  assert.match(read("ci.yml"), /uses: actions\/cache@[0-9a-f]{40}[\s\S]*~\/\.cargo\/bin/);
  assert.match(readFileSync("rust-toolchain.toml", "utf8"), /^channel = "\d+\.\d+\.\d+"$/m);
});
