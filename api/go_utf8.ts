// Request bytes (a percent-decoded path, form names and values) as the store's byte strings
// (projections/kv/bytes.ts), byte for byte as Go reads them: valid UTF-8 as text (a literal U+FDD0
// doubled), and each byte that does not begin a valid sequence as one escaped byte, so that
// distinct byte strings stay distinct. Must not know HTTP or any protocol.

import { kvEscapedByte, kvEscapeText } from "../projections/mod.ts";

let utf8Fatal: TextDecoder | undefined;
let utf8Lossy: TextDecoder | undefined;

/**
 * Decodes bytes[start, end) into the store's byte string (projections/kv/bytes.ts): valid UTF-8
 * as text (a literal U+FDD0 doubled), and each byte that does not begin a valid sequence, as Go
 * walks a string, as one escaped byte (WHATWG's decoder would merge some and lose them all).
 */
export function goUtf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii && end - start <= 256) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  utf8Fatal ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    const text = utf8Fatal.decode(bytes.subarray(start, end));
    return ascii ? text : kvEscapeText(text);
  } catch {
    return decodeByteWise(bytes, start, end);
  }
}

function decodeByteWise(b: Uint8Array, start: number, end: number): string {
  utf8Lossy ??= new TextDecoder("utf-8", { ignoreBOM: true });
  let out = "";
  let runStart = start;
  let i = start;
  while (i < end) {
    const c = b[i];
    let len = 0;
    if (c < 0x80) len = 1;
    else if (c >= 0xc2 && c <= 0xdf) {
      if (i + 1 < end && (b[i + 1] & 0xc0) === 0x80) len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      const lo = c === 0xe0 ? 0xa0 : 0x80; // no overlongs
      const hi = c === 0xed ? 0x9f : 0xbf; // no surrogates
      if (i + 2 < end && b[i + 1] >= lo && b[i + 1] <= hi && (b[i + 2] & 0xc0) === 0x80) len = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      if (
        i + 3 < end && b[i + 1] >= lo && b[i + 1] <= hi && (b[i + 2] & 0xc0) === 0x80 &&
        (b[i + 3] & 0xc0) === 0x80
      ) len = 4;
    }
    if (len === 0) {
      if (runStart < i) out += kvEscapeText(utf8Lossy.decode(b.subarray(runStart, i)));
      out += kvEscapedByte(c);
      i++;
      runStart = i;
    } else {
      i += len;
    }
  }
  if (runStart < end) out += kvEscapeText(utf8Lossy.decode(b.subarray(runStart, end)));
  return out;
}

