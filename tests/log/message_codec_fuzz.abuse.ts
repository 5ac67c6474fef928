// The long run of the peer-decoder fuzzing (`npm run test:abuse`): the properties of
// message_codec_fuzz.test.ts with 100 times the runs, from a seed that is printed first. Replay a
// failure with CODEC_FUZZ_SEED=<seed>; CODEC_FUZZ_RUNS overrides the run count.
import { suite } from "uvu";
import { properties } from "./message_codec_arb.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
// The seed is drawn here, in a test, not in the pure code; printed so that any failure can be replayed.
const seed = env.CODEC_FUZZ_SEED ? Number(env.CODEC_FUZZ_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
const runs = env.CODEC_FUZZ_RUNS ? Number(env.CODEC_FUZZ_RUNS) : 60_000;
console.log(`message_codec fuzz: seed ${seed}, ${runs} runs per property (CODEC_FUZZ_SEED=${seed} to replay)`);

const s = suite("log/message_codec fuzz (long)");
for (const [name, run] of properties(runs, seed)) s(`property ${name}`, run);
s.run();
