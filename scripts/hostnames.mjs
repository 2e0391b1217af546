// Seller domains: the custom hostnames (Cloudflare for SaaS) the redirector serves by
// host (docs/promotion.md "Seller domains").
//
//   scripts/hostnames list   --env E
//   scripts/hostnames add    --env E HOST      # create; prints what the seller must set up
//   scripts/hostnames check  --env E HOST      # hostname and certificate status
//   scripts/hostnames remove --env E HOST --yes
//
// The zone is the env's `custom_hostnames_zone_id` in config/environments.json (or
// CLOUDFLARE_ZONE_ID). Needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (SSL and
// Certificates: Edit on that zone).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cfApi, credentials, ToolError } from "./lib/cf-api.mjs";
import { customHostnames, tlsProblems } from "./lib/rollout.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "usage: scripts/hostnames list|add|check|remove --env dev|staging|prod [HOST] [--yes]";
const HOST = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const args = { command, yes: false };
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--env") args.env = rest[++i];
    else if (rest[i] === "--yes") args.yes = true;
    else if (!rest[i].startsWith("--") && !args.host) args.host = rest[i].toLowerCase().replace(/\.$/, "");
    else throw new ToolError(`${rest[i]}: not understood\n${USAGE}`, 2);
  }
  if (!["list", "add", "check", "remove"].includes(command)) throw new ToolError(USAGE, 2);
  if (!["dev", "staging", "prod"].includes(args.env)) throw new ToolError(`--env must be dev, staging or prod\n${USAGE}`, 2);
  if (command !== "list" && !HOST.test(args.host ?? "")) throw new ToolError(`${command} needs a host name such as shop.seller.example (not a URL)`, 2);
  return args;
}

function zoneOf(env) {
  const config = JSON.parse(readFileSync(path.join(ROOT, "config/environments.json"), "utf8"));
  const zone = process.env.CLOUDFLARE_ZONE_ID ?? config.envs[env]?.custom_hostnames_zone_id;
  if (!zone) throw new ToolError(`${env} has no custom_hostnames_zone_id in config/environments.json (or set CLOUDFLARE_ZONE_ID)`, 2);
  return zone;
}

const line = (h) => `${h.hostname.padEnd(40)} ${String(h.status).padEnd(10)} tls ${h.ssl?.status ?? "-"}${h.ssl?.validation_errors?.length ? ` (${h.ssl.validation_errors.map((e) => e.message).join("; ")})` : ""}  since ${h.created_at ?? "-"}`;

async function find(creds, zone, host) {
  const answer = await cfApi(creds, "GET", `/zones/${zone}/custom_hostnames?hostname=${encodeURIComponent(host)}`);
  return answer.result.find((h) => h.hostname === host) ?? null;
}

export async function main(argv, env = process.env) {
  const args = parseArgs(argv);
  const creds = credentials(env, "scripts/hostnames", "SSL and Certificates: Edit");
  const zone = zoneOf(args.env);
  const out = [];
  if (args.command === "list") {
    const all = await customHostnames(creds, zone);
    const problems = tlsProblems(all, JSON.parse(readFileSync(path.join(ROOT, "config/rollout.json"), "utf8")).preflight.tls_pending_max_age_hours);
    out.push(...all.map(line), `${all.length} custom hostnames; ${problems.length} TLS problems${problems.length ? `:\n  ${problems.join("\n  ")}` : ""}`);
    return { code: problems.length ? 1 : 0, out };
  }
  const existing = await find(creds, zone, args.host);
  if (args.command === "add") {
    if (existing) return { code: 0, out: [`${args.host} is already a custom hostname:`, line(existing)] };
    const { result: h } = await cfApi(creds, "POST", `/zones/${zone}/custom_hostnames`, { hostname: args.host, ssl: { method: "http", type: "dv" } });
    out.push(`added ${args.host}:`, line(h));
    out.push(`the seller points ${args.host} at the zone's fallback origin with a CNAME (docs/promotion.md "Seller domains");`);
    if (h.ownership_verification) out.push(`  ownership: ${h.ownership_verification.type.toUpperCase()} ${h.ownership_verification.name} = ${h.ownership_verification.value}`);
    out.push(`then \`scripts/hostnames check --env ${args.env} ${args.host}\` until tls is active`);
    return { code: 0, out };
  }
  if (!existing) return { code: 1, out: [`${args.host} is not a custom hostname of ${args.env}`] };
  if (args.command === "check") {
    const { result: h } = await cfApi(creds, "GET", `/zones/${zone}/custom_hostnames/${existing.id}`);
    const healthy = h.status === "active" && h.ssl?.status === "active";
    return { code: healthy ? 0 : 1, out: [line(h), healthy ? "serving over TLS" : "not yet serving over TLS"] };
  }
  if (!args.yes) return { code: 2, out: [`remove stops TLS for ${args.host} at once: add --yes to do it`] };
  await cfApi(creds, "DELETE", `/zones/${zone}/custom_hostnames/${existing.id}`);
  return { code: 0, out: [`removed ${args.host}`] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    ({ code, out }) => {
      console.log(out.join("\n"));
      process.exit(code);
    },
    (e) => {
      console.error(`hostnames: ${e.message}`);
      process.exit(e instanceof ToolError ? e.code : 1);
    },
  );
}
