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

function plainDir(files) {
  const dir = mkdtempSync(path.join(tmpdir(), "scan-plain-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
const cfToken = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_-0123456".slice(0, 40);

// Each hole the scan had, pinned: the file is planted, and the scan must fail on it.
const holes = {
  "regression: an allow-listed word elsewhere on the line exempted it": { "leak.js": `const ADMIN_TOKEN = "${"s3cr3t-real-value-123"}"; // like "test-fixtures"\n` },
  "regression: an allow-listed word exempted a Stripe key too": { "leak.js": `charge("sk_${"live"}_${"A1b2C3d4E5f6G7h8J9k0"}", "test-order")\n` },
  "regression: unquoted NAME=value in a .env file passed": { ".env": `ADMIN_TOKEN=${"s3cr3tvalue123"}\n` },
  "regression: unquoted NAME: value in YAML passed": { "deploy.yml": `env:\n  CLOUDFLARE_API_TOKEN: ${"abcdefgh12345678"}\n` },
  "regression: .dev.vars with a real token passed": { ".dev.vars": `export EXPLAIN_TOKEN=${"zz9-real-explain-token"}\n` },
  "regression: a Cloudflare API token had no pattern": { "deploy.sh": `CF_API_TOKEN=${cfToken} wrangler deploy\n` },
  "regression: a Cloudflare token as a bearer header had no pattern": { "curl.sh": `curl -H "Authorization: Bearer ${cfToken}" https://api.cloudflare.com/client/v4/user/tokens/verify\n` },
  "regression: a GitHub fine-grained token had no pattern": { "ci.txt": `GH=github_${"pat"}_${"11ABCDEFG0".repeat(7)}\n` },
};
for (const [name, files] of Object.entries(holes)) {
  test(name, () => {
    const dir = repoWith(files);
    const r = spawnSync(scan, [dir], { encoding: "utf8" });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /possible secret/);
  });
}

test("regression: outside a git work tree the scan passed everything", () => {
  const dir = plainDir({ "leak.txt": planted.token + "\n" });
  const r = spawnSync(scan, [dir], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout, /leak\.txt:1/);
  assert.equal(spawnSync(scan, [plainDir({ "ok.txt": "nothing\n" })], { encoding: "utf8" }).status, 0);
});

test("fixtures stay allowed where the value itself says so; variables are not secrets", () => {
  const dir = repoWith({
    ".env": "ADMIN_TOKEN=test-local-admin\nCLOUDFLARE_API_TOKEN=${CF_TOKEN}\n",
    "ci.yml": "env:\n  CLOUDFLARE_API_TOKEN: ${{ secrets.CLOUDFLARE_API_TOKEN }}\n",
    "a.js": 'headers: { authorization: `Bearer ${token}` }\nconst EXPLAIN_TOKEN = "example-explain";\n',
  });
  const r = spawnSync(scan, [dir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout);
});
