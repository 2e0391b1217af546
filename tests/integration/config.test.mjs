// wrangler.toml (the edge script) and wrangler.control.toml (the control script): the
// env matrix, read through wrangler's own config reader. Every env restates all of its
// bindings, names only its own resources, and sets the ENVIRONMENT var the worker
// derives its binding names from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { unstable_readConfig } from "wrangler";
import { BUILT } from "../../scripts/lib/two-scripts.mjs";

const ENVS = ["dev", "staging", "prod"];
const read = (env) => unstable_readConfig({ config: "wrangler.toml", env }, { hideWarnings: true });
const readControl = (env) => unstable_readConfig({ config: "wrangler.control.toml", env }, { hideWarnings: true });

function bindingsOf(config) {
  return {
    name: config.name,
    environment: config.vars.ENVIRONMENT,
    kv: config.kv_namespaces.map((k) => k.binding),
    kvIds: config.kv_namespaces.map((k) => k.id),
    durable: config.durable_objects.bindings.map((d) => `${d.name}:${d.class_name}${d.script_name ? `@${d.script_name}` : ""}`),
    services: (config.services ?? []).map((s) => `${s.binding}:${s.service}`),
    analytics: config.analytics_engine_datasets.map((a) => `${a.binding}:${a.dataset}`),
    migrations: config.migrations.map((m) => `${m.tag}:${(m.new_sqlite_classes ?? []).join(",")}`),
    routes: config.routes ?? [],
  };
}

test("local (top level): what `wrangler dev` runs with no flags", () => {
  assert.deepEqual(bindingsOf(read(undefined)), {
    name: "redirector-local",
    environment: "local",
    kv: ["ROUTES_KV_LOCAL"],
    kvIds: ["routes-local"],
    durable: ["ROUTE_DO_LOCAL:RouteDo@redirector-control-local"],
    services: ["CONTROL_LOCAL:redirector-control-local"],
    analytics: ["CLICKS_LOCAL:clicks_local"],
    migrations: [],
    // routes would make wrangler dev rewrite every Host and hide host-based routing
    routes: [],
  });
  assert.deepEqual(bindingsOf(readControl(undefined)), {
    name: "redirector-control-local",
    environment: "local",
    kv: ["ROUTES_KV_LOCAL"],
    kvIds: ["routes-local"],
    durable: ["ROUTE_DO_LOCAL:RouteDo"],
    services: [],
    analytics: ["CLICKS_LOCAL:clicks_local"],
    migrations: ["v1:RouteDo"],
    routes: [],
  });
});

test("the tests and benches load the built scripts at wrangler.toml's compatibility date", () => {
  assert.equal(BUILT.compatibilityDate, read(undefined).compatibility_date);
  assert.equal(BUILT.compatibilityDate, readControl(undefined).compatibility_date);
});

test("every env runs with the WHATWG URL, which the worker's IDNA relies on (src/unicode.rs)", () => {
  for (const config of [undefined, ...ENVS].flatMap((env) => [read(env), readControl(env)])) {
    const env = config.vars.ENVIRONMENT === "local" ? undefined : config.vars.ENVIRONMENT;
    // workerd's url_standard behaviour is the default from this date on; url_original undoes it.
    assert.ok(config.compatibility_date >= "2022-10-31", `${env ?? "local"}: ${config.compatibility_date}`);
    assert.ok(!(config.compatibility_flags ?? []).includes("url_original"), env ?? "local");
  }
});

for (const env of ENVS) {
  test(`env.${env} restates every binding with its own names`, () => {
    const E = env.toUpperCase();
    const b = bindingsOf(read(env));
    assert.equal(b.name, `redirector-${env}`);
    assert.equal(b.environment, env);
    assert.deepEqual(b.kv, [`ROUTES_KV_${E}`]);
    assert.deepEqual(b.durable, [`ROUTE_DO_${E}:RouteDo@redirector-control-${env}`]);
    assert.deepEqual(b.services, [`CONTROL_${E}:redirector-control-${env}`]);
    assert.deepEqual(b.analytics, [`CLICKS_${E}:clicks_${env}`]);
    assert.deepEqual(b.migrations, []);
    // The control script: the same KV and dataset, the RouteDo class and its
    // migrations, and no way in but the edge's service binding.
    const control = readControl(env);
    const c = bindingsOf(control);
    assert.equal(c.name, `redirector-control-${env}`);
    assert.equal(c.environment, env);
    assert.deepEqual(c.kvIds, b.kvIds);
    assert.deepEqual(c.durable, [`ROUTE_DO_${E}:RouteDo`]);
    assert.deepEqual(c.analytics, b.analytics);
    assert.deepEqual(c.migrations, ["v1:RouteDo"]);
    assert.deepEqual([c.routes, control.workers_dev], [[], false]);
  });
}

