// The edge script's module (wrangler.toml `main`, the tests, the bench): redirects,
// explain and health, and the admin API forwarded to the control script
// (src/control.mjs). The handler, and how it survives a Rust panic, is
// src/wasm-handler.mjs's.
import Entrypoint from "../build/index.js";
import { wasmHandler } from "./wasm-handler.mjs";

export default wasmHandler(Entrypoint);
