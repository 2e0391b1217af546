// Issue 14: links behave as their owners expect, in workerd (plain URL values, fair
// canary splits, previews and bots, fallbacks). Each test fails on the code before it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
const route = (key) => `route?key=${encodeURIComponent(key)}`;

before(async () => {
  h = await start();
  await h.seed({
    "go.example.com/plain": { raw: "https://shop.example.com/x" },
    "go.example.com/plain-nl": { raw: "https://shop.example.com/x\n" },
    "go.example.com/plain-userinfo": { raw: "https://user:pw@shop.example.com/" },
    "go.example.com/split": { to: "https://shop.example.com/a", canary: { to: "https://shop.example.com/b", percent: 50 } },
    "go.example.com/ended": { to: "https://shop.example.com/sale", expires: "2020-01-01T00:00:00Z", fallback: "https://shop.example.com/sale-ended" },
    "go.example.com/paused": { to: "https://shop.example.com/p", enabled: false, fallback: "https://shop.example.com/paused", id: "paused" },
    "go.example.com/bad-fallback": { to: "https://shop.example.com/p", enabled: false, fallback: "javascript:alert(1)" },
    "fallback:seller.example.com": "https://seller-shop.example.com/",
  });
});
after(() => h.close());

test("regression: a plain URL put in KV without JSON quotes redirects (it answered 500)", async () => {
  const { res, click } = await h.request("https://go.example.com/plain?utm_source=x");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "https://shop.example.com/x?utm_source=x");
  assert.equal(click.outcome, "redirect");
  for (const path of ["plain-nl", "plain-userinfo"]) {
    const bad = await h.request(`https://go.example.com/${path}`);
    assert.equal(bad.res.status, 500, `${path}: plain text is validated like any target`);
    assert.equal(bad.res.headers.get("location"), null);
  }
});

test("regression: 30 fresh profiles behind one address with one browser split across both variants", async () => {
  const headers = { "user-agent": CHROME, "cf-connecting-ip": "198.51.100.7" };
  const seen = new Map();
  const cookies = new Set();
  for (let i = 0; i < 30; i++) {
    const res = await h.fetch("https://go.example.com/split", { headers });
    const location = res.headers.get("location");
    seen.set(location, (seen.get(location) ?? 0) + 1);
    cookies.add(res.headers.get("set-cookie").split(";")[0]);
  }
  assert.equal(seen.size, 2, `both variants: ${JSON.stringify([...seen])}`);
  for (const [location, n] of seen) assert.ok(n >= 5, `${location} got ${n} of 30`);
  assert.equal(cookies.size, 30, "every new client gets its own random id, nothing derived from its address");
});

test("a new client's random id, kept by its cookie, keeps its variant", async () => {
  for (let i = 0; i < 10; i++) {
    const first = await h.fetch("https://go.example.com/split", { headers: { "user-agent": CHROME } });
    const cookie = first.headers.get("set-cookie").split(";")[0];
    assert.match(cookie, /^rdr_cid=[0-9a-f]{16}$/);
    for (let k = 0; k < 3; k++) {
      const again = await h.fetch("https://go.example.com/split", { headers: { "user-agent": CHROME, cookie } });
      assert.equal(again.headers.get("location"), first.headers.get("location"));
      assert.equal(again.headers.get("set-cookie"), null);
    }
  }
});

