// The worker's wasm has no Unicode tables: NFC and IDNA come from workerd's own
// String.prototype.normalize and URL (src/unicode.rs). This runs the table the CLI's
// ICU4X tables are held to natively (core/tests/data/unicode_cases.txt) through the
// built worker in workerd: hosts and paths in admin API keys, targets as records
// that are then followed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { start } from "./harness.mjs";

const unescape = (s) => s.replace(/\\u\{([0-9a-fA-F]+)\}/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16)));
const cases = readFileSync(new URL("../../core/tests/data/unicode_cases.txt", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => l.split("\t").map(unescape));

let h;
before(async () => {
  h = await start();
});
after(() => h.close());

const route = (key) => `route?key=${encodeURIComponent(key)}`;

test("the table has cases of every kind", () => {
  for (const kind of ["host", "path", "to"]) assert.ok(cases.some(([k]) => k === kind), kind);
});

// Hosts as rules keys (`rules:<host>`, where the whole text after the prefix is a
// host: a link key would take a "/" as the start of its path), paths as link keys.
for (const [kind, input, expected] of cases) {
  if (kind !== "host" && kind !== "path") continue;
  test(`${kind} ${JSON.stringify(input)} in a key: ${expected}`, async () => {
    const [key, body, written] =
      kind === "host"
        ? [`rules:${input}`, [{ from: "/u", to: "https://example.com/unicode" }], `rules:${expected}`]
        : [`go.example.com${input}`, "https://example.com/unicode", `go.example.com${expected}`];
    const res = await h.admin("PUT", route(key), { body });
    if (expected === "ERR") {
      assert.equal(res.status, 400);
      assert.equal((await res.json()).field, "key");
      return;
    }
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).written, [{ key: written, action: "put" }]);
    assert.equal((await h.admin("DELETE", route(written))).status, 200);
  });
}

for (const [i, [kind, input, expected]] of cases.entries()) {
  if (kind !== "to") continue;
  test(`target ${JSON.stringify(input)}: ${expected}`, async () => {
    const key = `go.example.com/unicode-to-${i}`;
    const res = await h.admin("PUT", route(key), { body: { to: input } });
    if (expected === "ERR") {
      assert.equal(res.status, 400);
      assert.equal((await res.json()).field, "to");
      assert.equal(await h.kv.get(key), null, "nothing written");
      return;
    }
    assert.equal(res.status, 200);
    const followed = await h.fetch(`https://${key}`);
    assert.equal(followed.status, 302);
    assert.equal(followed.headers.get("location"), expected);
    assert.equal((await h.admin("DELETE", route(key))).status, 200);
  });
}
