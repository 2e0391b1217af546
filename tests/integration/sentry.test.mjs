// Sentry: faults become envelopes posted to SENTRY_DSN from ctx.waitUntil, tagged
// with environment and release; nothing is sent without a DSN. The "Sentry" here is
// a local HTTP endpoint that receives and checks the envelopes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { start } from "./harness.mjs";

let h;
let server;
const envelopes = [];
let hold = null; // when set, envelope requests wait on this promise before answering
let arrived = () => {};

before(async () => {
  server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    envelopes.push({ url: req.url, headers: req.headers, lines: body.trim().split("\n").map((l) => JSON.parse(l)) });
    arrived();
    if (hold) await hold;
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const dsn = `http://publickey@127.0.0.1:${server.address().port}/42`;
  h = await start({ sentryDsn: dsn });
  await h.seed({ "go.example.com/broken": { raw: '"javascript:alert(1)"' }, "go.example.com/fine": "https://example.com/" });
});
after(async () => {
  await h.close();
  server.close();
});

const nextEnvelope = (n) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no envelope (have ${envelopes.length})`)), 5000);
    const check = () => { if (envelopes.length >= n) { clearTimeout(timer); resolve(envelopes[n - 1]); } };
    arrived = check;
    check();
  });

test("an invalid record is reported once, with environment and release", async () => {
  const before = envelopes.length;
  const res = await h.fetch("https://go.example.com/broken");
  assert.equal(res.status, 500);
  const health = await (await h.fetch("https://go.example.com/__redirector/health")).json();
  const env = await nextEnvelope(before + 1);
  assert.equal(env.url, "/api/42/envelope/");
  assert.equal(env.headers["content-type"], "application/x-sentry-envelope");
  assert.match(env.headers["x-sentry-auth"], /^Sentry sentry_version=7, sentry_key=publickey, sentry_client=redirector\//);
  const [header, item, event] = env.lines;
  assert.match(header.event_id, /^[0-9a-f]{32}$/);
  assert.equal(item.type, "event");
  assert.equal(event.event_id, header.event_id);
  assert.equal(event.environment, "local-test");
  assert.equal(event.release, health.release);
  assert.equal(event.level, "error");
  assert.equal(event.tags.fault, "invalid_record");
  assert.equal(event.tags.route, "go.example.com/broken");
  assert.match(event.message.formatted, /invalid route record/);
  assert.equal(event.request.url, "https://go.example.com/broken");
});

test("a KV failure is reported as store_error", async () => {
  const before = envelopes.length;
  assert.equal((await h.fetch("https://x.kvfail.test/a")).status, 503);
  const env = await nextEnvelope(before + 1);
  assert.equal(env.lines[2].tags.fault, "store_error");
  assert.equal(env.lines[2].environment, "local-test");
});

test("the response does not wait for Sentry", { timeout: 10_000 }, async () => {
  let release;
  hold = new Promise((r) => (release = r));
  const before = envelopes.length;
  const res = await h.fetch("https://go.example.com/broken");
  assert.equal(res.status, 500, "answered while the envelope post may still be pending");
  await nextEnvelope(before + 1);
  // the envelope request is being held open by the endpoint, yet we already have the response
  release();
  hold = null;
});

test("no fault, no event; no DSN, no event", async () => {
  await h.seed({ "x.edge.test/broken": { raw: '"javascript:alert(1)"' } }, h.edgeKv);
  const before = envelopes.length;
  assert.equal((await h.fetch("https://go.example.com/fine")).status, 302);
  assert.equal((await h.fetch("https://x.edge.test/broken")).status, 500, "the edge worker has no SENTRY_DSN");
  // a reported fault afterwards proves the endpoint was reachable and ordered
  await h.fetch("https://go.example.com/broken");
  const env = await nextEnvelope(before + 1);
  assert.equal(env.lines[2].tags.route, "go.example.com/broken");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(envelopes.length, before + 1, "exactly one envelope: none for the redirect or the DSN-less worker");
});

test("regression: one broken route under load sends at most 10 events a minute per isolate, never the query string", async () => {
  await new Promise((r) => setTimeout(r, 100));
  const before = envelopes.length;
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => h.fetch(`https://go.example.com/broken?email=someone%40example.com&i=${i}`)));
  assert.ok(answers.every((r) => r.status === 500), "every request still answered");
  await new Promise((r) => setTimeout(r, 1000));
  const sent = envelopes.slice(before);
  assert.ok(sent.length <= 10, `${sent.length} events for 40 faults`);
  for (const e of sent) {
    const text = JSON.stringify(e.lines);
    assert.doesNotMatch(text, /email|someone|i=\d/, "no query string or personal data in the event");
  }
});