test("no env names another env's resources", () => {
  const all = [undefined, ...ENVS].map((e) => bindingsOf(read(e)));
  const ids = all.flatMap((b) => b.kvIds);
  assert.equal(new Set(ids).size, ids.length, "KV namespace ids are distinct");
  const controls = [undefined, ...ENVS].map((e) => bindingsOf(readControl(e)));
  const names = [...all, ...controls].map((b) => b.name);
  assert.equal(new Set(names).size, names.length);
  for (const b of [...all, ...controls]) {
    const own = b.environment.toUpperCase();
    for (const binding of [...b.kv, ...b.durable, ...b.analytics, ...b.services]) {
      assert.match(binding, new RegExp(`_${own}(:|$)`), `${b.name}: ${binding}`);
    }
  }
});

// Sentry environments follow the platform's ENVIRONMENTS.md (prod is `production`),
// while worker names and bindings keep `prod`.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { documentedSentryEnvironments, sentryMismatches } from "../../scripts/config.mjs";

test("the Sentry environment of each env is the platform document's", () => {
  const doc = readFileSync("config/platform/ENVIRONMENTS.md", "utf8");
  assert.deepEqual(documentedSentryEnvironments(doc), { dev: "dev", staging: "staging", prod: "production" });
  for (const env of ENVS) {
    assert.equal(read(env).vars.SENTRY_ENVIRONMENT, { dev: "dev", staging: "staging", prod: "production" }[env]);
    assert.equal(read(env).name, `redirector-${env}`);
  }
});

/**
 * A copy of scripts/config.mjs in a temporary root, with the mapping as `change`
 * leaves it: returns the root, the mapping, and `run(cmd)` of that copy.
 */
function configCopy(change) {
  const root = mkdtempSync(path.join(tmpdir(), "config-"));
  for (const dir of ["scripts", "config/platform"]) mkdirSync(path.join(root, dir), { recursive: true });
  cpSync("scripts/config.mjs", path.join(root, "scripts/config.mjs"));
  cpSync("config/platform/ENVIRONMENTS.md", path.join(root, "config/platform/ENVIRONMENTS.md"));
  const config = JSON.parse(readFileSync("config/environments.json", "utf8"));
  change(config);
  writeFileSync(path.join(root, "config/environments.json"), JSON.stringify(config));
  const run = (cmd) => spawnSync("node", [path.join(root, "scripts/config.mjs"), cmd], { encoding: "utf8" });
  return { root, config, run };
}

test("regression: scripts/config check fails when a Sentry environment differs from the document's", () => {
  // What the mapping said before.
  const { config, run } = configCopy((c) => (c.envs.prod.sentry_environment = "prod"));
  assert.equal(run("write").status, 0);
  const r = run("check");
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /prod\.sentry_environment is "prod"; ENVIRONMENTS\.md says "production"/);
  assert.deepEqual(sentryMismatches(config.envs, { prod: "production", dev: "dev" }), [{ env: "prod", have: "prod", want: "production" }]);
});

test("an env that ran RouteDo in the edge script can move its objects: the control's migration renders transferred_classes", () => {
  const { root, run } = configCopy((c) => {
    c.control.migrations = [{ tag: "v1", transferred_classes: [{ from: "RouteDo", from_script: "{worker_name}", to: "RouteDo" }] }];
  });
  assert.equal(run("write").status, 0);
  for (const env of ENVS) {
    const moved = unstable_readConfig({ config: path.join(root, "wrangler.control.toml"), env }, { hideWarnings: true });
    assert.deepEqual(moved.migrations, [{ tag: "v1", transferred_classes: [{ from: "RouteDo", from_script: `redirector-${env}`, to: "RouteDo" }] }]);
  }
});
