// The fetch handler both scripts' entry modules export (src/entry.mjs, the edge
// script; src/control.mjs, the control script): it hands each request straight to
// the Rust `fetch` of a worker-build output (scripts/build-worker). worker-build's own default export is a Proxy
// around a `WorkerEntrypoint` class: the runtime constructs that class for every
// request, and the Proxy wraps `fetch` in a new Proxy and an extra async function each
// time. That per-request wrapping cost 5-10 % of this worker's CPU per request on
// the skewed bench mix (docs/performance.md); this plain handler object skips it.
//
// What the wrapping was for is kept, and pinned by tests/integration/panic.test.mjs.
// After a Rust panic (panic = "abort") the wasm instance is dead and must be rebuilt
// before it runs again. The panic hooks (the `worker` crate's, and ours on top of it,
// src/lib.rs `install_panic_hook`) set `criticalError`; while it is set, the next
// request takes worker-build's own entry, whose constructor rebuilds the instance and
// clears it. Every request the dead instance was still serving is answered 503 (not
// left hanging): a panic before the first await throws here, synchronously; one after
// an await happens in the callback of the promise or timer it waited on, and the hook
// calls `__redirectorPanicked` below.
// The other requests waiting on that instance notice it in their own request context
// (workerd cannot settle one request's promise from another's): each checks, every
// WATCH_MS while it waits, whether a panic has happened since it began.
/** The default export for a worker-build output's default export `Entrypoint`. */
export function wasmHandler(Entrypoint) {
  const state = globalThis.__worker_init_state;
  const wasmFetch = Entrypoint.prototype.fetch;
  if (typeof wasmFetch !== "function" || typeof state !== "object" || state === null) {
    // A worker-build upgrade changed its output: fail at load, not per request.
    throw new Error("src/wasm-handler.mjs: the wasm module is not the worker-build output it expects");
  }

  /** Panics so far in this isolate; a request that saw it change lost its instance. */
  let panics = 0;
  const WATCH_MS = 50;
  globalThis.__redirectorPanicked = () => {
    state.criticalError = true;
    panics += 1;
  };

  function unavailable() {
    return new Response("Service Unavailable: try again shortly\n", {
      status: 503,
      // x-redirector-panicked: this request's click was never written; the edge
      // script writes it when its control script answers so (src/forward.rs).
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "retry-after": "5", "x-redirector-panicked": "1" },
    });
  }

  function crashed(e) {
    if (!(e instanceof WebAssembly.RuntimeError)) return false;
    state.criticalError = true;
    panics += 1;
    return true;
  }

  return {
    fetch(request, env, ctx) {
      if (state.criticalError) return new Entrypoint(ctx, env).fetch(request);
      let answer;
      try {
        // worker-build's `fetch` reads env and ctx from `this`, as on its class.
        answer = wasmFetch.call({ env, ctx }, request);
      } catch (e) {
        if (crashed(e)) return unavailable();
        throw e;
      }
      // A cached hit is answered without a Promise; only I/O waits are tracked.
      if (!(answer instanceof Promise)) return answer;
      const seen = panics;
      return new Promise((resolve, reject) => {
        const watch = setInterval(() => {
          if (panics !== seen) resolve(unavailable());
        }, WATCH_MS);
        answer
          .then(resolve, (e) => (crashed(e) ? resolve(unavailable()) : reject(e)))
          .finally(() => clearInterval(watch));
      });
    },
  };
}
