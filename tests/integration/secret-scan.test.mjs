// scripts/secret-scan: passes on a clean repository, fails on planted secrets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const scan = path.resolve("scripts/secret-scan");

function repoWith(files) {
  const dir = mkdtempSync(path.join(tmpdir(), "scan-"));
  execFileSync("git", ["init", "-q", dir]);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  execFileSync("git", ["-C", dir, "add", "."]);
  return dir;
}
// Built at run time so that this file itself holds no secret-shaped literal.
const hex32 = "0123456789abcdef".repeat(2);
const planted = {
  stripe: `const key = "sk_${"live"}_${"A1b2C3d4E5f6G7h8J9k0"}";`,
  dsn: `SENTRY = "https://${hex32}@o1.ingest.sentry.io/123"`,
  pem: `-----BEGIN ${"RSA PRIVATE"} KEY-----\nabc\n`,
  token: `ADMIN_TOKEN = "${"s3cr3t-real-value-123"}"`,
  github: `token: gh${"p"}_${"a".repeat(36)}`,
};

test("secret-scan passes this repository", () => {
  const r = spawnSync(scan, [], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("secret-scan passes fixtures marked test-/dev-/example-", () => {
  const dir = repoWith({ "a.js": `const ADMIN_TOKEN = "test-admin-token";\n` });
  assert.equal(spawnSync(scan, [dir], { encoding: "utf8" }).status, 0);
});

for (const [kind, text] of Object.entries(planted)) {
  test(`secret-scan fails on a committed ${kind}`, () => {
    const dir = repoWith({ "leak.txt": text + "\n", "ok.txt": "nothing here\n" });
    const r = spawnSync(scan, [dir], { encoding: "utf8" });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /leak\.txt:1/);
  });
}
