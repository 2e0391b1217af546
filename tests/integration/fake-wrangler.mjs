#!/usr/bin/env node
// What scripts/promote needs of wrangler in the tests, against the Cloudflare API
// stand-in (tests/integration/cf-standin.mjs): `versions upload --env E --tag T
// --message M` creates a version through the stand-in's API and writes wrangler's
// documented output entry (`{"type": "version-upload", "version_id": ...}`) to
// WRANGLER_OUTPUT_FILE_PATH, as wrangler 4 does; `deploy -c wrangler.control.toml
// --env E` creates a version of redirector-control-E and deploys it at 100 %.
// Nothing else is implemented.
import { appendFileSync } from "node:fs";

const args = process.argv.slice(2);
const flag = (name) => args[args.indexOf(name) + 1];
const controlDeploy = args[0] === "deploy" && flag("-c") === "wrangler.control.toml" && !args.includes("--dry-run");
if (!(args[0] === "versions" && args[1] === "upload") && !controlDeploy) {
  console.error(`fake wrangler: ${args.join(" ")} is not implemented`);
  process.exit(1);
}
// FAKE_WRANGLER_FAIL=upload fails only `versions upload`; any other value, every command.
const failing = process.env.FAKE_WRANGLER_FAIL;
if (failing && (failing !== "upload" || !controlDeploy)) {
  console.error("✘ [ERROR] A request to the Cloudflare API failed (fake)");
  process.exit(1);
}
const api = (script, what, body) =>
  fetch(`${process.env.CLOUDFLARE_API_BASE}/accounts/${process.env.CLOUDFLARE_ACCOUNT_ID}/workers/scripts/${script}/${what}`, {
    method: "POST",
    headers: { authorization: `Bearer ${process.env.CLOUDFLARE_API_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json());
if (controlDeploy) {
  const script = `redirector-control-${flag("--env")}`;
  const { result } = await api(script, "versions", { tag: null, message: "deploy" });
  await api(script, "deployments", { strategy: "percentage", versions: [{ version_id: result.id, percentage: 100 }] });
  console.log(`Deployed ${script} (version ${result.id})`);
  process.exit(0);
}
const script = `redirector-${flag("--env")}`;
const { result } = await api(script, "versions", { tag: flag("--tag"), message: flag("--message") });
console.log(`Worker Version ID: ${result.id}`);
if (process.env.WRANGLER_OUTPUT_FILE_PATH) {
  appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify({ version: 1, type: "wrangler-session", wrangler_version: "fake" }) + "\n");
  appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify({ version: 1, type: "version-upload", worker_name: script, worker_tag: null, version_id: result.id, preview_url: null }) + "\n");
}
