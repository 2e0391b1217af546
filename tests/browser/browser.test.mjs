// The real-browser tier: headless Chromium (Debian's `chromium`, driven by
// playwright-core; no browser download) follows redirects from the local worker,
// built and run in workerd by Miniflare over HTTPS (a self-signed certificate, so
// the canary cookie's `Secure` attribute holds as in production).
//
// Chromium resolves every host to the local servers (`--host-resolver-rules`): the
// route hosts (go.example.com, ...) to Miniflare, and landing.test / evil.test to a
// plain HTTP landing server that records every request it gets, so a test can prove
// the browser never went somewhere.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { chromium } from "playwright-core";
import { BUILT, withControl } from "../../scripts/lib/two-scripts.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let mf, landing, browser;
const visits = []; // { host, url } for every request the landing server got

const ROUTES = {
  "go.example.com/sale": { to: "http://landing.test/sale?src=go" },
  "go.example.com/old": { to: "https://go.example.com/older", status: 301 },
  "go.example.com/older": { to: "http://landing.test/final", status: 301 },
  "rules:go.example.com": [{ from: "/p/:id/*", to: "http://landing.test/product/:id?rest=:splat" }],
  "go.example.com/js": "javascript:alert(document.domain)",
  "go.example.com/proto-relative": "//evil.test/phish",
  "go.example.com/userinfo": { to: "http://landing.test@evil.test/phish" },
  "go.example.com/split": { to: "http://landing.test/variant-a", canary: { to: "http://landing.test/variant-b", percent: 50 } },
};

before(async () => {
  landing = http.createServer((req, res) => {
    visits.push({ host: req.headers.host, url: req.url });
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>landing</title><p id="where">${req.headers.host}${req.url}</p>`);
  });
  await new Promise((resolve) => landing.listen(0, "127.0.0.1", resolve));
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    https: true,
    kvPersist: false,
    durableObjectsPersist: false,
    workers: withControl({
      name: "redirector-local",
      rootPath: ROOT,
      scriptPath: "src/entry.mjs",
      ...BUILT,
      bindings: { ENVIRONMENT: "local", ROUTE_CACHE_TTL_MS: "0", RULES_CACHE_TTL_MS: "0" },
      kvNamespaces: ["ROUTES_KV_LOCAL"],
      durableObjects: { ROUTE_DO_LOCAL: { className: "RouteDo", useSQLite: true } },
    }, "local"),
  });
  const url = await mf.ready;
  const kv = await mf.getKVNamespace("ROUTES_KV_LOCAL");
  for (const [key, value] of Object.entries(ROUTES)) await kv.put(key, JSON.stringify(value));
  const lport = landing.address().port;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      `--host-resolver-rules=MAP landing.test 127.0.0.1:${lport}, MAP evil.test 127.0.0.1:${lport}, MAP * 127.0.0.1:${url.port}`,
      "--ignore-certificate-errors",
      "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
      "--no-sandbox",
    ],
  });
});

after(async () => {
  await browser?.close();
  await mf?.dispose();
  landing?.close();
});

/**
 * Navigate a fresh page of `context`: the final status and URL, the page text, and
 * the redirect hops (URL and status, first to last).
 */
async function visit(context, url) {
  const page = await context.newPage();
  const response = await page.goto(url, { waitUntil: "load" });
  const hops = [];
  for (let r = response.request().redirectedFrom(); r; r = r.redirectedFrom()) {
    hops.unshift({ url: r.url(), status: (await r.response())?.status() });
  }
  const out = { status: response.status(), final: page.url(), text: await page.textContent("body"), hops };
  await page.close();
  return out;
}

test("a 302 lands on the target with the query forwarded", async () => {
  const context = await browser.newContext();
  const { status, final, text, hops } = await visit(context, "https://go.example.com/sale?utm_source=mail");
  assert.equal(final, "http://landing.test/sale?src=go&utm_source=mail");
  assert.equal(status, 200);
  assert.match(text, /landing\.test\/sale\?src=go&utm_source=mail/);
  assert.deepEqual(hops, [{ url: "https://go.example.com/sale?utm_source=mail", status: 302 }]);
  await context.close();
});

test("a chain of two 301s is followed to the end", async () => {
  const context = await browser.newContext();
  const { final, hops } = await visit(context, "https://go.example.com/old");
  assert.equal(final, "http://landing.test/final");
  assert.deepEqual(hops, [
    { url: "https://go.example.com/old", status: 301 },
    { url: "https://go.example.com/older", status: 301 },
  ]);
  await context.close();
});

test("a rule with a placeholder and a splat", async () => {
  const context = await browser.newContext();
  const { final } = await visit(context, "https://go.example.com/p/42/red/xl");
  assert.equal(final, "http://landing.test/product/42?rest=red/xl", "a splat keeps its slashes");
  await context.close();
});

test("no navigation to a record that breaks the contract", async () => {
  const context = await browser.newContext();
  const before = visits.length;
  for (const p of ["js", "proto-relative", "userinfo"]) {
    const dialogs = [];
    const page = await context.newPage();
    page.on("dialog", (d) => dialogs.push(d.message()) && d.dismiss());
    const response = await page.goto(`https://go.example.com/${p}`);
    assert.equal(response.status(), 500, p);
    assert.equal(page.url(), `https://go.example.com/${p}`, `${p}: the browser stays on the redirector`);
    assert.deepEqual(dialogs, [], `${p}: no script ran`);
    await page.close();
  }
  assert.deepEqual(visits.slice(before), [], "nothing reached evil.test or the landing server");
  await context.close();
});

test("a canary stays put across reloads in one profile and shows both variants across 30 fresh profiles", async () => {
  const variantOf = (final) => (final.endsWith("/variant-b") ? "b" : final.endsWith("/variant-a") ? "a" : final);
  const seen = { a: 0, b: 0 };
  for (let i = 0; i < 30; i++) {
    const context = await browser.newContext(); // a fresh profile: no cookies
    const page = await context.newPage();
    await page.goto("https://go.example.com/split");
    const first = variantOf(page.url());
    assert.ok(first === "a" || first === "b", first);
    seen[first]++;
    if (i < 3) {
      for (let k = 0; k < 3; k++) {
        await page.goto("https://go.example.com/split");
        assert.equal(variantOf(page.url()), first, "the cookie keeps the profile's variant");
      }
      const [cookie] = await context.cookies("https://go.example.com");
      assert.equal(cookie.name, "rdr_cid");
      assert.ok(cookie.secure && cookie.httpOnly, "Secure and HttpOnly held");
    }
    await context.close();
  }
  assert.ok(seen.a >= 5 && seen.b >= 5, `30 fresh profiles on one address and browser: ${JSON.stringify(seen)}`);
});
