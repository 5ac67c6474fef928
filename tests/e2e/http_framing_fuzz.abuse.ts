// The long run of the malformed-framing fuzzer (tests/e2e/_framing_fuzz.ts), from `npm run
// test:abuse`: 3,000 cases by default (FUZZ_REQUESTS sets it). Must not assert timing.

import { suite } from "uvu";
import { framingFuzz } from "./_framing_fuzz.ts";

const s = suite("e2e/http_framing_fuzz (long)");

s("malformed framing over raw sockets, long run", async () => {
  await framingFuzz("e2e/http_framing_fuzz.abuse", Math.max(1, Number(process.env.FUZZ_REQUESTS ?? 3000) || 3000));
});

s.run();
