// Runs scripts/promote's online steps (5-9) in a process of its own, for the test
// that kills a promotion mid-canary (promote-online.test.mjs). Canary verification
// is a no-op here (it has its own tests); everything else is the real code against
// the Cloudflare API stand-in named by CLOUDFLARE_API_BASE.
import { credentials } from "../../scripts/lib/cf-api.mjs";
import { onlineSteps, parseArgs } from "../../scripts/promote.mjs";

const args = parseArgs(process.argv.slice(2));
const log = (s) => console.log(`[promote ${args.env}] ${s}`);
const code = await onlineSteps(args, {
  creds: credentials(process.env),
  step: log,
  log,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: Date.now,
  verify: async () => {},
});
process.exit(code);
