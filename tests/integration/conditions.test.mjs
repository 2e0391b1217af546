// `when` conditions (country, language, device) and sticky canary splits, in workerd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const ANDROID_PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36";
const ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 Chrome/120 Safari/537.36";
const DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36";
const BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

before(async () => {
  h = await start();
  await h.seed({
    "go.example.com/app": {
      to: "https://example.com/download",
      status: 301,
      when: [
        { device: ["ios"], to: "https://apps.apple.com/app/id1" },
        { device: ["android"], to: "https://play.google.com/store/apps/details?id=x", status: 307 },
        { device: ["bot"], to: "https://example.com/for-crawlers" },
        { device: ["tablet"], to: "https://example.com/tablet" },
      ],
    },
    "go.example.com/shop": {
      to: "https://shop.example.com/",
      when: [
        { country: ["DE", "AT"], language: ["en"], to: "https://shop.example.de/en" },
        { country: ["DE", "AT"], to: "https://shop.example.de/" },
        { language: ["fr"], to: "https://shop.example.fr/" },
        { language: ["es"], to: "https://shop.example.es/" },
      ],
    },
    "go.example.com/new-checkout": {
      to: "https://shop.example.com/checkout",
      id: "checkout",
      canary: { to: "https://shop.example.com/checkout-v2", percent: 30 },
    },
    "go.example.com/all-in": { to: "https://a.example.com/", canary: { to: "https://b.example.com/", percent: 100 } },
    "go.example.com/none-in": { to: "https://a.example.com/", canary: { to: "https://b.example.com/", percent: 0 } },
    "rules:cond.example.com": [
      { from: "/p/:id", to: "https://example.com/p/:id", when: [{ country: ["FR"], to: "https://example.fr/p/:id" }],
        canary: { to: "https://beta.example.com/p/:id", percent: 100 } },
    ],
  });
});
after(() => h.close());

const deviceCases = [
  ["iPhone -> ios", IPHONE, 301, "https://apps.apple.com/app/id1"],
  ["Android phone -> android, own status", ANDROID_PHONE, 307, "https://play.google.com/store/apps/details?id=x"],
  ["Android tablet -> android (first condition that matches)", ANDROID_TABLET, 307, "https://play.google.com/store/apps/details?id=x"],
  ["bot", BOT, 301, "https://example.com/for-crawlers"],
  ["desktop -> default", DESKTOP, 301, "https://example.com/download"],
];
for (const [name, ua, status, location] of deviceCases) {
  test(`device condition: ${name}`, async () => {
    const { res, click } = await h.request("https://go.example.com/app", { headers: { "user-agent": ua } });
    assert.equal(res.status, status);
    assert.equal(res.headers.get("location"), location);
    assert.equal(res.headers.get("cache-control"), "private, no-store", "conditional answers are never cached");
    assert.equal(click.variant, location === "https://example.com/download" ? "control" : click.variant);
  });
}

const geoCases = [
  ["country match", { country: "DE" }, null, "https://shop.example.de/"],
  ["country is case-insensitive, second list entry", { country: "AT" }, null, "https://shop.example.de/"],
  ["country and language both must match", { country: "DE" }, "en-GB,en;q=0.9", "https://shop.example.de/en"],
  ["language by primary tag", { country: "US" }, "fr-CA", "https://shop.example.fr/"],
  ["language q-order: client prefers es", { country: "US" }, "fr;q=0.5, es", "https://shop.example.es/"],
  ["language q-order: second language", { country: "US" }, "ja, fr;q=0.4", "https://shop.example.fr/"],
  ["q=0 is not acceptable", { country: "US" }, "fr;q=0", "https://shop.example.com/"],
  ["no condition matches: default", { country: "US" }, "ja", "https://shop.example.com/"],
  ["no country, no language: default", {}, null, "https://shop.example.com/"],
];
for (const [name, cf, lang, location] of geoCases) {
  test(`country/language condition: ${name}`, async () => {
    const headers = lang ? { "accept-language": lang } : {};
    const { res, click } = await h.request("https://go.example.com/shop", { cf, headers });
    assert.equal(res.headers.get("location"), location);
    assert.equal(res.headers.get("cache-control"), "private, no-store");
    assert.match(click.variant, location === "https://shop.example.com/" ? /^control$/ : /^when:\d$/);
  });
}

