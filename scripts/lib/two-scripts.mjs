// The worker is two scripts per env (docs/architecture.md): the edge script
// (src/entry.mjs over build/) and the control script (src/control.mjs over
// build-control/: the admin API and the RouteDo class). Everything that runs the
// built worker in Miniflare (the integration harness, the browser test, the benches)
// describes the edge script and gets the pair from here, wired as wrangler.toml and
// wrangler.control.toml wire them.

/**
 * How Miniflare loads a built script (worker-build's JS and wasm, our entry modules),
 * at wrangler.toml's compatibility date: spread into a worker's options.
 */
export const BUILT = {
  modules: true,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-04-20",
};

/**
 * `[edge, control]` for a Miniflare edge worker `edge` of env `env`: the control
 * script `<edge name>-control` has the edge's bindings but no routes and no rate
 * limit, and holds ROUTE_DO_<ENV>'s class (unless the edge's Durable Object binding
 * is a wrapped stand-in, which it then shares); the edge reaches it through
 * CONTROL_<ENV> and binds the class there.
 */
export function withControl(edge, env) {
  const E = env.toUpperCase();
  const name = `${edge.name}-control`;
  const control = { ...edge, name, scriptPath: "src/control.mjs", routes: [] };
  delete control.ratelimits;
  delete control.serviceBindings;
  delete control.unsafeDirectSockets;
  if (edge.durableObjects?.[`ROUTE_DO_${E}`]) {
    const binding = edge.durableObjects[`ROUTE_DO_${E}`];
    control.durableObjects = { ...edge.durableObjects, [`ROUTE_DO_${E}`]: { ...binding } };
    edge.durableObjects = { ...edge.durableObjects, [`ROUTE_DO_${E}`]: { ...binding, scriptName: name } };
  }
  edge.serviceBindings = { ...edge.serviceBindings, [`CONTROL_${E}`]: name };
  return [edge, control];
}
