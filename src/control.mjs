// The control script's module (wrangler.control.toml `main`): the admin API, reached
// only through the edge script's CONTROL_<ENV> service binding, and the RouteDo
// Durable Object class (src/control.rs, src/route_do.rs). Built with
// `--features control` into build-control/ by scripts/build-worker.
import Entrypoint, { RouteDo } from "../build-control/index.js";
import { wasmHandler } from "./wasm-handler.mjs";

export default wasmHandler(Entrypoint);
export { RouteDo };
