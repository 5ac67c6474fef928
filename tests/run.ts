// Runs every tests/**/*.test.ts (or those whose path contains one of the argv filters) under uvu,
// on whichever runtime started it (Deno or Node through tsx), through uvu's public entries: uvu/parse
// lists the files, uvu/run imports and runs them. Heavy fault runs live in files named *.faults.ts
// and run only from `npm run test:faults`; the long fuzzing and abuse runs live in *.abuse.ts and
// run only from `npm run test:abuse`. Must not hold test logic itself.

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "uvu/parse";
import { run } from "uvu/run";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const suffix = process.argv.includes("--faults") ? "\\.faults\\.ts$" : process.argv.includes("--abuse") ? "\\.abuse\\.ts$" : "\\.test\\.ts$";

const { suites } = await parse(here, suffix);
await run(suites.filter((s) => filters.length === 0 || filters.some((x) => s.file.includes(x))), { bail: false });
// Long-lived handles (servers, child processes) must not keep a finished run alive.
process.exit((process.exitCode as number | undefined) ?? 0);
