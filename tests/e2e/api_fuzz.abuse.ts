// The long run of the HTTP front's fuzzer (tests/e2e/api_fuzz.test.ts: random requests against a
// real member), from `npm run test:abuse`: 3,000 requests unless FUZZ_REQUESTS says otherwise (the
// framing fuzzer's long run reads the same variable). Must not assert timing.
import process from "node:process";

process.env.FUZZ_REQUESTS ??= "3000";
await import("./api_fuzz.test.ts");
