# Shared shell setup for the project scripts. Source it; do not run it.
# Puts the project's tools on PATH in the order the build needs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
STATE_DIR="$ROOT/target/.setup"
# Which toolchain scripts/setup chose: "rustup" or "debian" (written by setup).
TOOLCHAIN_FILE="$STATE_DIR/toolchain"

use_toolchain() {
  local choice=rustup
  [ -f "$TOOLCHAIN_FILE" ] && choice="$(cat "$TOOLCHAIN_FILE")"
  if [ "$choice" = debian ]; then
    # Debian's rustc-web has our wasm32 sysroot; rustup's proxies must not shadow it.
    export PATH="/usr/bin:$HOME/.cargo/bin:$PATH"
    export RUSTC=/usr/bin/rustc CARGO=/usr/bin/cargo
  else
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  # worker-build must not download anything: point it at the pinned local tools.
  export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
  export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
  export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
  export PATH="$ROOT/node_modules/.bin:$ROOT/target/tools/venv/bin:$PATH"
  export WRANGLER_SEND_METRICS=false
}
