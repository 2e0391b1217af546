// Who clicked what: people's clicks per route from Analytics Engine (docs/clicks.md
// "Reading the clicks").
//
//   scripts/clicks --env dev|staging|prod [--since 24h|7d|30m|<RFC 3339>] [--until <RFC 3339>]
//                  [--route ID] [--svg FILE] [--json]
//
// Per route: clicks, and their split by country, device, variant and outcome; then
// the canary/control split of every route with a canary. Only people count
// (blob14 = 'person'): previews, bots and HEAD requests are left out. Sampling is
// accounted for with SUM(_sample_interval). Needs CLOUDFLARE_ACCOUNT_ID and
// CLOUDFLARE_API_TOKEN (Account Analytics: Read).
import { writeFileSync } from "node:fs";
import { analyticsSql, credentials, sqlString, sqlTime, ToolError } from "./lib/cf-api.mjs";

const USAGE = "usage: scripts/clicks --env dev|staging|prod [--since 24h] [--until TIME] [--route ID] [--svg FILE] [--json]";
const ENVS = ["dev", "staging", "prod"];
/** The split dimensions: name -> click blob (docs/clicks.md). */
export const DIMENSIONS = { country: "blob6", device: "blob9", variant: "blob13", outcome: "blob5" };
const ROW_LIMIT = 10000;

function parseArgs(argv) {
  const args = { since: "24h" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--json") args.json = true;
    else if (["--env", "--since", "--until", "--route", "--svg"].includes(flag) && i + 1 < argv.length) args[flag.slice(2)] = argv[++i];
    else throw new ToolError(`${flag}: not understood\n${USAGE}`, 2);
  }
  if (!ENVS.includes(args.env)) throw new ToolError(`--env must be one of ${ENVS.join(", ")}\n${USAGE}`, 2);
  return args;
}

/** `30m`, `24h`, `7d` before `now`, or an RFC 3339 time. */
export function parseTime(text, now) {
  const rel = /^(\d+)([mhd])$/.exec(text);
  if (rel) return new Date(now - Number(rel[1]) * { m: 60e3, h: 3600e3, d: 86400e3 }[rel[2]]);
  const at = new Date(text);
  if (!/^\d{4}-\d\d-\d\dT/.test(text) || Number.isNaN(at.getTime())) {
    throw new ToolError(`${text}: give a time as 30m, 24h, 7d or RFC 3339 (2026-11-30T12:00:00Z)`, 2);
  }
  return at;
}

/** The SQL for one split: people's clicks per route and value, sampling-correct. */
export function splitSql({ env, since, until, route }, column) {
  const where = [
    "blob14 = 'person'",
    "blob1 != ''",
    `timestamp >= ${sqlTime(since)}`,
    `timestamp < ${sqlTime(until)}`,
    ...(route ? [`blob1 = ${sqlString(route)}`] : []),
  ];
  return [
    `SELECT blob1 AS route, ${column} AS value, SUM(_sample_interval) AS clicks`,
    `FROM clicks_${env}`,
    `WHERE ${where.join(" AND ")}`,
    "GROUP BY route, value",
    "ORDER BY clicks DESC",
    `LIMIT ${ROW_LIMIT}`,
    "FORMAT JSON",
  ].join("\n");
}

/** Fold the split rows into one report per route, busiest first. */
export function report(splits) {
  const routes = new Map();
  for (const [dim, rows] of Object.entries(splits)) {
    for (const row of rows) {
      const r = routes.get(row.route) ?? { route: row.route, clicks: 0, country: {}, device: {}, variant: {}, outcome: {} };
      const n = Number(row.clicks);
      r[dim][row.value || "-"] = (r[dim][row.value || "-"] ?? 0) + n;
      if (dim === "outcome") r.clicks += n;
      routes.set(row.route, r);
    }
  }
  const list = [...routes.values()].sort((a, b) => b.clicks - a.clicks || a.route.localeCompare(b.route));
  for (const r of list) {
    const canary = r.variant.canary ?? 0;
    const control = r.variant.control ?? 0;
    r.canary = canary + control > 0 ? { canary, control, canary_percent: (canary * 100) / (canary + control) } : null;
  }
  return list;
}

