// The quick run of the malformed-framing fuzzer (tests/e2e/_framing_fuzz.ts) against a real member:
// every connection answered below 500 or closed, the member up, no stack trace in its log.
// FUZZ_REQUESTS sets the count (default 120); the long run is http_framing_fuzz.abuse.ts.
// Must not assert timing.

import { suite } from "uvu";
import { framingFuzz } from "./_framing_fuzz.ts";

const s = suite("e2e/http_framing_fuzz");

s("malformed framing over raw sockets: answers below 500 or a close, the member stays up, no stack trace", async () => {
  await framingFuzz("e2e/http_framing_fuzz", Math.max(1, Number(process.env.FUZZ_REQUESTS ?? 120) || 120));
});

s.run();
