// Shared Miniflare harness for the integration suite.
//
// It loads the *built* worker (scripts/build-worker) into workerd through Miniflare,
// with real local KV and Durable Objects: per environment, the edge script
// (src/entry.mjs over build/) and, where it has a Durable Object, its control script
// (src/control.mjs over build-control/, named "<edge name>-control"), reached through
// the edge's CONTROL_<ENV> service binding and holding the RouteDo class; both share
// the env's KV and click binding, as in wrangler.toml and wrangler.control.toml.
// Several environments run the same builds under different ENVIRONMENT values,
// reached by host name:
//
//   any other host   -> "local":  ROUTES_KV_LOCAL, ROUTE_DO_LOCAL, CLICKS_LOCAL
//   *.kvfail.test    -> "kvfail": ROUTES_KV_KVFAIL is a KV whose every read throws
//   *.bare.test      -> "bare":   no bindings but the click capture
//   *.aefail.test    -> "aefail": real KV, but writing a click point throws
//   *.edge.test      -> "edge":   prod-like: explain needs the EXPLAIN_TOKEN secret,
//                                 rule arrays cached for 1 s (local: not cached)
//   *.ryw.test       -> "ryw":    KV that shows every write only after 60 s (as a
//                                 remote location would), for read-your-writes; a
//                                 KV write of a key containing "kv-write-fails" fails
//   *.pair.test      -> "pair":   the laggy KV again, in an environment of its own,
//                                 with a second isolate of the same location
//                                 (`peer`, reached only through h.peer(), production
//                                 cache lifetimes) to prove read-your-writes across
//                                 isolates
//   *.dofail.test    -> "dofail": real KV, but every Durable Object call fails
//   *.count.test     -> "count":  prod cache lifetimes; its KV logs every read
//   *.flaky.test     -> "flaky":  real KV, but the KV writes numbered in FAIL_WRITES
//                                 (3, 7, 8 and 5003, counted from the start across the
//                                 whole env) throw
//
// Also on the zone (for the forged-pin test): "neighbour", another worker that
// anyone could deploy on the same zone; it writes whatever it is asked into the
// shared Cache API (POST https://neighbour.test/put?url=...).
//
// ADMIN_TOKEN is set (to ADMIN_TOKEN below) on local, ryw, pair, flaky and dofail; with
// start({ sentryDsn }), SENTRY_DSN is set on local and kvfail (not on the others).
//
// Analytics Engine: Miniflare's own binding discards data points, so every
// CLICKS_<ENV> is a wrapped binding that logs each point as one JSON line; the
// harness reads workerd's structured logs and keeps the points, and tests read
// them back with `clicks.next()`.
import { Miniflare } from "miniflare";
import { BUILT, withControl } from "../../scripts/lib/two-scripts.mjs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLICK_TAG = "__click__ ";
const KV_READ_TAG = "__kvread__ ";
const KV_OPTIONS_TAG = "__kvopts__ ";
export const EDGE_EXPLAIN_TOKEN = "test-explain-token";
export const ADMIN_TOKEN = "test-admin-token";
const LAG_MS = 60_000;
const SENTINEL_HOST = "sentinel.invalid";
const SENTINEL_PATH = "/__redirector/health";

/** The click schema (docs/clicks.md), so tests read fields by name. */
export const BLOBS = [
  "route_id", "host", "path", "target", "outcome", "country", "colo",
  "referer_host", "ua_class", "env", "release", "method", "variant", "audience",
];
export const DOUBLES = ["status", "latency_ms"];

export function named(point) {
  const out = { index: point.indexes[0], env_source: point.env };
  BLOBS.forEach((name, i) => (out[name] = point.blobs[i]));
  DOUBLES.forEach((name, i) => (out[name] = point.doubles[i]));
  out.blob_count = point.blobs.length;
  out.double_count = point.doubles.length;
  return out;
}

const clickCapture = `
export default function (env) {
  return {
    writeDataPoint(point) {
      console.log(${JSON.stringify(CLICK_TAG)} + JSON.stringify({ env: env.SOURCE, ...point }));
    },
  };
}`;