const fmt = (n) => Math.round(n).toLocaleString("en-US");
const top = (counts, k = 5) => {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, k).map(([v, n]) => `${v} ${fmt(n)}`);
  if (entries.length > k) shown.push(`+${entries.length - k} more`);
  return shown.join(" · ") || "-";
};

export function table(routes, { env, since, until }) {
  const lines = [`clicks_${env}: people's clicks, ${since.toISOString()} .. ${until.toISOString()} (sampling-corrected)`];
  if (routes.length === 0) return [...lines, "no clicks in this range"].join("\n");
  const width = Math.min(40, Math.max(5, ...routes.map((r) => r.route.length)));
  lines.push("", `${"route".padEnd(width)}  ${"clicks".padStart(9)}  by`);
  for (const r of routes) {
    lines.push(`${r.route.padEnd(width)}  ${fmt(r.clicks).padStart(9)}  country  ${top(r.country)}`);
    for (const dim of ["device", "variant", "outcome"]) lines.push(`${"".padEnd(width)}  ${"".padStart(9)}  ${dim.padEnd(7)}  ${top(r[dim])}`);
  }
  const canaries = routes.filter((r) => r.canary);
  if (canaries.length) {
    lines.push("", "canary split (people only)", `${"route".padEnd(width)}  ${"canary".padStart(9)}  ${"control".padStart(9)}  canary %`);
    for (const r of canaries) {
      lines.push(`${r.route.padEnd(width)}  ${fmt(r.canary.canary).padStart(9)}  ${fmt(r.canary.control).padStart(9)}  ${r.canary.canary_percent.toFixed(1).padStart(7)} %`);
    }
  }
  return lines.join("\n");
}

const escapeXml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** A horizontal bar chart of clicks per route (top 25), canary share shaded. */
export function svg(routes, { env, since, until }) {
  const shown = routes.slice(0, 25);
  const max = Math.max(1, ...shown.map((r) => r.clicks));
  const [labelW, barW, rowH, top] = [260, 480, 26, 56];
  const height = top + shown.length * rowH + 30;
  const rows = shown.map((r, i) => {
    const y = top + i * rowH;
    const w = (r.clicks / max) * barW;
    const canaryW = r.canary ? (w * r.canary.canary) / r.clicks : 0;
    return [
      `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${escapeXml(r.route.slice(0, 40))}</text>`,
      `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="#3b82f6"><title>${escapeXml(r.route)}: ${fmt(r.clicks)} clicks</title></rect>`,
      canaryW > 0 ? `<rect x="${(labelW + w - canaryW).toFixed(1)}" y="${y + 4}" width="${canaryW.toFixed(1)}" height="${rowH - 8}" fill="#f59e0b"><title>canary ${fmt(r.canary.canary)} (${r.canary.canary_percent.toFixed(1)} %)</title></rect>` : "",
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 17}">${fmt(r.clicks)}</text>`,
    ].join("");
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 120}" height="${height}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="16" y="24" font-size="16" font-weight="bold">People's clicks per route, clicks_${escapeXml(env)}</text>
<text x="16" y="44" fill="#555">${escapeXml(since.toISOString())} .. ${escapeXml(until.toISOString())}; orange: the canary's share</text>
${rows.join("\n")}
${shown.length === 0 ? `<text x="16" y="${top + 20}">no clicks in this range</text>` : ""}
</svg>
`;
}

export async function main(argv, env = process.env, now = Date.now()) {
  const args = parseArgs(argv);
  const range = { env: args.env, since: parseTime(args.since, now), until: args.until ? parseTime(args.until, now) : new Date(now), route: args.route };
  if (range.since >= range.until) throw new ToolError("--since must be before --until", 2);
  const creds = credentials(env, "scripts/clicks");
  const splits = {};
  for (const [dim, column] of Object.entries(DIMENSIONS)) splits[dim] = await analyticsSql(creds, splitSql(range, column));
  const routes = report(splits);
  if (args.svg) writeFileSync(args.svg, svg(routes, range));
  return args.json ? JSON.stringify({ env: args.env, since: range.since, until: range.until, routes }, null, 2) : table(routes, range) + (args.svg ? `\n\nchart: ${args.svg}` : "");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (out) => console.log(out),
    (e) => {
      console.error(`clicks: ${e.message}`);
      process.exit(e instanceof ToolError ? e.code : 1);
    },
  );
}
