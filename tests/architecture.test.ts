// The import rules of ARCHITECTURE.md, checked: the pure core (internal/, log/, projections/,
// api/) never touches the runtime, a clock or randomness, and never imports node/.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { repoRoot } from "./helpers/procs.ts";

const s = suite("architecture");

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

const pure = ["internal", "log", "projections", "api"];
const forbidden: [RegExp, string][] = [
  [/from\s+["']node:/, "imports node:*"],
  [/from\s+["'](\.\.\/)+node\//, "imports node/"],
  [/from\s+["']kysely["']/, "imports kysely"],
  [/from\s+["']dbus-next["']/, "imports dbus-next"],
  [/\bDeno\./, "uses Deno"],
  [/\bDate\.now\(/, "reads the clock (Date.now)"],
  [/\bnew Date\(\)/, "reads the clock (new Date())"],
  [/\bperformance\.now\(/, "reads the clock (performance.now)"],
  [/\bMath\.random\(/, "uses Math.random"],
  [/\bprocess\./, "uses process"],
];

s("pure folders never touch the runtime, the clock or randomness", () => {
  const problems: string[] = [];
  for (const folder of pure) {
    for (const f of files(join(repoRoot, folder))) {
      const text = readFileSync(f, "utf8").replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
      for (const [re, what] of forbidden) if (re.test(text)) problems.push(`${f.slice(repoRoot.length + 1)} ${what}`);
    }
  }
  assert.equal(problems, []);
});

s("only node/runtime_*.ts differ between Deno and Node", () => {
  const problems: string[] = [];
  for (const f of files(join(repoRoot, "node"))) {
    if (/runtime_(deno|node)\.ts$/.test(f)) continue;
    const text = readFileSync(f, "utf8");
    if (/\bDeno\./.test(text) || /from\s+["'](better-sqlite3|@hono\/node-server)["']/.test(text)) {
      problems.push(f.slice(repoRoot.length + 1));
    }
  }
  assert.equal(problems, []);
});

s("every source file opens with a head comment", () => {
  const missing: string[] = [];
  for (const folder of [...pure, "node", "bench"]) {
    for (const f of files(join(repoRoot, folder))) {
      if (!readFileSync(f, "utf8").trimStart().startsWith("//")) missing.push(f.slice(repoRoot.length + 1));
    }
  }
  assert.equal(missing, []);
});

s.run();
