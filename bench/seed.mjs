// Seeds the bench's local KV (persisted under target/bench/kv) once with BENCH_LINKS
// links `127.0.0.1/l/<i>`; a marker file remembers it was done.
import { Miniflare } from "miniflare";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { KV_ID, LINKS, STATE } from "./workers.mjs";

export async function seed() {
  const marker = path.join(STATE, `.seeded-${LINKS}`);
  if (existsSync(marker)) return;
  mkdirSync(STATE, { recursive: true });
  const seeder = `export default { async fetch(req, env) {
    const { from, to } = await req.json();
    const puts = [];
    for (let i = from; i < to; i++) puts.push(env.KV.put("127.0.0.1/l/" + i, JSON.stringify({ to: "https://example.com/target/" + i, status: 302 })));
    await Promise.all(puts);
    return new Response("ok");
  } }`;
  const mf = new Miniflare({ kvPersist: STATE, modules: true, script: seeder, kvNamespaces: { KV: KV_ID } });
  const started = Date.now();
  for (let from = 0; from < LINKS; from += 2000) {
    const res = await mf.dispatchFetch("http://seed/", { method: "POST", body: JSON.stringify({ from, to: Math.min(LINKS, from + 2000) }) });
    if (res.status !== 200) throw new Error(`seeding failed: ${res.status}`);
  }
  await mf.dispose();
  writeFileSync(marker, String(Date.now() - started));
}
