// Unit tests for projections/kv/bytes.ts and the byte ordering of _tree.ts's compareUtf8:
// the store's escaped byte strings map back to their bytes, and sort as Go sorts bytes.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as fc from "fast-check";
import { compareBytes, KV_BYTE_ESCAPE, kvEscapedByte, kvEscapeText, kvStringToBytes } from "../../projections/mod.ts";
import { compareUtf8 } from "../../projections/kv/_tree.ts";
import { goUtf8Decode } from "../../api/go_utf8.ts";
import { decodeEnvelope, encodeEnvelope } from "../../projections/mod.ts";

const s = suite("projections/kv/bytes");
const E = KV_BYTE_ESCAPE;

s("kvStringToBytes() gives back the raw bytes of escaped bytes and of a doubled escape", () => {
  assert.equal([...kvStringToBytes("k" + kvEscapedByte(0xff) + kvEscapedByte(0xc3) + "é")], [0x6b, 0xff, 0xc3, 0xc3, 0xa9]);
  assert.equal([...kvStringToBytes(kvEscapeText("a" + E + "b"))], [0x61, 0xef, 0xb7, 0x90, 0x62]);
  assert.equal([...kvStringToBytes("plain")], [0x70, 0x6c, 0x61, 0x69, 0x6e]);
});

s("kvStringToBytes() inverts the api's decoding for any bytes (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      assert.equal([...kvStringToBytes(goUtf8Decode(b))], [...b]);
    }),
  );
});

s("compareUtf8() orders decoded byte strings as Go orders their bytes (property)", () => {
  // Bias towards bytes that make escapes, multi-byte text and U+FDD0 collide on a common prefix.
  const byte = fc.constantFrom(0x61, 0x7a, 0x80, 0xa9, 0xb7, 0xbd, 0xbf, 0xc3, 0xe2, 0xef, 0xf0, 0x9f, 0x98, 0x90, 0xff);
  const bytes = fc.array(byte, { maxLength: 8 }).map((a) => Uint8Array.from(a));
  fc.assert(
    fc.property(bytes, bytes, (a, b) => {
      const want = Math.sign(compareBytes(a, b));
      assert.is(Math.sign(compareUtf8(goUtf8Decode(a), goUtf8Decode(b))), want);
    }),
    { numRuns: 2000 },
  );
});

s("escaped byte strings survive the log's entry codec (lone surrogates would not)", () => {
  const value = goUtf8Decode(new Uint8Array([0x6b, 0xff, 0xc3, 0xef, 0xbf, 0xbd]));
  const entry = encodeEnvelope({ timeMs: 1, proposer: "1", requestId: 1, command: { value } });
  assert.is(decodeEnvelope<{ value: string }>(entry, 1).command.value, value);
});

s.run();
