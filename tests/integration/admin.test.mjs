// Admin API: auth, validation refusals, writes through ROUTE_DO, bulk all-or-nothing,
// and read-your-writes over an eventually consistent KV.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, ADMIN_TOKEN } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
});
after(() => h.close());

const route = (key) => `route?key=${encodeURIComponent(key)}`;

test("auth: missing and wrong tokens are 401, the right one works", async () => {
  const body = { to: "https://example.com/a" };
  const missing = await h.admin("PUT", route("go.example.com/auth"), { body, token: null });
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), "Bearer");
  const wrong = await h.admin("PUT", route("go.example.com/auth"), { body, token: "nope" });
  assert.equal(wrong.status, 401);
  assert.equal(await h.kv.get("go.example.com/auth"), null, "nothing written");
  const right = await h.admin("PUT", route("go.example.com/auth"), { body });
  assert.equal(right.status, 200);
  assert.deepEqual(await right.json(), {
    ok: true,
    written: [{ key: "go.example.com/auth", action: "put" }],
    kv_pending: 0,
    links_pending: 0,
    in_effect: true,
    hosts: ["go.example.com"],
    hosts_pending: [],
  });
  assert.deepEqual(JSON.parse(await h.kv.get("go.example.com/auth")), body, "written through to KV");
  assert.equal((await h.fetch("https://go.example.com/auth")).headers.get("location"), "https://example.com/a");
});

test("auth: without the ADMIN_TOKEN secret the admin API does not exist", async () => {
  const res = await h.admin("GET", route("x.edge.test/a"), { base: "https://x.edge.test", token: "" });
  assert.equal(res.status, 404);
});

test("admin requests write one click with outcome admin", async () => {
  const { click } = await h.request(`https://go.example.com/__redirector/admin/${route("go.example.com/auth")}`, {
    headers: { authorization: "Bearer test-admin-token" },
  });
  assert.equal(click.outcome, "admin");
  assert.equal(click.route_id, "go.example.com/auth");
});

const refusals = [
  ["javascript target", "go.example.com/v1", { to: "javascript:alert(1)" }, "to"],
  ["protocol-relative", "go.example.com/v2", "//evil.example", "to"],
  ["bad status", "go.example.com/v3", { to: "https://e.com", status: 200 }, "status"],
  ["max_clicks without strong", "go.example.com/v4", { to: "https://e.com", max_clicks: 3 }, "max_clicks"],
  ["bad rule", "rules:go.example.com", [{ from: "/a/:x", to: "https://e.com/:x" }, { from: "/b/*", to: "https://u:p@e.com" }], "[1].to"],
  ["rule without from", "rules:*", [{ to: "https://e.com" }], "[0].from"],
  ["strong rule", "rules:*", [{ from: "/x", to: "https://e.com", strong: true }], "[0].strong"],
  ["reserved key prefix", "stats:go.example.com/x", "https://e.com", "key"],
  ["key without path", "go.example.com", "https://e.com", "key"],
  // The worker has no IDNA tables: these reach the runtime's URL parser (src/unicode.rs).
  ["invalid punycode in a target", "go.example.com/v5", { to: "https://xn--zz.example/" }, "to"],
  ["invalid punycode in a key's host", "xn--zz.example/v6", "https://e.com", "key"],
];
for (const [name, key, value, field] of refusals) {
  test(`validation refuses ${name} with a 400 naming the field; nothing is written`, async () => {
    const res = await h.admin("PUT", route(key), { body: value });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.field, field);
    assert.ok(body.reason.length > 0);
    assert.equal(await h.kv.get(key), null);
    if (field !== "key") assert.equal((await h.admin("GET", route(key))).status, 404);
  });
}

test("Unicode hosts in keys and targets: IDNA by the runtime's URL parser, as the CLI does with its tables", async () => {
  // src/unicode.rs: the wasm carries no IDNA or NFC tables.
  const put = await h.admin("PUT", route("B\u00dccher.example/Caf\u0065\u0301"), { body: { to: "https://Stra\u00dfe.example/k\u00f6ln" } });
  assert.equal(put.status, 200);
  assert.deepEqual((await put.json()).written, [{ key: "xn--bcher-kva.example/Caf%C3%A9", action: "put" }]);
  const res = await h.fetch("https://b\u00fccher.example/Caf\u00e9");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "https://xn--strae-oqa.example/k%C3%B6ln");
  assert.equal((await h.admin("DELETE", route("xn--bcher-kva.example/Caf%C3%A9"))).status, 200);
});

