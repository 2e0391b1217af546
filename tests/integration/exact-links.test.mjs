// ROUTES.md exact-link contract, row by row, against the built worker in workerd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

let h;
const HOUR = 3600_000;
const iso = (ms) => new Date(ms).toISOString();

const ROUTES = {
  // host and * keys
  "go.example.com/summer": { to: "https://shop.example.com/sale?src=go", id: "summer-2026" },
  "*/help": { to: "https://help.example.com/", status: 307 },
  "go.example.com/both": "https://host.example.com/",
  "*/both": "https://any.example.com/",
  // bare string and defaults
  "go.example.com/bare": "https://example.com/bare",
  // every allowed status
  "go.example.com/s301": { to: "https://example.com/301", status: 301 },
  "go.example.com/s302": { to: "https://example.com/302", status: 302 },
  "go.example.com/s303": { to: "https://example.com/303", status: 303 },
  "go.example.com/s307": { to: "https://example.com/307", status: 307 },
  "go.example.com/s308": { to: "https://example.com/308", status: 308 },
  // forward_query
  "go.example.com/q": { to: "https://example.com/q?utm_source=go#frag" },
  "go.example.com/noq": { to: "https://example.com/noq?x=1", forward_query: false },
  // enabled / starts / expires
  "go.example.com/off": { to: "https://example.com/off", enabled: false },
  "*/off": "https://fallback.example.com/off",
  "go.example.com/off-alone": { to: "https://example.com/off", enabled: false },
  "go.example.com/future": { to: "https://example.com/future", starts: iso(Date.now() + HOUR) },
  "go.example.com/past": { to: "https://example.com/past", expires: iso(Date.now() - HOUR) },
  "go.example.com/now": { to: "https://example.com/now", starts: iso(Date.now() - HOUR), expires: iso(Date.now() + HOUR) },
  "go.example.com/expired-falls-through": { to: "https://example.com/x", expires: iso(Date.now() - HOUR) },
  "*/expired-falls-through": "https://fallback.example.com/x",
  // canonical keys
  "go.example.com/caf%C3%A9": "https://example.com/cafe",
  "go.example.com/~user": "https://example.com/tilde",
  "go.example.com/a%2Fb": "https://example.com/slash-escaped",
  "go.example.com/Case": "https://example.com/upper",
  "xn--bcher-kva.example/idn": "https://example.com/idn",
  "go.example.com/": "https://example.com/root",
  // records that break the contract
  "bad.example.com/js": { raw: '"javascript:alert(1)"' },
  "bad.example.com/protocol-relative": { raw: '"//evil.example"' },
  "bad.example.com/userinfo": { raw: '"https://user:pw@evil.example"' },
  "bad.example.com/crlf": { raw: '{"to":"https://example.com/\\r\\nSet-Cookie: a=1"}' },
  "bad.example.com/json": { raw: "{not json" },
  "bad.example.com/status": { raw: '{"to":"https://example.com","status":200}' },
  "bad.example.com/type": { raw: '{"to":"https://example.com","enabled":"no"}' },
  "bad.example.com/ftp": { raw: '"ftp://example.com/file"' },
  "*/js": "https://fallback.example.com/must-not-be-used",
};

before(async () => {
  h = await start();
  await h.seed(ROUTES);
});
after(() => h.close());

