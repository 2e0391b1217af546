// A local stand-in of the Cloudflare API, answering in the documented formats (the
// v4 envelope `{ success, errors, messages, result, result_info }`) and recording
// every request it gets. It keeps just enough state to be honest about what it was
// asked: Workers versions and deployments (percentage splits), custom hostnames,
// and the Analytics Engine SQL API, whose rows a test supplies per query.
import http from "node:http";

export const ACCOUNT = "acc0000000000000000000000000test";
export const TOKEN = "test-cloudflare-token";

export async function startStandIn({ sql = () => [] } = {}) {
  const requests = [];
  const state = { scripts: {}, zones: {}, sql, nextId: 1 };
  const id = (prefix) => `${prefix}-${String(state.nextId++).padStart(4, "0")}`;
  const script = (name) => (state.scripts[name] ??= { versions: {}, deployments: [] });
  const zone = (z) => (state.zones[z] ??= { hostnames: [] });

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url, "http://standin");
      requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      const send = (status, payload) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      const ok = (result, extra = {}) => send(200, { success: true, errors: [], messages: [], result, ...extra });
      const fail = (status, code, message) => send(status, { success: false, errors: [{ code, message }], messages: [], result: null });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return fail(401, 10000, "Authentication error");
      const json = () => (body ? JSON.parse(body) : {});
      let m;
      if ((m = /^\/client\/v4\/accounts\/([^/]+)\/analytics_engine\/sql$/.exec(url.pathname)) && req.method === "POST") {
        const data = state.sql(body) ?? [];
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify({ meta: [], data, rows: data.length, rows_before_limit_at_least: data.length }));
      }
      if ((m = /^\/client\/v4\/accounts\/[^/]+\/workers\/scripts\/([^/]+)\/versions$/.exec(url.pathname)) && req.method === "POST") {
        const { tag, message } = json();
        const v = { id: id("version"), number: Object.keys(script(m[1]).versions).length + 1, annotations: { "workers/tag": tag, "workers/message": message }, metadata: { created_on: new Date().toISOString() } };
        script(m[1]).versions[v.id] = v;
        return ok(v);
      }
      if ((m = /^\/client\/v4\/accounts\/[^/]+\/workers\/scripts\/([^/]+)\/versions\/([^/]+)$/.exec(url.pathname)) && req.method === "GET") {
        const v = script(m[1]).versions[m[2]];
        return v ? ok(v) : fail(404, 10007, "version not found");
      }
      if ((m = /^\/client\/v4\/accounts\/[^/]+\/workers\/scripts\/([^/]+)\/deployments$/.exec(url.pathname))) {
        const s = script(m[1]);
        if (req.method === "GET") return ok({ deployments: [...s.deployments].reverse() });
        if (req.method === "POST") {
          const d = json();
          const total = (d.versions ?? []).reduce((a, v) => a + v.percentage, 0);
          if (d.strategy !== "percentage" || total !== 100) return fail(400, 10021, "versions must add up to 100 percent");
          if (d.versions.some((v) => !s.versions[v.version_id])) return fail(400, 10007, "unknown version");
          const dep = { id: id("deployment"), source: "api", strategy: "percentage", versions: d.versions, annotations: d.annotations ?? {}, created_on: new Date().toISOString() };
          s.deployments.push(dep);
          return ok(dep);
        }
      }
      if ((m = /^\/client\/v4\/zones\/([^/]+)\/custom_hostnames$/.exec(url.pathname))) {
        const z = zone(m[1]);
        if (req.method === "GET") {
          const all = z.hostnames.filter((h) => !url.searchParams.get("hostname") || h.hostname === url.searchParams.get("hostname"));
          const page = Number(url.searchParams.get("page") ?? 1), per = Number(url.searchParams.get("per_page") ?? 20);
          const result = all.slice((page - 1) * per, page * per);
          return ok(result, { result_info: { page, per_page: per, count: result.length, total_count: all.length, total_pages: Math.max(1, Math.ceil(all.length / per)) } });
        }
        if (req.method === "POST") {
          const { hostname, ssl } = json();
          if (!hostname || z.hostnames.some((h) => h.hostname === hostname)) return fail(409, 1406, "Duplicate custom hostname found.");
          const h = { id: id("hostname"), hostname, status: "pending", created_at: new Date().toISOString(), ssl: { id: id("ssl"), status: "pending_validation", method: ssl?.method, type: ssl?.type }, ownership_verification: { type: "txt", name: `_cf-custom-hostname.${hostname}`, value: "standin" } };
          z.hostnames.push(h);
          return ok(h);
        }
      }
      if ((m = /^\/client\/v4\/zones\/([^/]+)\/custom_hostnames\/([^/]+)$/.exec(url.pathname))) {
        const z = zone(m[1]);
        const i = z.hostnames.findIndex((h) => h.id === m[2]);
        if (i < 0) return fail(404, 1436, "Custom hostname not found");
        if (req.method === "GET") return ok(z.hostnames[i]);
        if (req.method === "DELETE") return ok({ id: z.hostnames.splice(i, 1)[0].id });
      }
      return fail(404, 7003, `no route for ${req.method} ${url.pathname}`);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}/client/v4`;
  return {
    base,
    requests,
    state,
    env: { CLOUDFLARE_API_BASE: base, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_TOKEN: TOKEN },
    /** Seed a script with a version deployed at 100 % (what serves before a promotion). */
    seedStable(name, tag) {
      const v = { id: id("version"), number: 1, annotations: { "workers/tag": tag }, metadata: {} };
      script(name).versions[v.id] = v;
      script(name).deployments.push({ id: id("deployment"), strategy: "percentage", versions: [{ version_id: v.id, percentage: 100 }], annotations: {} });
      return v.id;
    },
    latest: (name) => script(name).deployments.at(-1),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
