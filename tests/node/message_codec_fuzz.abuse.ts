// The long run of the peer-decoder fuzzing (`npm run test:abuse`): the properties of
// message_codec_fuzz.test.ts and message_codec_hostile.test.ts with many times the runs, from a seed that is printed first. Replay a
// failure with CODEC_FUZZ_SEED=<seed>; CODEC_FUZZ_RUNS overrides the run count.
import fc from "fast-check";
import { suite } from "uvu";
import { properties } from "./message_codec_arb.ts";
import { arbScenario, runScenario } from "./message_codec_hostile.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
// The seed is drawn here, in a test, not in the pure code; printed so that any failure can be replayed.
const seed = env.CODEC_FUZZ_SEED ? Number(env.CODEC_FUZZ_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
const runs = env.CODEC_FUZZ_RUNS ? Number(env.CODEC_FUZZ_RUNS) : 60_000;
console.log(`message_codec fuzz: seed ${seed}, ${runs} runs per property (CODEC_FUZZ_SEED=${seed} to replay)`);

const s = suite("node/message_codec fuzz (long)");
for (const [name, run] of properties(runs, seed)) s(`property ${name}`, run);
s("property: random well-formed messages never trip an assert of a RawNode (through message_guard.ts)", () => {
  fc.assert(fc.property(arbScenario, (sc) => {
    const r = runScenario(sc);
    if (r) throw new Error(`${r.error.message} (after ${JSON.stringify(r.msg ?? "network traffic")})`);
  }), { numRuns: Math.ceil(runs / 2), seed });
});
s.run();
