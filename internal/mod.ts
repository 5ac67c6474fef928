// Public surface of internal/: assertions, limits, the seeded PRNG, the clock interface, id types, CRC-32, CBOR.
export { AssertionError, assert, unreachable } from "./assert.ts";
export type { EpochMs, Index, NodeId, Term } from "./brand.ts";
export { NONE } from "./brand.ts";
export type { Clock } from "./clock.ts";
export { fixedClock } from "./clock.ts";
export type { Prng } from "./prng.ts";
export { createPrng } from "./prng.ts";
export { decodeCbor, encodeCbor } from "./cbor.ts";
export type { Limits } from "./limits.ts";
export { limits } from "./limits.ts";
export { crc32 } from "./crc32.ts";
