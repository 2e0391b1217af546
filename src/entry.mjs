// The module workerd loads (wrangler.toml `main`, the tests, the bench).
//
// It hands each request straight to the Rust `fetch` in build/index.js, the output of
// scripts/build-worker (worker-build). worker-build's own default export is a Proxy
// around a `WorkerEntrypoint` class: the runtime constructs that class for every
// request, and the Proxy wraps `fetch` in a new Proxy and an extra async function each
// time. That per-request wrapping cost 5-10 % of this worker's CPU per request on
// the skewed bench mix (docs/performance.md); this plain handler object skips it.
//
// What the wrapping was for is kept. After a Rust panic (panic = "abort") the wasm
// instance must be rebuilt before it runs again: worker-build's glue marks the
// instance terminated and rebuilds it on the next call into wasm, and the panic hook
// in the `worker` crate sets `criticalError`. While that flag is set, the request takes
// worker-build's own entry, whose constructor rebuilds the instance and clears it.
import Entrypoint, { RouteDo } from "../build/index.js";

const state = globalThis.__worker_init_state;
const wasmFetch = Entrypoint.prototype.fetch;
if (typeof wasmFetch !== "function" || typeof state !== "object" || state === null) {
  // A worker-build upgrade changed its output: fail at load, not per request.
  throw new Error("src/entry.mjs: build/index.js is not the worker-build output it expects");
}

export default {
  fetch(request, env, ctx) {
    if (state.criticalError) return new Entrypoint(ctx, env).fetch(request);
    try {
      // worker-build's `fetch` reads env and ctx from `this`, as on its class.
      return wasmFetch.call({ env, ctx }, request);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) state.criticalError = true;
      throw e;
    }
  },
};

export { RouteDo };