const failingClicks = `
export default function () {
  return { writeDataPoint() { throw new Error("injected Analytics Engine failure"); } };
}`;

// Eventually consistent KV: a write becomes visible to readers LAG_MS later; until
// then they see the previous value. Stored in an inner namespace with metadata.
const laggyKv = `
export default function (env) {
  const lag = Number(env.LAG_MS);
  const read = async (key) => {
    const { value, metadata } = await env.INNER.getWithMetadata(key, "text");
    if (metadata && Date.now() < metadata.visibleAt) return metadata.previous;
    if (metadata && metadata.deleted) return null;
    return value;
  };
  const write = async (key, value, deleted) => {
    if (key.includes("kv-write-fails")) throw new Error("injected KV write failure");
    const previous = await read(key);
    await env.INNER.put(key, value, { metadata: { visibleAt: Date.now() + lag, previous, deleted } });
  };
  return {
    get: (key) => read(key),
    put: (key, value) => write(key, value, false),
    delete: (key) => write(key, "", true),
  };
}`;

// Real KV that logs every read, so tests can count KV reads per request.
const countingKv = `
export default function (env) {
  return {
    get(key, options) {
      console.log(${JSON.stringify(KV_READ_TAG)} + key);
      console.log(${JSON.stringify(KV_OPTIONS_TAG)} + JSON.stringify(options ?? null));
      return env.COUNTED.get(key, options);
    },
    put: (key, value, options) => env.COUNTED.put(key, value, options),
    delete: (key) => env.COUNTED.delete(key),
  };
}`;

// KV whose Nth writes fail (N in FAIL_WRITES, counted across this env's isolate).
const flakyKv = `
let writes = 0;
export default function (env) {
  const fail = new Set(String(env.FAIL_WRITES).split(",").map(Number));
  const write = (op) => {
    writes += 1;
    if (fail.has(writes)) throw new Error("injected failure of KV write " + writes);
    return op();
  };
  return {
    get: (key, options) => env.INNER.get(key, options),
    put: (key, value, options) => write(() => env.INNER.put(key, value, options)),
    delete: (key) => write(() => env.INNER.delete(key)),
  };
}`;

// Another worker on the same zone: it can write anything into the shared Cache API.
const neighbour = `
export default {
  async fetch(request) {
    const target = new URL(request.url).searchParams.get("url");
    const headers = Object.fromEntries([...request.headers].filter(([k]) => k.startsWith("x-ryw") || k === "cache-control"));
    await caches.default.put(target, new Response(await request.text(), { headers }));
    return new Response("stored");
  },
};`;

const failingDurableObjects = `
class DurableObjectNamespace {
  idFromName(name) { return { name, toString: () => name }; }
  get() { return { fetch: async () => { throw new Error("injected Durable Object failure"); } }; }
}
export default function () { return new DurableObjectNamespace(); }`;

const failingKv = `
export default function () {
  const fail = async () => { throw new Error("injected KV failure"); };
  return { get: fail, getWithMetadata: fail, put: fail, list: fail, delete: fail };
}`;

// A KV that never answers: get() returns a promise that never settles.
const hangingKv = `
export default function () {
  const never = () => new Promise(() => {});
  return { get: never, getWithMetadata: never, put: never, list: never, delete: never };
}`;

// A Durable Object namespace whose objects never answer (unreachable).
const hangingDurableObjects = `
class DurableObjectNamespace {
  idFromName(name) { return { name, toString: () => name }; }
  get() { return { fetch: () => new Promise(() => {}) }; }
}
export default function () { return new DurableObjectNamespace(); }`;

// A rate-limiting binding that fails (the worker must fail open).
const failingLimiter = `
export default function () {
  return { limit: async () => { throw new Error("injected rate limiter failure"); } };
}`;

