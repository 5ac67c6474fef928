// The simulator's long runs, for `npm run test:faults` (tests/run.ts --faults): many more seeds
// than CI, each with longer chaos and more clients, same checks (safety after every event,
// liveness once healed, linearizable history). SIM_SEEDS=n changes the number of seeds (default
// 1500); SEED=n runs only that seed and prints its trace. Seeds here start at 1,000,001, so they are
// not the CI seeds run longer.

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { envSeed, FAULTS, membersFor, runSeed, runSeeds, totalsLine } from "./sim/run.ts";

const s = suite("log/sim faults");
const FIRST = 1_000_001;
const count = Number(process.env.SIM_SEEDS ?? 1500);
const only = envSeed();

if (only !== undefined) {
  s(`seed ${only} (${membersFor(only)} members)`, () => {
    runSeed(only, FAULTS, { verbose: true });
  });
} else {
  s(`${count} seeds of ${FAULTS.chaosMs} ms of faults, 3 and 5 members`, () => {
    const t = runSeeds(FIRST, FIRST + count, FAULTS);
    assert.is(t.seeds, count);
    console.log(`  sim faults: ${totalsLine(t)}`);
  });
}

s.run();
