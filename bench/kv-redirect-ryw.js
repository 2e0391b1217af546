// Baseline (b'): bench/kv-redirect.js plus a read-your-writes pin lookup next to every
// KV read (a Cache API lookup in parallel with the KV get), the design this worker
// used before its per-isolate write marker (core/src/ryw.rs): it shows what that
// per-read check costs on its own, apart from the cost of wasm.
import baseline from "./kv-redirect.js";

const PIN = "https://ryw.redirector.invalid/bench/";

export default {
  async fetch(request, env) {
    const routes = {
      async get(key) {
        const [value, pin] = await Promise.all([env.ROUTES.get(key, { cacheTtl: 60 }), caches.default.match(PIN + encodeURIComponent(key))]);
        return pin ? pin.text() : value;
      },
    };
    return baseline.fetch(request, { ...env, ROUTES: routes });
  },
};
