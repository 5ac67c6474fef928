// Runs every tests/**/*.test.ts (or those whose path contains one of the argv filters) under uvu,
// on whichever runtime started it (Deno or Node through tsx). Heavy fault runs live in files
// named *.faults.ts and run only from `npm run test:faults`; the long fuzzing and abuse runs live in
// *.abuse.ts and run only from `npm run test:abuse`. Must not hold test logic itself.

import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const suffix = process.argv.includes("--faults") ? ".faults.ts" : process.argv.includes("--abuse") ? ".abuse.ts" : ".test.ts";

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

const files = walk(here, []).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: unknown[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
const { exec } = await import("uvu");
g.UVU_QUEUE = [];
for (let i = 0; i < files.length; i++) {
  g.UVU_QUEUE.push([relative(here, files[i])]);
  g.UVU_INDEX = i;
  await import(pathToFileURL(files[i]).href);
}
await exec(false);
// Long-lived handles (servers, child processes) must not keep a finished run alive.
const code = (process.exitCode as number | undefined) ?? 0;
process.exit(code);