test("PUT, GET, DELETE a link; keys are canonicalised", async () => {
  const put = await h.admin("PUT", route("GO.example.com/Crud/"), { body: "https://example.com/crud" });
  assert.deepEqual((await put.json()).written, [{ key: "go.example.com/Crud", action: "put" }]);
  const read = await (await h.admin("GET", route("go.example.com/Crud"))).json();
  assert.deepEqual(read, { key: "go.example.com/Crud", value: "https://example.com/crud", source: "durable_object", clicks: null });
  assert.equal((await h.fetch("https://go.example.com/Crud")).status, 302);
  assert.equal((await h.admin("DELETE", route("go.example.com/Crud"))).status, 200);
  assert.equal((await h.fetch("https://go.example.com/Crud")).status, 404);
  assert.equal((await h.admin("GET", route("go.example.com/Crud"))).status, 404);
  // KV takes one write per second per key: the delete follows the put a second later.
  for (let i = 0; i < 40 && !(await (await h.admin("GET", "status?host=go.example.com")).json()).caught_up; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(await h.kv.get("go.example.com/Crud"), null);
});

test("GET reads KV when the Durable Object has never seen the key", async () => {
  await h.seed({ "go.example.com/kv-only": "https://example.com/kv" });
  const read = await (await h.admin("GET", route("go.example.com/kv-only"))).json();
  assert.equal(read.source, "kv");
  assert.equal(read.value, "https://example.com/kv");
});

test("rule arrays through the admin API take effect at once", async () => {
  const rules = [{ from: "/r/:id", to: "https://example.com/rules/:id" }];
  assert.equal((await h.admin("PUT", route("rules:admin.example.com"), { body: rules })).status, 200);
  assert.equal((await h.fetch("https://admin.example.com/r/9")).headers.get("location"), "https://example.com/rules/9");
});

test("bulk: all valid entries are written", async () => {
  const body = [
    { key: "bulk1.example.com/a", value: "https://example.com/1" },
    { key: "bulk2.example.com/b", value: { to: "https://example.com/2", status: 301 } },
    { key: "rules:bulk3.example.com", value: [{ from: "/*", to: "https://example.com/3/:splat" }] },
    { key: "*/bulk-any", value: "https://example.com/any" },
  ];
  const res = await h.admin("POST", "bulk", { body });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).written.length, 4);
  assert.equal((await h.fetch("https://bulk1.example.com/a")).headers.get("location"), "https://example.com/1");
  assert.equal((await h.fetch("https://bulk2.example.com/b")).status, 301);
  assert.equal((await h.fetch("https://bulk3.example.com/x/y")).headers.get("location"), "https://example.com/3/x/y");
  assert.equal((await h.fetch("https://z.example.com/bulk-any")).headers.get("location"), "https://example.com/any");
  const del = await h.admin("POST", "bulk", { body: [{ key: "bulk1.example.com/a", delete: true }] });
  assert.equal(del.status, 200);
  assert.equal((await h.fetch("https://bulk1.example.com/a")).status, 404);
});

test("bulk: one invalid entry refuses the whole request, nothing is written", async () => {
  const body = [
    { key: "nb1.example.com/a", value: "https://example.com/1" },
    { key: "nb2.example.com/b", value: { to: "https://example.com/2", status: 418 } },
  ];
  const res = await h.admin("POST", "bulk", { body });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).field, "[1].value.status");
  assert.equal(await h.kv.get("nb1.example.com/a"), null);
  assert.equal((await h.fetch("https://nb1.example.com/a")).status, 404);
});

test("read-your-writes: a new link that was just a miss is served at once", async () => {
  const base = "https://go.ryw.test";
  assert.equal((await h.fetch(`${base}/fresh`)).status, 404, "a miss first");
  assert.equal((await h.admin("PUT", route("go.ryw.test/fresh"), { body: "https://example.com/fresh", base })).status, 200);
  const res = await h.fetch(`${base}/fresh`);
  assert.equal(res.status, 302, "KV still shows the miss for 60 s; this location does not");
  assert.equal(res.headers.get("location"), "https://example.com/fresh");
});

test("read-your-writes: updates and deletes are seen at once in this location", async () => {
  const base = "https://go.ryw.test";
  await h.laggyInner.put("go.ryw.test/moving", JSON.stringify("https://example.com/v1"));
  assert.equal((await h.fetch(`${base}/moving`)).headers.get("location"), "https://example.com/v1");
  await h.admin("PUT", route("go.ryw.test/moving"), { body: "https://example.com/v2", base });
  assert.equal((await h.fetch(`${base}/moving`)).headers.get("location"), "https://example.com/v2");
  await h.admin("DELETE", route("go.ryw.test/moving"), { base });
  assert.equal((await h.fetch(`${base}/moving`)).status, 404);
  await h.admin("PUT", route("rules:go.ryw.test"), { body: [{ from: "/r/*", to: "https://example.com/r/:splat" }], base });
  assert.equal((await h.fetch(`${base}/r/a`)).headers.get("location"), "https://example.com/r/a");
});

