// scripts/hostnames against the Cloudflare API stand-in: add, check, list and remove
// a seller's custom hostname, in the documented formats, and what it was asked.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startStandIn } from "./cf-standin.mjs";

const ZONE = "00000000000000000000000000005a02"; // staging's, config/environments.json
let api;
before(async () => (api = await startStandIn()));
after(() => api.close());

function hostnames(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn("scripts/hostnames", args, { env: { ...process.env, ...api.env, ...env } });
    let out = "", err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

test("add a seller's hostname, check it until TLS is active, list, remove", async () => {
  const add = await hostnames(["add", "--env", "staging", "Shop.Seller.example"]);
  assert.equal(add.code, 0, add.err);
  assert.match(add.out, /added shop\.seller\.example:\nshop\.seller\.example\s+pending\s+tls pending_validation/);
  assert.match(add.out, /ownership: TXT _cf-custom-hostname\.shop\.seller\.example = standin/);
  const created = api.requests.find((r) => r.method === "POST");
  assert.equal(created.path, `/client/v4/zones/${ZONE}/custom_hostnames`);
  assert.deepEqual(JSON.parse(created.body), { hostname: "shop.seller.example", ssl: { method: "http", type: "dv" } });
  assert.match((await hostnames(["add", "--env", "staging", "shop.seller.example"])).out, /already a custom hostname/, "adding twice changes nothing");

  const pending = await hostnames(["check", "--env", "staging", "shop.seller.example"]);
  assert.equal(pending.code, 1);
  assert.match(pending.out, /not yet serving over TLS/);
  const h = api.state.zones[ZONE].hostnames[0];
  Object.assign(h, { status: "active", ssl: { ...h.ssl, status: "active" } }); // the CA issued it
  const active = await hostnames(["check", "--env", "staging", "shop.seller.example"]);
  assert.equal(active.code, 0);
  assert.match(active.out, /shop\.seller\.example\s+active\s+tls active[\s\S]*serving over TLS/);

  const list = await hostnames(["list", "--env", "staging"]);
  assert.equal(list.code, 0);
  assert.match(list.out, /1 custom hostnames; 0 TLS problems/);

  const refused = await hostnames(["remove", "--env", "staging", "shop.seller.example"]);
  assert.equal(refused.code, 2);
  assert.equal(api.state.zones[ZONE].hostnames.length, 1, "not removed without --yes");
  const removed = await hostnames(["remove", "--env", "staging", "shop.seller.example", "--yes"]);
  assert.equal(removed.code, 0);
  assert.ok(api.requests.some((r) => r.method === "DELETE" && r.path === `/client/v4/zones/${ZONE}/custom_hostnames/${h.id}`));
  assert.equal((await hostnames(["check", "--env", "staging", "shop.seller.example"])).code, 1);
});

test("list reports stuck and failed certificates (exit 1); bad input and missing credentials are refused", async () => {
  api.state.zones[ZONE].hostnames.push({ id: "x1", hostname: "stuck.seller.example", status: "pending", created_at: "2020-01-01T00:00:00Z", ssl: { status: "pending_validation" } });
  const list = await hostnames(["list", "--env", "staging"]);
  assert.equal(list.code, 1);
  assert.match(list.out, /stuck\.seller\.example: certificate pending_validation for \d+\.\d h/);
  for (const args of [["add", "--env", "staging", "https://x.example/"], ["add", "--env", "qa", "x.example"], ["nuke", "--env", "staging"]]) {
    assert.equal((await hostnames(args)).code, 2, args.join(" "));
  }
  const noToken = await hostnames(["list", "--env", "staging"], { CLOUDFLARE_API_TOKEN: "" });
  assert.equal(noToken.code, 2);
  assert.match(noToken.err, /needs CLOUDFLARE_API_TOKEN/);
  const wrong = await hostnames(["list", "--env", "staging"], { CLOUDFLARE_API_TOKEN: "test-wrong" });
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /401: 10000 Authentication error/);
});
