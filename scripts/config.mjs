// The environment matrix: renders the two scripts' configurations from
// config/environments.json, and checks that the committed files are exactly that:
//   wrangler.toml          the edge script, redirector-<env> (src/entry.mjs)
//   wrangler.control.toml  the control script, redirector-control-<env>
//                          (src/control.mjs): the admin API and the RouteDo class
//   node scripts/config.mjs render [control]   # print wrangler.toml (or the control's)
//   node scripts/config.mjs write    # rewrite both
//   node scripts/config.mjs check    # exit 1 (with a diff) when they differ, or when an
//                                    # env's Sentry environment is not the platform
//                                    # document's (../shared/ENVIRONMENTS.md)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const config = JSON.parse(readFileSync(path.join(ROOT, "config/environments.json"), "utf8"));

const q = (s) => JSON.stringify(String(s));
const list = (xs) => `[${xs.map(q).join(", ")}]`;

export function bindingNames(env) {
  const E = env.toUpperCase();
  return { kv: `ROUTES_KV_${E}`, durable: `ROUTE_DO_${E}`, clicks: `CLICKS_${E}`, missLimit: `MISS_LIMIT_${E}`, control: `CONTROL_${E}` };
}

/** The configuration files, by script. */
export const FILES = { edge: "wrangler.toml", control: "wrangler.control.toml" };

function section(env, spec, top, script) {
  const p = top ? "" : `env.${env}.`;
  const names = bindingNames(env);
  const edge = script === "edge";
  const w = edge ? config.worker : config.control;
  const name = edge ? spec.worker_name : spec.control_worker_name;
  // The control script is reached only through the edge's service binding.
  const workersDev = edge ? spec.workers_dev : false;
  const out = [];
  if (top) {
    out.push(`name = ${q(name)}`, `main = ${q(w.main)}`, `compatibility_date = ${q(config.worker.compatibility_date)}`);
    // Inherited by every env: the entry module and the worker-build JS, minified on upload.
    out.push("minify = true");
    out.push(`workers_dev = ${workersDev}`);
    // No public URL per version: the edge script held a Durable Object class until
    // the split, which had none either; canaries are verified by version override.
    if (edge) out.push("preview_urls = false");
    out.push("", "[build]", `command = ${q(w.build_command)}`, `watch_dir = ["src", "core/src"]`);
  } else {
    out.push(`[env.${env}]`, `name = ${q(name)}`, `workers_dev = ${workersDev}`);
    if (edge) out.push("preview_urls = false");
  }
  if (edge && spec.routes.length) {
    out.push(`routes = [`);
    for (const r of spec.routes) out.push(`  { pattern = ${q(r.pattern)}, zone_name = ${q(r.zone_name)} },`);
    out.push(`]`);
  }
  out.push("", `[${p}vars]`, `ENVIRONMENT = ${q(env)}`, `SENTRY_ENVIRONMENT = ${q(spec.sentry_environment)}`);
  // The edge's vars (explain, cache lifetimes) mean nothing to the control script.
  if (edge) for (const [k, v] of Object.entries(spec.vars)) out.push(`${k} = ${q(v)}`);
  out.push("", `[[${p}kv_namespaces]]`, `binding = ${q(names.kv)}`, `id = ${q(spec.kv_namespace_id)}`);
  out.push("", `[[${p}durable_objects.bindings]]`, `name = ${q(names.durable)}`, `class_name = ${q(config.control.durable_object_class)}`);
  // The class lives in the control script; the edge binds it there.
  if (edge) out.push(`script_name = ${q(spec.control_worker_name)}`);
  out.push("", `[[${p}analytics_engine_datasets]]`, `binding = ${q(names.clicks)}`, `dataset = ${q(spec.analytics_dataset)}`);
  if (edge) {
    // The admin API, forwarded to the control script (src/forward.rs).
    out.push("", `[[${p}services]]`, `binding = ${q(names.control)}`, `service = ${q(spec.control_worker_name)}`);
    // Rate limit on clients probing missing paths (src/limits.rs), one namespace per env.
    const m = spec.miss_limit;
    out.push("", `[[${p}ratelimits]]`, `name = ${q(names.missLimit)}`, `namespace_id = ${q(m.namespace_id)}`, `simple = { limit = ${m.limit}, period = ${m.period} }`);
  } else {
    for (const m of w.migrations) {
      out.push("", `[[${p}migrations]]`, `tag = ${q(m.tag)}`);
      if (m.new_sqlite_classes) out.push(`new_sqlite_classes = ${list(m.new_sqlite_classes)}`);
      // Moving objects from another script (docs/architecture.md): `{worker_name}` is
      // this env's edge script.
      const from = (t) => `{ from = ${q(t.from)}, from_script = ${q(t.from_script.replace("{worker_name}", spec.worker_name))}, to = ${q(t.to)} }`;
      if (m.transferred_classes) out.push(`transferred_classes = [${m.transferred_classes.map(from).join(", ")}]`);
    }
  }
  return out.join("\n");
}

