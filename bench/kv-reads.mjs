// KV reads per request for a first hit, a repeat hit and a miss, counted at the KV
// binding of the built worker (production cache lifetimes), via the test harness.
import { start } from "../tests/integration/harness.mjs";

const h = await start();
await h.seed({ "a.count.test/hit": "https://example.com/hit" }, h.countedKv);
async function reads(url) {
  const before = h.kvReads.length;
  await (await h.fetch(url)).arrayBuffer();
  await h.request("https://a.count.test/__redirector/health"); // orders the logs
  return h.kvReads.length - before;
}
const out = {
  first_hit: await reads("https://a.count.test/hit"),
  repeat_hit: await reads("https://a.count.test/hit"),
  first_miss: await reads("https://a.count.test/none"),
  repeat_miss: await reads("https://a.count.test/none"),
};
await h.close();
console.log(JSON.stringify(out));
