// Form parsing as Go's http.Request.ParseForm does it for etcd's v2 handlers: the query string
// always, the body only for PUT/POST with Content-Type application/x-www-form-urlencoded (the
// caller decides that with mime.ts), body
// values before query values (so the body wins), only the first value of a repeated name kept,
// and Go's error texts (`invalid URL escape "%zz"`, `invalid semicolon separator in query`).
// Plus strconv.ParseBool and ParseUint(s, 10, 64). Works on bytes so invalid UTF-8 survives as
// one U+FFFD per byte, as Go's JSON encoder would later show it.
// Must not read the request itself (app code passes bytes in) and must not know etcd semantics.

import { goUtf8Decode } from "./go_utf8.ts";

/** First value of each name, and which names were present at all. */
export type Form = Map<string, string>;

export type FormParse = { ok: true; form: Form } | { ok: false; cause: string };

const SEMICOLON_ERROR = "invalid semicolon separator in query";
const EMPTY = new Uint8Array(0);
let encoder: TextEncoder | undefined;

/** Bytes of a query string that is already ASCII (the URL parser percent-encoded the rest). */
export function queryBytes(rawQuery: string): Uint8Array {
  if (rawQuery === "") return EMPTY;
  encoder ??= new TextEncoder();
  return encoder.encode(rawQuery);
}

/**
 * ParseForm: body pairs first, then query pairs, first value per name wins. The error is the
 * body's error if it has one, else the query's, as Go reports it.
 */
export function parseGoForm(query: Uint8Array, body: Uint8Array | null): FormParse {
  const form: Form = new Map();
  if (body !== null && body.length > 0) {
    const err = parseQueryInto(form, body);
    if (err !== undefined) return { ok: false, cause: err };
  }
  if (query.length > 0) {
    const err = parseQueryInto(form, query);
    if (err !== undefined) return { ok: false, cause: err };
  }
  return { ok: true, form };
}

/**
 * url.ParseQuery (Go 1.19): pieces split on "&"; a piece holding ";" sets the semicolon error
 * (overwriting any earlier error, as Go does); the first unescape error is kept otherwise;
 * bad pieces are skipped and parsing goes on. Returns the error text, if any.
 */
function parseQueryInto(form: Form, b: Uint8Array): string | undefined {
  let err: string | undefined;
  const n = b.length;
  let i = 0;
  while (i < n) {
    let end = i;
    let eq = -1;
    let semi = false;
    let special = false; // holds % or +
    for (; end < n; end++) {
      const c = b[end];
      if (c === 0x26) break;
      if (c === 0x3d && eq < 0) eq = end;
      else if (c === 0x3b) semi = true;
      else if (c === 0x25 || c === 0x2b) special = true;
    }
    const pieceStart = i;
    i = end + 1;
    if (semi) {
      err = SEMICOLON_ERROR;
      continue;
    }
    if (end === pieceStart) continue;
    const keyEnd = eq < 0 ? end : eq;
    const valStart = eq < 0 ? end : eq + 1;
    let key: string;
    let value: string;
    if (!special) {
      key = goUtf8Decode(b, pieceStart, keyEnd);
      if (form.has(key)) continue;
      value = goUtf8Decode(b, valStart, end);
    } else {
      const k = queryUnescape(b, pieceStart, keyEnd);
      if (typeof k !== "string") {
        err ??= k.error;
        continue;
      }
      const v = queryUnescape(b, valStart, end);
      if (typeof v !== "string") {
        err ??= v.error;
        continue;
      }
      key = k;
      value = v;
      if (form.has(key)) continue;
    }
    form.set(key, value);
  }
  return err;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function unhex(c: number): number {
  if (c <= 0x39) return c - 0x30;
  if (c <= 0x46) return c - 0x41 + 10;
  return c - 0x61 + 10;
}

/** url.QueryUnescape of b[start, end): "+" is a space; a bad escape gives Go's EscapeError text. */
function queryUnescape(b: Uint8Array, start: number, end: number): string | { error: string } {
  return unescapeBytes(b, start, end, true);
}

/**
 * Go's url unescape in query mode (plus = space) or path mode (plus stays). On a bad escape
 * returns Go's error text `invalid URL escape "<up to 3 bytes>"` (strconv.Quote'd).
 */
export function unescapeBytes(
  b: Uint8Array,
  start: number,
  end: number,
  plusIsSpace: boolean,
): string | { error: string } {
  let needs = false;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c === 0x25) {
      if (i + 2 >= end || !isHex(b[i + 1]) || !isHex(b[i + 2])) {
        return { error: "invalid URL escape " + goQuote(b.subarray(i, Math.min(i + 3, end))) };
      }
      needs = true;
      i += 2;
    } else if (c === 0x2b && plusIsSpace) needs = true;
  }
  if (!needs) return goUtf8Decode(b, start, end);
  const out = new Uint8Array(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c === 0x25) {
      out[o++] = (unhex(b[i + 1]) << 4) | unhex(b[i + 2]);
      i += 2;
    } else if (c === 0x2b && plusIsSpace) out[o++] = 0x20;
    else out[o++] = c;
  }
  return goUtf8Decode(out, 0, o);
}

/** strconv.Quote for the few bytes of an escape error: printable ASCII as is, the rest escaped. */
function goQuote(bytes: Uint8Array): string {
  let out = '"';
  for (const c of bytes) {
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else if (c === 0x07) out += "\\a";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0b) out += "\\v";
    else out += "\\x" + (c < 16 ? "0" : "") + c.toString(16);
  }
  return out + '"';
}

/** strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; anything else is undefined. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "TRUE":
    case "true":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "FALSE":
    case "false":
    case "False":
      return false;
    default:
      return undefined;
  }
}

const UINT64_MAX_DIGITS = "18446744073709551615";

/**
 * strconv.ParseUint(s, 10, 64): ASCII digits only (no sign, no underscores, not empty), at most
 * 2^64-1. Values above 2^53 lose precision as JS numbers; no etcd index gets near that.
 */
export function parseGoUint(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  let first = -1; // first non-zero digit: leading zeros do not count against the range
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    if (first < 0 && c !== 0x30) first = i;
  }
  if (first < 0) return 0;
  const digits = n - first;
  if (digits > 20 || (digits === 20 && s.slice(first) > UINT64_MAX_DIGITS)) return undefined;
  return Number(s);
}
