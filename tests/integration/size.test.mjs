// Issue 13's size target, pinned: the edge script's wasm (build/, what every click's
// isolate loads) stays at most 230 KB gzip (-9), as docs/performance.md measures it.
// The control script (build-control/) carries the admin API and RouteDo instead, and
// stays under issue 6's upload limit of 300 KiB gzip with its JS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const gzipped = (file) => gzipSync(readFileSync(file), { level: 9 }).length;

test("the edge script's wasm is at most 230 KB gzip", () => {
  const bytes = gzipped("build/index_bg.wasm");
  assert.ok(bytes <= 230_000, `build/index_bg.wasm: ${bytes} B gzip`);
});

test("the control script's wasm leaves room under the 300 KiB upload limit", () => {
  const bytes = gzipped("build-control/index_bg.wasm");
  assert.ok(bytes <= 280 * 1024, `build-control/index_bg.wasm: ${bytes} B gzip`);
});
