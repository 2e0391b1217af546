// Baseline (b'): bench/kv-redirect.js plus the read-your-writes check this worker
// makes on every KV read (a Cache API lookup in parallel with the KV get, see
// src/ryw.rs), so the cost of that check can be told apart from the cost of wasm.
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