const cases = [
  // [name, url, status, location]
  ["host key", "https://go.example.com/summer", 302, "https://shop.example.com/sale?src=go"],
  ["* key on any host", "https://anything.example.net/help", 307, "https://help.example.com/"],
  ["host key wins over * key", "https://go.example.com/both", 302, "https://host.example.com/"],
  ["* key when host has none", "https://other.example.com/both", 302, "https://any.example.com/"],
  ["bare string record, default 302", "https://go.example.com/bare", 302, "https://example.com/bare"],
  ["status 301", "https://go.example.com/s301", 301, "https://example.com/301"],
  ["status 302", "https://go.example.com/s302", 302, "https://example.com/302"],
  ["status 303", "https://go.example.com/s303", 303, "https://example.com/303"],
  ["status 307", "https://go.example.com/s307", 307, "https://example.com/307"],
  ["status 308", "https://go.example.com/s308", 308, "https://example.com/308"],
  ["forward_query default appends", "https://go.example.com/q?a=1&b=2", 302, "https://example.com/q?utm_source=go&a=1&b=2#frag"],
  ["forward_query: target value wins", "https://go.example.com/q?utm_source=evil&a=1", 302, "https://example.com/q?utm_source=go&a=1#frag"],
  ["forward_query keeps repeated names", "https://go.example.com/q?t=a&t=b", 302, "https://example.com/q?utm_source=go&t=a&t=b#frag"],
  ["forward_query false drops query", "https://go.example.com/noq?a=1", 302, "https://example.com/noq?x=1"],
  ["enabled false falls through to *", "https://go.example.com/off", 302, "https://fallback.example.com/off"],
  ["enabled false alone is absent", "https://go.example.com/off-alone", 404, null],
  ["starts in the future is absent", "https://go.example.com/future", 404, null],
  ["expires in the past is absent", "https://go.example.com/past", 404, null],
  ["inside [starts, expires) redirects", "https://go.example.com/now", 302, "https://example.com/now"],
  ["expired falls through to *", "https://go.example.com/expired-falls-through", 302, "https://fallback.example.com/x"],
  ["no route is 404", "https://go.example.com/nothing-here", 404, null],
  // canonical host
  ["host is lower-cased", "https://GO.Example.COM/summer", 302, "https://shop.example.com/sale?src=go"],
  ["host port is ignored", "https://go.example.com:8443/summer", 302, "https://shop.example.com/sale?src=go"],
  ["host trailing dot is ignored", "https://go.example.com./summer", 302, "https://shop.example.com/sale?src=go"],
  ["IDN host as punycode", "https://bücher.example/idn", 302, "https://example.com/idn"],
  // canonical path
  ["trailing slash removed", "https://go.example.com/summer/", 302, "https://shop.example.com/sale?src=go"],
  ["runs of / collapsed", "https://go.example.com//summer", 302, "https://shop.example.com/sale?src=go"],
  ["dot segments resolved", "https://go.example.com/x/../summer", 302, "https://shop.example.com/sale?src=go"],
  ["unreserved escapes decoded", "https://go.example.com/%7Euser", 302, "https://example.com/tilde"],
  ["escapes of letters decoded", "https://go.example.com/%73ummer", 302, "https://shop.example.com/sale?src=go"],
  ["non-ASCII in NFC", "https://go.example.com/cafe%CC%81", 302, "https://example.com/cafe"],
  ["lower-case hex escapes", "https://go.example.com/caf%c3%a9", 302, "https://example.com/cafe"],
  ["%2F stays encoded", "https://go.example.com/a%2fb", 302, "https://example.com/slash-escaped"],
  ["%2F is not a separator", "https://go.example.com/a/b", 404, null],
  ["paths are case-sensitive", "https://go.example.com/case", 404, null],
  ["paths are case-sensitive (match)", "https://go.example.com/Case", 302, "https://example.com/upper"],
  ["root path", "https://go.example.com/", 302, "https://example.com/root"],
  ["query is not part of the key", "https://go.example.com/bare?x=1", 302, "https://example.com/bare?x=1"],
];

for (const [name, url, status, location] of cases) {
  test(`exact link: ${name}`, async () => {
    const { res, click } = await h.request(url);
    assert.equal(res.status, status, url);
    assert.equal(res.headers.get("location"), location, url);
    assert.equal(click.status, status);
    assert.equal(click.outcome, status === 404 ? "miss" : "redirect");
    assert.equal(click.target, location ?? "");
  });
}

test("route id: record id, else the KV key", async () => {
  assert.equal((await h.request("https://go.example.com/summer")).click.route_id, "summer-2026");
  assert.equal((await h.request("https://x.example.com/help")).click.route_id, "*/help");
  assert.equal((await h.request("https://go.example.com/nothing")).click.route_id, "");
});

const invalid = ["js", "protocol-relative", "userinfo", "crlf", "json", "status", "type", "ftp"];
for (const name of invalid) {
  test(`invalid record is never redirected to: ${name}`, async () => {
    const { res, body, click } = await h.request(`https://bad.example.com/${name}`);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("location"), null);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.doesNotMatch(body, /evil|javascript|Set-Cookie/i, "body must not leak the record");
    assert.equal(click.outcome, "invalid_record");
    assert.equal(click.route_id, `bad.example.com/${name}`);
    assert.equal(click.target, "");
  });
}

test("invalid host record stops the lookup: the valid * record is not used", async () => {
  await h.seed({ "bad.example.com/js": { raw: '"javascript:alert(1)"' } });
  const { res } = await h.request("https://bad.example.com/js");
  assert.equal(res.status, 500);
  const other = await h.request("https://fine.example.com/js");
  assert.equal(other.res.headers.get("location"), "https://fallback.example.com/must-not-be-used");
});

test("a changed record is served on the next request", async () => {
  await h.seed({ "go.example.com/changing": "https://example.com/v1" });
  assert.equal((await h.request("https://go.example.com/changing")).res.headers.get("location"), "https://example.com/v1");
  await h.seed({ "go.example.com/changing": "https://example.com/v2" });
  assert.equal((await h.request("https://go.example.com/changing")).res.headers.get("location"), "https://example.com/v2");
});
