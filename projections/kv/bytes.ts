// How the kv store holds etcd's byte strings in JS strings. etcd's keys and values are Go strings:
// any bytes, compared and sorted as bytes, so `k\xFF` and `k\xC3` are two keys even though both
// print as "k\ufffd". Our commands, store and log hold JS strings, and every codec on their way
// (cbor-x in internal/cbor.ts, TextEncoder, SQLite text) turns a lone surrogate into U+FFFD, so
// Python's "surrogateescape" (byte b -> U+DC00+b) would be undone by the first log round trip.
// Instead the escape is made of valid characters that survive any UTF-8 codec:
//   - valid UTF-8 is held as its text;
//   - a byte that is not part of a valid UTF-8 sequence is KV_BYTE_ESCAPE followed by the char
//     whose code is that byte (always U+0080..U+00FF: ASCII bytes are always valid);
//   - a literal KV_BYTE_ESCAPE (U+FDD0, a Unicode noncharacter "for internal use") is doubled.
// The mapping is injective (distinct byte strings give distinct JS strings, equal bytes equal
// strings), so equality, prevValue and Map lookups work on the strings directly. Only ordering
// (compareUtf8 in _tree.ts), byte lengths and output (api/etcd_v2/json.ts) need to know the scheme.
// ASCII text is its own representation: the hot path never pays for this.
// Must not do I/O; must not know HTTP or JSON.

/** The escape character: U+FDD0. */
export const KV_BYTE_ESCAPE = "\ufdd0";
export const KV_BYTE_ESCAPE_CODE = 0xfdd0;

/** A raw byte (0x80..0xFF) that is not valid UTF-8, as the store holds it. */
export function kvEscapedByte(b: number): string {
  return KV_BYTE_ESCAPE + String.fromCharCode(b);
}

/** Doubles every KV_BYTE_ESCAPE of decoded valid text (a no-op for text without one). */
export function kvEscapeText(text: string): string {
  return text.indexOf(KV_BYTE_ESCAPE) < 0 ? text : text.split(KV_BYTE_ESCAPE).join(KV_BYTE_ESCAPE + KV_BYTE_ESCAPE);
}

let encoder: TextEncoder | undefined;

/** The bytes a store string stands for (the inverse of the api's request decoding). */
export function kvStringToBytes(s: string): Uint8Array {
  encoder ??= new TextEncoder();
  if (s.indexOf(KV_BYTE_ESCAPE) < 0) return encoder.encode(s);
  const out: number[] = [];
  let runStart = 0;
  const flush = (end: number) => {
    if (end > runStart) for (const b of encoder!.encode(s.slice(runStart, end))) out.push(b);
  };
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== KV_BYTE_ESCAPE_CODE) continue;
    flush(i);
    const next = i + 1 < s.length ? s.charCodeAt(i + 1) : -1;
    if (next === KV_BYTE_ESCAPE_CODE) out.push(0xef, 0xb7, 0x90); // a literal U+FDD0
    else if (next >= 0x80 && next <= 0xff) out.push(next);
    else {
      // Not produced by the api's decoder (a string built elsewhere): the escape stands for itself.
      out.push(0xef, 0xb7, 0x90);
      runStart = i + 1;
      continue;
    }
    i++;
    runStart = i + 1;
  }
  flush(s.length);
  return Uint8Array.from(out);
}

/** Byte-wise comparison, as Go compares strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
