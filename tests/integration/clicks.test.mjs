// Exactly one Analytics Engine data point per request, with the documented schema.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, BLOBS, DOUBLES } from "./harness.mjs";

let h;
before(async () => {
  h = await start();
  await h.seed({
    "go.example.com/summer": { to: "https://shop.example.com/sale", id: "summer" },
    "go.example.com/bad": { raw: '"javascript:alert(1)"' },
  });
});
after(() => h.close());

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";

test("redirect click carries every schema field", async () => {
  const { click } = await h.request("https://Go.Example.com/summer/?a=1", {
    cf: { country: "DE", colo: "FRA" },
    headers: { referer: "https://News.Example.org/story?id=1", "user-agent": IPHONE },
  });
  assert.equal(click.blob_count, BLOBS.length);
  assert.equal(click.double_count, DOUBLES.length);
  assert.equal(click.index, "go.example.com");
  assert.equal(click.route_id, "summer");
  assert.equal(click.host, "go.example.com");
  assert.equal(click.path, "/summer");
  assert.equal(click.target, "https://shop.example.com/sale?a=1");
  assert.equal(click.outcome, "redirect");
  assert.equal(click.country, "DE");
  assert.equal(click.colo, "FRA");
  assert.equal(click.referer_host, "news.example.org");
  assert.equal(click.ua_class, "mobile");
  assert.equal(click.env, "local");
  assert.equal(click.env_source, "local", "written to CLICKS_LOCAL");
  assert.match(click.release, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
  assert.equal(click.method, "GET");
  assert.equal(click.status, 302);
  assert.ok(click.latency_ms >= 0 && click.latency_ms < 5000, `latency ${click.latency_ms}`);
});

const outcomes = [
  ["redirect", "https://go.example.com/summer", {}, 302],
  ["miss", "https://go.example.com/none", {}, 404],
  ["invalid_record", "https://go.example.com/bad", {}, 500],
  ["store_error", "https://x.kvfail.test/summer", {}, 503],
  ["method_not_allowed", "https://go.example.com/summer", { method: "DELETE" }, 405],
  ["options", "https://go.example.com/summer", { method: "OPTIONS" }, 204],
  ["health", "https://go.example.com/__redirector/health", {}, 200],
  ["uri_too_long", `https://go.example.com/${"x".repeat(2100)}`, {}, 414],
];
for (const [outcome, url, init, status] of outcomes) {
  test(`exactly one click for outcome ${outcome}`, async () => {
    const { res, click } = await h.request(url, init);
    assert.equal(res.status, status);
    assert.equal(click.outcome, outcome);
    assert.equal(click.status, status);
  });
}

test("user-agent classes and absent cf/referer", async () => {
  const ua = async (agent) =>
    (await h.request("https://go.example.com/summer", { headers: agent ? { "user-agent": agent } : {} })).click;
  assert.equal((await ua("Googlebot/2.1 (+http://www.google.com/bot.html)")).ua_class, "bot");
  assert.equal((await ua("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)")).ua_class, "tablet");
  assert.equal((await ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120")).ua_class, "desktop");
  const none = await ua(null);
  assert.equal(none.referer_host, "");
});