export function render(script = "edge") {
  const header = [
    "# GENERATED from config/environments.json by `node scripts/config.mjs write`; edit that",
    "# file, not this one (CI runs `scripts/config check`).",
    "#",
    ...(script === "edge"
      ? [
          "# The edge script: redirects, explain, health. The admin API and the RouteDo class",
          "# are the control script's (wrangler.control.toml), reached through CONTROL_X.",
        ]
      : [
          "# The control script: the admin API (reached only through the edge script's",
          "# CONTROL_X service binding) and the RouteDo class. Deployed before the edge script.",
        ]),
    "#",
    "# The top level is the local configuration (`wrangler dev` with no flags). Each [env.X]",
    "# restates every binding (wrangler does not inherit them) and names only its own",
    "# resources: redirector-X, redirector-control-X, ROUTES_KV_X, ROUTE_DO_X, CLICKS_X ->",
    "# clicks_X. The worker picks its bindings from ENVIRONMENT. Local has no `routes`",
    "# (wrangler dev would rewrite every Host to the route's). Secrets are set with",
    "# `wrangler secret put` (ADMIN_TOKEN on both scripts).",
    "",
  ].join("\n");
  const envs = Object.entries(config.envs);
  const [localName, local] = envs.find(([n]) => n === "local");
  const parts = [header + section(localName, local, true, script)];
  for (const [env, spec] of envs.filter(([n]) => n !== "local")) {
    parts.push(`# ${"-".repeat(64)} ${env}\n` + section(env, spec, false, script));
  }
  return parts.join("\n\n") + "\n";
}

export { config };

/**
 * The platform's environments document: ../shared/ENVIRONMENTS.md where the platform
 * repository sits next to this one, else the copy vendored in config/platform/ (a
 * clean clone in CI has only that). When both exist they must be identical.
 */
export function platformDocument(root = ROOT) {
  const vendored = path.join(root, "config/platform/ENVIRONMENTS.md");
  const shared = path.join(root, "../shared/ENVIRONMENTS.md");
  const copy = readFileSync(vendored, "utf8");
  if (existsSync(shared) && readFileSync(shared, "utf8") !== copy) {
    throw new Error(`config/platform/ENVIRONMENTS.md differs from ${shared}: copy it over (cp ../shared/ENVIRONMENTS.md config/platform/)`);
  }
  return copy;
}

/** The Sentry environment the document names for each env ("- Prod ... Sentry env `production`"). */
export function documentedSentryEnvironments(doc) {
  const out = {};
  let env = null;
  for (const line of doc.split("\n")) {
    const heading = /^- (Local|Dev|Staging|Prod)\s*$/.exec(line);
    if (heading) env = heading[1].toLowerCase();
    else if (/^\S/.test(line)) env = null;
    const named = /Sentry env `([^`]+)`/.exec(line);
    if (env && named) out[env] = named[1];
  }
  return out;
}

/** Envs whose Sentry environment differs from the document's: [{ env, have, want }]. */
export function sentryMismatches(envs, documented) {
  return Object.entries(documented)
    .filter(([env, want]) => envs[env] && envs[env].sentry_environment !== want)
    .map(([env, want]) => ({ env, have: envs[env].sentry_environment, want }));
}

const cmd = process.argv[2];
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = (script) => path.join(ROOT, FILES[script]);
  if (cmd === "render") process.stdout.write(render(process.argv[3] === "control" ? "control" : "edge"));
  else if (cmd === "write") for (const script of Object.keys(FILES)) writeFileSync(file(script), render(script));
  else if (cmd === "check") {
    for (const script of Object.keys(FILES)) {
      const want = render(script);
      const have = existsSync(file(script)) ? readFileSync(file(script), "utf8") : "";
      if (want === have) continue;
      const a = have.split("\n"), b = want.split("\n");
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i] !== b[i]) { console.error(`${FILES[script]}:${i + 1}\n  have: ${a[i] ?? "<end>"}\n  want: ${b[i] ?? "<end>"}`); break; }
      }
      console.error(`${FILES[script]} differs from config/environments.json: run \`node scripts/config.mjs write\``);
      process.exit(1);
    }
    const documented = documentedSentryEnvironments(platformDocument());
    for (const env of ["dev", "staging", "prod"]) {
      if (!documented[env]) {
        console.error(`ENVIRONMENTS.md names no Sentry environment for ${env}: cannot check it`);
        process.exit(1);
      }
    }
    const wrong = sentryMismatches(config.envs, documented);
    for (const { env, have, want } of wrong) {
      console.error(`config/environments.json: ${env}.sentry_environment is ${JSON.stringify(have)}; ENVIRONMENTS.md says ${JSON.stringify(want)}`);
    }
    if (wrong.length) process.exit(1);
    console.log(`wrangler.toml and wrangler.control.toml match config/environments.json (${Object.keys(config.envs).join(", ")}); Sentry environments match ENVIRONMENTS.md (${Object.entries(documented).map(([e, s]) => `${e}: ${s}`).join(", ")})`);
  } else {
    console.error("usage: scripts/config render|write|check");
    process.exit(2);
  }
}
