// The import rules of ARCHITECTURE.md, checked against the real import graph: the folder table's
// "may import" column is exactly what each folder imports (no more, and no stale entries), other
// folders are reached only through their mod.ts, the pure core (internal/, log/, projections/,
// api/) never touches the runtime, a clock or randomness, only node/runtime_*.ts differ between
// Deno and Node, and every source file opens with a head comment.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
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

const rel = (f: string) => relative(repoRoot, f).split("\\").join("/");
const stripComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");

/** The units of the table: top-level folders, and the two top-level files. */
function unitOf(path: string): string {
  const r = rel(path);
  const slash = r.indexOf("/");
  return slash < 0 ? r : r.slice(0, slash) + "/";
}

/** Every static and dynamic import specifier of a file. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const code = stripComments(text);
  for (const m of code.matchAll(/(?:^|[\s;])(?:import|export)\s[^"';]*?from\s*["']([^"'\s]+)["']/g)) out.push(m[1]);
  for (const m of code.matchAll(/(?:^|[\s;])import\s*["']([^"'\s]+)["']/g)) out.push(m[1]);
  for (const m of code.matchAll(/\bimport\(\s*["']([^"'\s]+)["']\s*\)/g)) out.push(m[1]);
  return out;
}

interface Edge {
  readonly from: string;
  readonly unit: string;
  /** A folder or file unit ("node/", "main.ts") for relative imports; the package name otherwise ("hono", "node:*"). */
  readonly target: string;
  /** For relative imports: the imported file, repository-relative. */
  readonly file?: string;
}

const SOURCE_UNITS = ["internal/", "log/", "projections/", "api/", "node/", "cli/", "main.ts", "mod.ts"];

function edges(): Edge[] {
  const out: Edge[] = [];
  const sources = [
    ...SOURCE_UNITS.filter((u) => u.endsWith("/")).flatMap((u) => {
      try {
        return files(join(repoRoot, u));
      } catch {
        return [];
      }
    }),
    join(repoRoot, "main.ts"),
    join(repoRoot, "mod.ts"),
  ];
  for (const f of sources) {
    const unit = unitOf(f);
    for (const spec of specifiers(readFileSync(f, "utf8"))) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(f), spec);
        out.push({ from: rel(f), unit, target: unitOf(target), file: rel(target) });
      } else if (spec.startsWith("node:")) {
        out.push({ from: rel(f), unit, target: "node:*" });
      } else {
        const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
        out.push({ from: rel(f), unit, target: pkg });
      }
    }
  }
  return out;
}

/** ARCHITECTURE.md's folder table: unit -> the set of units and packages it may import. */
function table(): Map<string, Set<string>> {
  const md = readFileSync(join(repoRoot, "ARCHITECTURE.md"), "utf8");
  const start = md.indexOf("| folder | what | may import |");
  assert.ok(start >= 0, "ARCHITECTURE.md has no '| folder | what | may import |' table");
  const rows = md.slice(start).split("\n").slice(2);
  const out = new Map<string, Set<string>>();
  for (const row of rows) {
    if (!row.startsWith("|")) break;
    const cells = row.split("|").map((c) => c.trim());
    const unit = /`([^`]+)`/.exec(cells[1])?.[1];
    if (!unit) continue;
    const allowed = new Set([...cells[3].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    out.set(unit, allowed);
  }
  return out;
}

s("ARCHITECTURE.md's folder table is the real import graph, in both directions", () => {
  const t = table();
  const actual = new Map<string, Set<string>>();
  for (const e of edges()) {
    if (e.target === e.unit) continue;
    if (!actual.has(e.unit)) actual.set(e.unit, new Set());
    actual.get(e.unit)!.add(e.target);
  }
  const problems: string[] = [];
  for (const unit of SOURCE_UNITS) {
    const allowed = t.get(unit);
    const got = actual.get(unit) ?? new Set<string>();
    if (!allowed) {
      if (got.size > 0 || unit.endsWith(".ts")) problems.push(`${unit} is missing from the table`);
      continue;
    }
    for (const x of got) if (!allowed.has(x)) problems.push(`${unit} imports ${x}, which the table does not allow`);
    for (const x of allowed) if (!got.has(x)) problems.push(`the table lets ${unit} import ${x}, which it does not (stale)`);
  }
  assert.equal(problems, []);
});

s("other folders are reached only through their mod.ts (the public surface)", () => {
  const problems: string[] = [];
  for (const e of edges()) {
    if (e.file === undefined || e.target === e.unit || e.target.endsWith(".ts")) continue;
    if (e.file !== `${e.target}mod.ts`) problems.push(`${e.from} imports ${e.file}`);
  }
  assert.equal(problems, []);
});

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
      const text = stripComments(readFileSync(f, "utf8"));
      for (const [re, what] of forbidden) if (re.test(text)) problems.push(`${rel(f)} ${what}`);
    }
  }
  assert.equal(problems, []);
});

s("only node/runtime_*.ts differ between Deno and Node", () => {
  const problems: string[] = [];
  for (const folder of ["node", "cli"]) {
    let list: string[];
    try {
      list = files(join(repoRoot, folder));
    } catch {
      continue;
    }
    for (const f of list) {
      if (/runtime_(deno|node)\.ts$/.test(f)) continue;
      const text = stripComments(readFileSync(f, "utf8"));
      if (/\bDeno\./.test(text) || /from\s+["'](better-sqlite3|@hono\/node-server)["']/.test(text)) problems.push(rel(f));
    }
  }
  assert.equal(problems, []);
});

s("every source file opens with a head comment", () => {
  const missing: string[] = [];
  for (const folder of [...pure, "node", "cli", "bench"]) {
    let list: string[];
    try {
      list = files(join(repoRoot, folder));
    } catch {
      continue;
    }
    for (const f of list) if (!readFileSync(f, "utf8").trimStart().startsWith("//")) missing.push(rel(f));
  }
  assert.equal(missing, []);
});

s("no source or doc refers to files outside the repository", () => {
  const problems: string[] = [];
  const docs = ["README.md", "ARCHITECTURE.md", "bench/README.md", "image/README.md", ...["internal", "log", "projections", "api", "node", "cli", "bench"].map((d) => `${d}/DESIGN.md`)];
  const texts = [
    ...[...pure, "node", "cli", "bench", "tests"].flatMap((d) => {
      try {
        return files(join(repoRoot, d));
      } catch {
        return [];
      }
    }),
    ...docs.map((d) => join(repoRoot, d)),
  ];
  for (const f of texts) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    if (/\.\.\/shared\/|\/work\/shared|shared\/reference|FACTS\.md|etcd-v2\.md|fleet\.md|locksmith\.md|updates\.md|raft\.md\b/.test(text)) problems.push(rel(f));
  }
  assert.equal(problems, []);
});

s.run();
