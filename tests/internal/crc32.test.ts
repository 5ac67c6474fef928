// crc32() gives zlib's CRC-32 for every length and offset (the slicing-by-8 loop and its tail).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { crc32 } from "../../internal/crc32.ts";

const s = suite("internal/crc32");

function bitwise(b: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ -1) >>> 0;
}

s("crc32() matches the known value of '123456789' (0xcbf43926)", () => {
  assert.is(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

s("crc32() equals the bit-by-bit CRC for every length and start up to 40", () => {
  const b = new Uint8Array(64).map((_, i) => (i * 151 + 7) & 0xff);
  for (let start = 0; start < 8; start++) {
    for (let end = start; end <= 48; end++) assert.is(crc32(b, start, end), bitwise(b, start, end), `${start}..${end}`);
  }
});

s.run();