test("admin writes need the Durable Object: 503 when it fails", async () => {
  const res = await h.admin("PUT", route("x.dofail.test/a"), { body: "https://example.com/a", base: "https://x.dofail.test" });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("cache-control"), "no-store");
});

// The admin body is read only after the token is checked, only up to 4 MiB, and only
// for ADMIN_BODY_TIMEOUT_MS (1 s in this env).
const MAX_BODY = 4 * 1024 * 1024;

/** A request body that sends `first` bytes and then stalls (never ends). */
function stalling(first) {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(first));
    },
  });
}

const post = (path, init, base = "https://go.example.com") =>
  h.fetch(`${base}/__redirector/admin/${path}`, { method: "POST", duplex: "half", ...init });

test("regression: an unauthenticated admin body is never read (answered while it is still arriving)", async () => {
  const res = await post("bulk", { body: stalling(64 * 1024), headers: { "content-length": String(90 * 1024 * 1024) } });
  assert.equal(res.status, 401, "answered before the body ended");
  const wrong = await post("bulk", { body: stalling(1024), headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
});

test("regression: without ADMIN_TOKEN the admin API answers 404 without reading a body", async () => {
  const res = await post("bulk", { body: stalling(1024), headers: { authorization: "Bearer x" } }, "https://x.edge.test");
  assert.equal(res.status, 404);
});

test("regression: an authorised body over 4 MiB is refused by Content-Length, unread", async () => {
  const res = await post("bulk", {
    body: stalling(1024),
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-length": String(MAX_BODY + 1) },
  });
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("cache-control"), "no-store");
});

test("regression: an authorised streamed body is cut off once it passes 4 MiB", async () => {
  let sent = 0;
  const chunk = new Uint8Array(256 * 1024).fill(0x61);
  const body = new ReadableStream({
    pull(controller) {
      sent += chunk.length;
      controller.enqueue(chunk);
      if (sent > 64 * MAX_BODY) controller.close();
    },
  });
  const res = await post("bulk", { body, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 413);
  assert.ok(sent < 8 * MAX_BODY, `stopped reading early (${sent} bytes pulled)`);
});

test("regression: a slow authorised upload is answered 408 after the time limit", async () => {
  const started = Date.now();
  const res = await post("bulk", { body: stalling(10), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 408);
  assert.ok(Date.now() - started < 10_000, "within the limit, not held open");
  assert.equal(await h.kv.get("go.example.com/slow"), null);
});

test("a record over 1 MiB is refused (the shard's storage holds 2 MB a value)", async () => {
  const res = await h.admin("PUT", route("go.example.com/huge"), { body: { to: "https://example.com/", id: "x".repeat(200), note: "n".repeat(1024 * 1024) } });
  assert.equal(res.status, 400);
  assert.match((await res.json()).reason, /over 1048576 bytes/);
  assert.equal((await h.admin("GET", route("go.example.com/huge"))).status, 404);
});

test("the control script answers for the admin API: its sealed answer never reaches the client", async () => {
  const res = await h.admin("PUT", route("go.example.com/sealed"), { body: { to: "https://example.com/sealed" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-redirector-writes"), null, "the edge opened the answer");
  const text = await res.text();
  const body = JSON.parse(text);
  assert.equal(body.ok, true);
  assert.equal(body.writes, undefined, "the client's body, not the envelope");
  // A read and a refusal are not sealed either.
  const read = await h.admin("GET", route("go.example.com/sealed"));
  assert.equal(read.headers.get("x-redirector-writes"), null);
  assert.equal((await read.json()).value.to, "https://example.com/sealed");
});

test("an edge script without its control script answers the admin API 503, writes one click, and stores nothing", async () => {
  // pair-peer: the same KV, ADMIN_TOKEN set, no CONTROL_PAIR binding.
  const url = `https://peer.pair.test/__redirector/admin/${route("peer.pair.test/nocontrol")}`;
  h.clicks.skipAll();
  const res = await h.peer(url, { method: "PUT", headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ to: "https://example.com/n" }) });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const [click] = await h.clicks.next(1);
  assert.deepEqual([click.blobs[2], click.doubles[0], click.env], ["/__redirector/admin/route", 503, "pair"]);
  assert.equal(await h.laggyInner.get("peer.pair.test/nocontrol"), null, "nothing written");
  // Without the token it never gets that far: 401, as the control script would answer.
  const anonymous = await h.peer(url, { method: "PUT", body: "{}" });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get("www-authenticate"), "Bearer");
});
