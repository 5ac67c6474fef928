// A measuring script (not a test: the runner only picks *.test.ts): heap held by the kv store
// for N keys with 64-byte values, and the time of encodeState / CBOR / decodeState for them.
// Run: npx tsx --expose-gc tests/projections/kv_heap.script.ts [N]
//      npx deno run -A --v8-flags=--expose-gc tests/projections/kv_heap.script.ts [N]
// Timing uses performance.now(), which is fine here: this is a script, not pure code or a test.

import process from "node:process";
// The "encode"/"decode" entry points are cbor-x in plain JavaScript: its main entry loads the
// native cbor-extract addon, which Deno cannot load (the process dies with a symbol error).
import { Encoder } from "cbor-x/encode";
import { Decoder } from "cbor-x/decode";
import { kvProjection, type KvState } from "../../projections/mod.ts";

const n = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc (see the head comment)");

function heapMb(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 1048576;
}

// Keys and values arrive decoded from HTTP bodies as flat strings; TextDecoder gives the same.
const td = new TextDecoder();
const valueBytes = new TextEncoder().encode("v".repeat(56) + "00000000");
function valueOf(i: number): string {
  const s = String(i).padStart(8, "0");
  for (let j = 0; j < 8; j++) valueBytes[56 + j] = s.charCodeAt(j);
  return td.decode(valueBytes);
}

const before = heapMb();
const state: KvState = kvProjection.initialState();
let t = performance.now();
for (let i = 0; i < n; i++) {
  // 1000 directories of 1000 keys, like /1/app/<dir>/<key>.
  const path = td.decode(new TextEncoder().encode(`/1/app/d${i % 1000}/key${i}`));
  kvProjection.apply(state, { type: "kv/set", path, value: valueOf(i), dir: false, ttlSec: null, refresh: false }, {
    index: i + 1,
    term: 1,
    timeMs: 1_800_000_000_000,
  });
}
const applyMs = performance.now() - t;
const after = heapMb();
console.log(`keys: ${n}  apply: ${applyMs.toFixed(0)} ms (${(n / applyMs * 1000).toFixed(0)}/s)`);
console.log(`heap: ${(after - before).toFixed(1)} MiB for the store = ${((after - before) * 1048576 / n).toFixed(0)} bytes/key`);

t = performance.now();
const plain = kvProjection.encodeState(state);
const encMs = performance.now() - t;
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });
t = performance.now();
const bytes = encoder.encode(plain);
const cborEncMs = performance.now() - t;
t = performance.now();
const back = decoder.decode(bytes);
const cborDecMs = performance.now() - t;
t = performance.now();
const copy = kvProjection.decodeState(back, kvProjection.version);
const decMs = performance.now() - t;
console.log(
  `encodeState: ${encMs.toFixed(0)} ms  cbor encode: ${cborEncMs.toFixed(0)} ms (${(bytes.length / 1048576).toFixed(1)} MiB)  ` +
    `cbor decode: ${cborDecMs.toFixed(0)} ms  decodeState: ${decMs.toFixed(0)} ms  index ${copy.index}`,
);
