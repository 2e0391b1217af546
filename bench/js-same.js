// Baseline (e): a JavaScript worker doing the same work per request as this worker's
// common path: the exact-link KV read with `cacheTtl` (then the any-host key), the
// record's JSON, `request.cf` (country, colo), the query merge, and one click data
// point to Analytics Engine. No isolate cache: every request reads KV, as a first hit.
export default {
  async fetch(request, env) {
    const started = Date.now();
    const url = new URL(request.url);
    const host = url.hostname.toLowerCase().replace(/\.$/, "");
    let path = url.pathname.replace(/\/+/g, "/");
    if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
    // BENCH_OMIT (a var, for experiments): "cf", "click", "cacheTtl" leave that part out.
    const omit = env.BENCH_OMIT ?? "";
    const cf = omit.includes("cf") ? {} : request.cf ?? {};
    const options = omit.includes("cacheTtl") ? undefined : { cacheTtl: 60 };
    let raw = await env.ROUTES.get(host + path, options);
    if (raw === null) raw = await env.ROUTES.get("*" + path, options);
    let status = 404;
    let location = "";
    if (raw !== null) {
      let record = JSON.parse(raw);
      if (typeof record === "string") record = { to: record };
      const target = new URL(record.to);
      if (record.forward_query !== false) {
        for (const [k, v] of url.searchParams) if (!target.searchParams.has(k)) target.searchParams.append(k, v);
      }
      status = record.status ?? 302;
      location = target.href;
    }
    if (!omit.includes("click")) env.CLICKS?.writeDataPoint({
      indexes: [host],
      blobs: [path, host, path, location, status === 404 ? "miss" : "redirect", cf.country ?? "", cf.colo ?? "",
        request.headers.get("referer") ?? "", "browser", "bench", "js", request.method, ""],
      doubles: [status, Date.now() - started],
    });
    if (status === 404) return new Response("Not Found\n", { status, headers: { "cache-control": "no-store" } });
    const cache = status === 301 || status === 308 ? "public, max-age=3600" : "private, no-store";
    return new Response(null, { status, headers: { location, "cache-control": cache } });
  },
};