function edgeWorker(name, env, { routes = [], kv = true, durable = true, failKv = false, failClicks = false, failDo = false, hangKv = false, hangDo = false, laggy = false, counted = false, flaky = null, missLimit = null, failLimiter = false, vars = {} } = {}) {
  const E = env.toUpperCase();
  const worker = {
    name,
    rootPath: ROOT,
    scriptPath: "src/entry.mjs",
    ...BUILT,
    routes,
    bindings: { ENVIRONMENT: env, ...vars },
    wrappedBindings: {
      [`CLICKS_${E}`]: failClicks
        ? { scriptName: "failing-clicks" }
        : { scriptName: "click-capture", bindings: { SOURCE: env } },
    },
  };
  if (kv && !failKv && !hangKv && !laggy && !counted && !flaky) worker.kvNamespaces = [`ROUTES_KV_${E}`];
  if (hangKv) worker.wrappedBindings[`ROUTES_KV_${E}`] = { scriptName: "hanging-kv" };
  if (missLimit) worker.ratelimits = { [`MISS_LIMIT_${E}`]: { simple: { limit: missLimit, period: 60 } } };
  if (failLimiter) worker.wrappedBindings[`MISS_LIMIT_${E}`] = { scriptName: "failing-limiter" };
  if (flaky) worker.wrappedBindings[`ROUTES_KV_${E}`] = { scriptName: "flaky-kv", bindings: { FAIL_WRITES: flaky } };
  if (counted) worker.wrappedBindings[`ROUTES_KV_${E}`] = { scriptName: "counting-kv" };
  if (failKv) worker.wrappedBindings[`ROUTES_KV_${E}`] = { scriptName: "failing-kv" };
  if (laggy) worker.wrappedBindings[`ROUTES_KV_${E}`] = { scriptName: "laggy-kv", bindings: { LAG_MS: String(LAG_MS) } };
  if (durable && !failDo && !hangDo) worker.durableObjects = { [`ROUTE_DO_${E}`]: { className: "RouteDo", useSQLite: true } };
  if (hangDo) worker.wrappedBindings[`ROUTE_DO_${E}`] = { scriptName: "hanging-do" };
  if (failDo) worker.wrappedBindings[`ROUTE_DO_${E}`] = { scriptName: "failing-do" };
  return worker;
}

/**
 * An environment's scripts: the edge script `name` and, when it has a Durable Object
 * binding (real, failing or hanging), its control script `<name>-control` with the
 * same bindings (scripts/lib/two-scripts.mjs). With `control: false`, the edge has
 * no CONTROL_<ENV> binding (the admin API then answers 503).
 */
function redirectorWorker(name, env, options = {}) {
  const edge = edgeWorker(name, env, options);
  if (options.durable === false || options.control === false) return [edge];
  return withControl(edge, env);
}

