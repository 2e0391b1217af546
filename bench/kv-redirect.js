// Baseline (b): a plain JavaScript worker doing the same exact-link KV redirect (with
// `cacheTtl`) as the Rust worker's common path: host key, then any-host key, JSON or
// bare-string record, status, forward_query (target wins), Cache-Control by status.
// No isolate cache.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const host = url.hostname.toLowerCase().replace(/\.$/, "");
    let path = url.pathname.replace(/\/+/g, "/");
    if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
    // With KV's edge cache lifetime, as the worker reads (issue 13 defines (b) so;
    // Miniflare ignores the value but parsing the options costs about 12 us a read).
    let raw = await env.ROUTES.get(host + path, { cacheTtl: 60 });
    if (raw === null) raw = await env.ROUTES.get("*" + path, { cacheTtl: 60 });
    if (raw === null) {
      return new Response("Not Found\n", { status: 404, headers: { "cache-control": "no-store" } });
    }
    let record;
    try {
      record = JSON.parse(raw);
    } catch {
      return new Response("misconfigured\n", { status: 500, headers: { "cache-control": "no-store" } });
    }
    if (typeof record === "string") record = { to: record };
    const target = new URL(record.to);
    if (record.forward_query !== false) {
      for (const [k, v] of url.searchParams) if (!target.searchParams.has(k)) target.searchParams.append(k, v);
    }
    const status = record.status ?? 302;
    const cache = status === 301 || status === 308 ? "public, max-age=3600" : "private, no-store";
    return new Response(null, { status, headers: { location: target.href, "cache-control": cache } });
  },
};