test("canary: share converges to percent over 10 000 clients (within 2 points)", async () => {
  const N = 10_000;
  let canary = 0;
  for (let i = 0; i < N; i += 100) {
    const batch = [];
    for (let j = i; j < i + 100; j++) {
      batch.push(h.fetch("https://go.example.com/new-checkout", { headers: { cookie: `rdr_cid=client-${j}` } }));
    }
    for (const res of await Promise.all(batch)) {
      if (res.headers.get("location") === "https://shop.example.com/checkout-v2") canary++;
    }
  }
  const share = (canary * 100) / N;
  assert.ok(Math.abs(share - 30) <= 2, `canary share ${share}%`);
  h.clicks.skipAll();
});

test("canary: sticky per client, by cookie", async () => {
  for (let i = 0; i < 20; i++) {
    const cookie = `rdr_cid=sticky-${i}`;
    const first = (await h.fetch("https://go.example.com/new-checkout", { headers: { cookie } })).headers.get("location");
    for (let k = 0; k < 3; k++) {
      const again = await h.fetch("https://go.example.com/new-checkout", { headers: { cookie } });
      assert.equal(again.headers.get("location"), first);
      assert.equal(again.headers.get("set-cookie"), null, "a client with the cookie is not re-cookied");
    }
  }
});

test("canary: without a cookie the worker sets one that keeps the client's variant", async () => {
  for (let i = 0; i < 20; i++) {
    const headers = { "user-agent": `TestClient/${i}`, "cf-connecting-ip": `203.0.113.${i}` };
    const first = await h.fetch("https://go.example.com/new-checkout", { headers });
    const setCookie = first.headers.get("set-cookie");
    assert.match(setCookie, /^rdr_cid=[0-9a-f]{16}; Max-Age=31536000; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    const cookie = setCookie.split(";")[0];
    const withCookie = await h.fetch("https://go.example.com/new-checkout", { headers: { cookie } });
    assert.equal(withCookie.headers.get("location"), first.headers.get("location"), "cookie keeps the variant");
  }
});

test("canary: variant is in the click event; 0% and 100% are exact", async () => {
  const all = await h.request("https://go.example.com/all-in");
  assert.equal(all.res.headers.get("location"), "https://b.example.com/");
  assert.equal(all.click.variant, "canary");
  assert.equal(all.res.headers.get("cache-control"), "private, no-store");
  const none = await h.request("https://go.example.com/none-in");
  assert.equal(none.res.headers.get("location"), "https://a.example.com/");
  assert.equal(none.click.variant, "control");
});

test("conditions and canaries on rules substitute placeholders; a condition beats the canary", async () => {
  const fr = await h.request("https://cond.example.com/p/7", { cf: { country: "FR" } });
  assert.equal(fr.res.headers.get("location"), "https://example.fr/p/7");
  assert.equal(fr.click.variant, "when:0");
  const other = await h.request("https://cond.example.com/p/7", { cf: { country: "US" } });
  assert.equal(other.res.headers.get("location"), "https://beta.example.com/p/7");
  assert.equal(other.click.variant, "canary");
});

test("plain records keep their status-based caching and an empty variant", async () => {
  await h.seed({ "go.example.com/plain": { to: "https://example.com/", status: 308 } });
  const { res, click } = await h.request("https://go.example.com/plain");
  assert.equal(res.headers.get("cache-control"), "public, max-age=3600");
  assert.equal(click.variant, "");
});
