#!/usr/bin/env node
// What scripts/promote needs of wrangler in the tests, against the Cloudflare API
// stand-in (tests/integration/cf-standin.mjs): `versions upload --env E --tag T
// --message M` creates a version through the stand-in's API and writes wrangler's
// documented output entry (`{"type": "version-upload", "version_id": ...}`) to
// WRANGLER_OUTPUT_FILE_PATH, as wrangler 4 does. Nothing else is implemented.
import { appendFileSync } from "node:fs";

const args = process.argv.slice(2);
const flag = (name) => args[args.indexOf(name) + 1];
if (args[0] !== "versions" || args[1] !== "upload") {
  console.error(`fake wrangler: ${args.join(" ")} is not implemented`);
  process.exit(1);
}
if (process.env.FAKE_WRANGLER_FAIL) {
  console.error("✘ [ERROR] A request to the Cloudflare API failed (fake)");
  process.exit(1);
}
const script = `redirector-${flag("--env")}`;
const res = await fetch(`${process.env.CLOUDFLARE_API_BASE}/accounts/${process.env.CLOUDFLARE_ACCOUNT_ID}/workers/scripts/${script}/versions`, {
  method: "POST",
  headers: { authorization: `Bearer ${process.env.CLOUDFLARE_API_TOKEN}`, "content-type": "application/json" },
  body: JSON.stringify({ tag: flag("--tag"), message: flag("--message") }),
});
const { result } = await res.json();
console.log(`Worker Version ID: ${result.id}`);
if (process.env.WRANGLER_OUTPUT_FILE_PATH) {
  appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify({ version: 1, type: "wrangler-session", wrangler_version: "fake" }) + "\n");
  appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify({ version: 1, type: "version-upload", worker_name: script, worker_tag: null, version_id: result.id, preview_url: null }) + "\n");
}
