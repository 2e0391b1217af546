// Writes a generated route set for timing `redirector check` (scripts/bench step 7):
// BENCH_CHECK_LINKS links (default 1 000 000) over 100 hosts, one file per host, and
// BENCH_CHECK_RULES rules (default 1 000) in a file of their own, into the directory
// given (default target/bench/routes). Every route is valid and distinct, so check
// does all of its work (parse, validate, canonicalise, duplicates, shadowing, loops).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2] ?? "target/bench/routes";
const LINKS = Number(process.env.BENCH_CHECK_LINKS ?? 1_000_000);
const RULES = Number(process.env.BENCH_CHECK_RULES ?? 1_000);
const HOSTS = 100;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
for (let h = 0; h < HOSTS; h++) {
  const lines = [`# generated: links of seller${h}.example.com`];
  for (let i = h; i < LINKS; i += HOSTS) {
    lines.push("[[link]]", `key = "seller${h}.example.com/l/${i}"`, `to = "https://shop${h}.example.com/item/${i}?src=go"`);
    if (i % 10 === 0) lines.push(`id = "link-${i}"`, "status = 301");
    lines.push("");
  }
  writeFileSync(path.join(dir, `seller${String(h).padStart(3, "0")}.toml`), lines.join("\n"));
}
const rules = ["# generated rules"];
for (let i = 0; i < RULES; i++) {
  rules.push("[[rule]]", `host = "seller${i % HOSTS}.example.com"`, `from = "/r${i}/:id/*"`, `to = "https://shop.example.com/r${i}/:id?rest=:splat"`, "");
}
writeFileSync(path.join(dir, "rules.toml"), rules.join("\n"));
console.log(JSON.stringify({ dir, links: LINKS, rules: RULES, files: HOSTS + 1 }));