test("regression: previews, bots and HEAD are answered, say what they are, and never spend max_clicks", async () => {
  const put = await h.admin("PUT", route("go.example.com/limited"), {
    body: { to: "https://shop.example.com/limited", strong: true, max_clicks: 2, fallback: "https://shop.example.com/sold-out" },
  });
  assert.equal(put.status, 200);
  const agents = [
    ["GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview"],
    ["GET", "facebookexternalhit/1.1 Facebot Twitterbot/1.0", "preview"],
    ["GET", "WhatsApp/2.23.20.0 A", "preview"],
    ["GET", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "preview"],
    ["GET", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"],
    ["HEAD", CHROME, "head"],
  ];
  for (const [method, ua, audience] of agents) {
    for (let i = 0; i < 3; i++) {
      const { res, click } = await h.request("https://go.example.com/limited", { method, headers: { "user-agent": ua } });
      assert.equal(res.status, 302, `${ua}: answered like a person`);
      assert.equal(res.headers.get("location"), "https://shop.example.com/limited");
      assert.equal(click.audience, audience, ua);
    }
  }
  const read = await (await h.admin("GET", route("go.example.com/limited"))).json();
  assert.equal(read.clicks, 0, "18 previews, bots and HEADs spent nothing");
  for (let i = 0; i < 2; i++) {
    const { res, click } = await h.request("https://go.example.com/limited", { headers: { "user-agent": CHROME } });
    assert.equal(res.headers.get("location"), "https://shop.example.com/limited");
    assert.equal(click.audience, "person");
  }
  const sold = await h.request("https://go.example.com/limited", { headers: { "user-agent": CHROME } });
  assert.equal(sold.res.headers.get("location"), "https://shop.example.com/sold-out", "capped after two people");
  assert.equal(sold.click.outcome, "fallback");
});

test("an ended record sends its visitors to its fallback; a paused one too, never cached", async () => {
  const ended = await h.request("https://go.example.com/ended?ref=mail");
  assert.equal(ended.res.status, 302);
  assert.equal(ended.res.headers.get("location"), "https://shop.example.com/sale-ended?ref=mail");
  assert.equal(ended.res.headers.get("cache-control"), "private, no-store");
  assert.equal(ended.click.outcome, "fallback");
  assert.equal(ended.click.route_id, "go.example.com/ended");
  const paused = await h.request("https://go.example.com/paused");
  assert.equal(paused.res.headers.get("location"), "https://shop.example.com/paused");
  assert.equal(paused.click.route_id, "paused");
  const bad = await h.request("https://go.example.com/bad-fallback");
  assert.equal(bad.res.status, 500, "a record whose fallback breaks the contract is invalid");
  assert.equal(bad.res.headers.get("location"), null);
});

test("a host's fallback answers its unknown paths; other hosts still 404", async () => {
  const { res, click } = await h.request("https://seller.example.com/no/such/page");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "https://seller-shop.example.com/");
  assert.equal(click.outcome, "fallback");
  assert.equal(click.route_id, "fallback:seller.example.com");
  assert.equal((await h.fetch("https://unknown-seller.example.com/x")).status, 404);
});

test("fallbacks through the admin API are validated; a bad one changes nothing", async () => {
  const bad = await h.admin("PUT", route("fallback:new-seller.example.com"), { body: "//evil.example" });
  assert.equal(bad.status, 400);
  assert.equal((await h.fetch("https://new-seller.example.com/x")).status, 404);
  const badRecord = await h.admin("PUT", route("go.example.com/x"), { body: { to: "https://a.example.com", fallback: "https://u:p@evil.example" } });
  assert.equal(badRecord.status, 400);
  assert.match(await badRecord.text(), /fallback/);
  const wildcard = await h.admin("PUT", route("fallback:*"), { body: "https://a.example.com" });
  assert.equal(wildcard.status, 400);
  const ok = await h.admin("PUT", route("fallback:new-seller.example.com"), { body: "https://new-seller-shop.example.com/" });
  assert.equal(ok.status, 200);
  const res = await h.fetch("https://new-seller.example.com/anything");
  assert.equal(res.headers.get("location"), "https://new-seller-shop.example.com/");
});

test("explain shows the fallback steps and outcome, and changes nothing", async () => {
  const url = encodeURIComponent("https://seller.example.com/gone-page");
  const res = await h.fetch(`https://go.example.com/__redirector/explain?url=${url}`);
  const body = await res.json();
  assert.equal(body.outcome, "fallback");
  assert.equal(body.location, "https://seller-shop.example.com/");
  assert.deepEqual(body.steps.map((s) => s.step), ["exact host", "exact any host", "rules host", "rules any host", "host fallback"]);
  const ended = await (await h.fetch(`https://go.example.com/__redirector/explain?url=${encodeURIComponent("https://go.example.com/paused")}`)).json();
  assert.equal(ended.outcome, "fallback");
  assert.equal(ended.steps.at(-1).step, "record fallback");
});