/** Start Miniflare with the built worker. Call `close()` when done. */
export async function start({ sentryDsn } = {}) {
  const sentry = sentryDsn ? { SENTRY_DSN: sentryDsn, SENTRY_ENVIRONMENT: "local-test" } : {};
  const points = [];
  const kvReads = [];
  const kvReadOptions = [];
  const waiters = [];
  const onLog = ({ message }) => {
    for (const line of String(message).split("\n")) {
      const read = line.indexOf(KV_READ_TAG);
      if (read >= 0) kvReads.push(line.slice(read + KV_READ_TAG.length));
      const opts = line.indexOf(KV_OPTIONS_TAG);
      if (opts >= 0) kvReadOptions.push(JSON.parse(line.slice(opts + KV_OPTIONS_TAG.length)));
      const at = line.indexOf(CLICK_TAG);
      if (at < 0) continue;
      points.push(JSON.parse(line.slice(at + CLICK_TAG.length)));
      while (waiters.length && waiters[0].n <= points.length) waiters.shift().resolve();
    }
  };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0, // any free port: never collide with a running scripts/dev
    kvPersist: false,
    durableObjectsPersist: false,
    structuredWorkerdLogs: true,
    handleStructuredLogs: onLog,
    workers: [
      ...redirectorWorker("redirector-local", "local", {
        vars: { EXPLAIN: "on", ROUTE_CACHE_TTL_MS: "0", RULES_CACHE_TTL_MS: "0", ADMIN_TOKEN, ADMIN_BODY_TIMEOUT_MS: "1000", ...sentry },
      }),
      ...redirectorWorker("redirector-count", "count", { routes: ["*count.test/*"], counted: true }),
      { name: "counting-kv", modules: true, script: countingKv, kvNamespaces: ["COUNTED"] },
      ...redirectorWorker("redirector-ryw", "ryw", { routes: ["*ryw.test/*"], laggy: true, vars: { ADMIN_TOKEN } }),
      ...redirectorWorker("redirector-pair", "pair", { routes: ["*pair.test/*"], laggy: true, vars: { ADMIN_TOKEN } }),
      ...redirectorWorker("redirector-pair-peer", "pair", { laggy: true, durable: false, vars: { ADMIN_TOKEN } }),
      ...redirectorWorker("redirector-flaky", "flaky", { routes: ["*flaky.test/*"], flaky: "3,7,8,5003", vars: { ADMIN_TOKEN } }),
      { name: "flaky-kv", modules: true, script: flakyKv, kvNamespaces: ["INNER"] },
      { name: "neighbour", modules: true, script: neighbour, routes: ["neighbour.test/*"] },
      ...redirectorWorker("redirector-dofail", "dofail", { routes: ["*dofail.test/*"], failDo: true, vars: { ADMIN_TOKEN } }),
      { name: "laggy-kv", modules: true, script: laggyKv, kvNamespaces: ["INNER"] },
      { name: "failing-do", modules: true, script: failingDurableObjects },
      ...redirectorWorker("redirector-kvfail", "kvfail", { routes: ["*kvfail.test/*"], failKv: true, vars: { ...sentry } }),
      ...redirectorWorker("redirector-bare", "bare", { routes: ["*bare.test/*"], kv: false, durable: false, vars: { EXPLAIN: "token" } }),
      ...redirectorWorker("redirector-edge", "edge", {
        routes: ["*edge.test/*"],
        vars: { EXPLAIN: "token", EXPLAIN_TOKEN: EDGE_EXPLAIN_TOKEN, RULES_CACHE_TTL_MS: "1000" },
      }),
      ...redirectorWorker("redirector-aefail", "aefail", { routes: ["*aefail.test/*"], failClicks: true }),
      ...redirectorWorker("redirector-kvhang", "kvhang", { routes: ["*kvhang.test/*"], hangKv: true, vars: { KV_TIMEOUT_MS: "300", ...sentry } }),
      { name: "hanging-kv", modules: true, script: hangingKv },
      ...redirectorWorker("redirector-dohang", "dohang", { routes: ["*dohang.test/*"], hangDo: true, vars: { DO_TIMEOUT_MS: "300" } }),
      { name: "hanging-do", modules: true, script: hangingDurableObjects },
      ...redirectorWorker("redirector-abuse", "abuse", { routes: ["*abuse.test/*"], missLimit: 5 }),
      ...redirectorWorker("redirector-abusefail", "abusefail", { routes: ["*abusefail.test/*"], failLimiter: true }),
      { name: "failing-limiter", modules: true, script: failingLimiter },
      { name: "click-capture", modules: true, script: clickCapture },
      { name: "failing-clicks", modules: true, script: failingClicks },
      { name: "failing-kv", modules: true, script: failingKv },
    ],
  });
  const url = await mf.ready;
  const kv = await mf.getKVNamespace("ROUTES_KV_LOCAL", "redirector-local");
  const aefailKv = await mf.getKVNamespace("ROUTES_KV_AEFAIL", "redirector-aefail");
  const edgeKv = await mf.getKVNamespace("ROUTES_KV_EDGE", "redirector-edge");
  const dofailKv = await mf.getKVNamespace("ROUTES_KV_DOFAIL", "redirector-dofail");
  const dohangKv = await mf.getKVNamespace("ROUTES_KV_DOHANG", "redirector-dohang");
  const abuseKv = await mf.getKVNamespace("ROUTES_KV_ABUSE", "redirector-abuse");
  const abusefailKv = await mf.getKVNamespace("ROUTES_KV_ABUSEFAIL", "redirector-abusefail");
  // What a reader of the laggy KV would see "now" is computed by the wrapper; the test
  // seeds the inner namespace directly, visible at once.
  const laggyInner = await mf.getKVNamespace("INNER", "laggy-kv");
  const flakyInner = await mf.getKVNamespace("INNER", "flaky-kv");
  let taken = 0;
  const fetch = (url, init = {}) => mf.dispatchFetch(url, { redirect: "manual", ...init });
  const peer = await mf.getWorker("redirector-pair-peer");

  return {
    mf,
    /** The HTTP address of the redirector workers (routed by Host, like dispatchFetch). */
    url,
    kv,
    /** Put routes: { key: value } where value is an object/string (JSON-encoded) or raw text via {raw}. */
    async seed(routes, namespace = kv) {
      for (const [key, value] of Object.entries(routes)) {
        await namespace.put(key, typeof value === "object" && value && "raw" in value ? value.raw : JSON.stringify(value));
      }
    },
    aefailKv,
    edgeKv,
    dofailKv,
    dohangKv,
    abuseKv,
    abusefailKv,
    countedKv: await mf.getKVNamespace("COUNTED", "counting-kv"),
    /** KV reads made through the counting worker (*.count.test) so far. */
    kvReads,
    /** The options of each of those reads (same order). */
    kvReadOptions,
    laggyInner,
    /** What the flaky env's KV holds. */
    flakyInner,
    /** The local env's Durable Object namespace (to reach a shard directly). */
    routeDo: () => mf.getDurableObjectNamespace("ROUTE_DO_LOCAL", "redirector-local"),
    /** Call the admin API of the worker at `base` (default the local one). */
    admin(method, path, { body, token = ADMIN_TOKEN, base = "https://go.example.com" } = {}) {
      const headers = token === null ? {} : { authorization: `Bearer ${token}` };
      const init = { method, headers };
      if (body !== undefined) init.body = JSON.stringify(body);
      return fetch(`${base}/__redirector/admin/${path}`, init);
    },
    /** Fetch without following redirects. */
    fetch,
    /** Fetch from the second isolate of the "pair" environment (same KV, same Cache API). */
    peer: (url, init = {}) => peer.fetch(url, { redirect: "manual", ...init }),
    /**
     * Fetch, read the body, and return the one click point the request wrote.
     * A sentinel health request goes before (to flush earlier points) and after, and
     * the point must come right between: so a request that wrote zero or two points
     * fails here.
     */
    async request(url, init = {}) {
      // Flush first: a point written by an earlier request may still be on its way
      // through workerd's log; a sentinel's point marks the end of those.
      this.clicks.skipAll();
      await fetch(`https://${SENTINEL_HOST}${SENTINEL_PATH}`);
      while ((await this.clicks.next(1))[0]?.blobs?.[1] !== SENTINEL_HOST);
      const res = await fetch(url, init);
      const body = await res.text();
      await fetch(`https://${SENTINEL_HOST}${SENTINEL_PATH}`);
      const [click, sentinel] = await this.clicks.next(2);
      if (sentinel?.blobs?.[1] !== SENTINEL_HOST || click?.blobs?.[1] === SENTINEL_HOST) {
        throw new Error(`expected exactly one click point for ${url}, got ${JSON.stringify([click, sentinel])}`);
      }
      return { res, body, click: named(click) };
    },
    clicks: {
      /** Wait for and return the next `n` click points written after the last call. */
      async next(n = 1, timeoutMs = 5000) {
        const want = taken + n;
        if (points.length < want) {
          await new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`expected ${want} click points, saw ${points.length}`)),
              timeoutMs,
            );
            waiters.push({ n: want, resolve: () => { clearTimeout(timer); resolve(); } });
          });
        }
        const out = points.slice(taken, want);
        taken = want;
        return out;
      },
      /** All points seen so far (for "exactly one" checks after a settle delay). */
      all: () => points.slice(),
      skipAll() { taken = points.length; },
    },
    close: () => mf.dispose(),
  };
}
