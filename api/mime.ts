// Go's mime.ParseMediaType (Go 1.19, as etcd 3.4.23 runs it), reduced to what ParseForm needs:
// the lowercased media type, or Go's error text for a malformed Content-Type. ParseForm calls it
// for every PUT/POST/PATCH with a Content-Type, and etcd answers its error as 210 "Invalid POST
// form" with that text as the cause, before reading the body. Parameter values are checked
// (tokens, quoted strings, duplicates, RFC 2231 "name*" keys) but not returned: nobody reads
// them. Checked against a real etcd 3.4.23 (tests/api/mime.test.ts lists the probes).
// Must not read requests or know etcd semantics.

export type MediaTypeParse = { ok: true; mediaType: string } | { ok: false; error: string };

const FORM_TYPE = "application/x-www-form-urlencoded";
const FORM_OK: MediaTypeParse = { ok: true, mediaType: FORM_TYPE };

/** Go's isTokenChar: visible ASCII except the tspecials ()<>@,;:\"/[]?= */
function isTokenChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case 0x28: case 0x29: case 0x3c: case 0x3e: case 0x40: case 0x2c: case 0x3b: case 0x3a: // ()<>@,;:
    case 0x5c: case 0x22: case 0x2f: case 0x5b: case 0x5d: case 0x3f: case 0x3d: // \"/[]?=
      return false;
  }
  return true;
}

/** unicode.IsSpace for the characters a header value can hold. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** End of the token starting at i (i itself when there is none). */
function tokenEnd(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/** mime.ParseMediaType's media type and error. A missing or empty header is application/octet-stream. */
export function goParseMediaType(v: string | null): MediaTypeParse {
  if (v === FORM_TYPE) return FORM_OK; // the hot path: what every client sends
  if (v === null || v === "") return { ok: true, mediaType: "application/octet-stream" };
  let semi = v.indexOf(";");
  if (semi < 0) semi = v.length;
  const mediaType = v.slice(0, semi).toLowerCase().trim();

  // checkMediaTypeDisposition
  const t = tokenEnd(mediaType, 0);
  if (t === 0) return { ok: false, error: "mime: no media type" };
  if (t < mediaType.length) {
    if (mediaType.charCodeAt(t) !== 0x2f) return { ok: false, error: "mime: expected slash after first token" };
    const st = tokenEnd(mediaType, t + 1);
    if (st === t + 1) return { ok: false, error: "mime: expected token after slash" };
    if (st < mediaType.length) return { ok: false, error: "mime: unexpected content after media subtype" };
  }

  // The parameters: `; name = value` pairs, value a token or a quoted string.
  const seen = new Set<string>();
  let i = semi;
  while (i < v.length) {
    i = skipSpace(v, i);
    if (i >= v.length) break;
    const key = consumeMediaParam(v, i);
    if (key === undefined) {
      // Ignore trailing semicolons: `;` and spaces only.
      if (v.slice(i).trim() === ";") break;
      return { ok: false, error: "mime: invalid media parameter" };
    }
    // "name*..." keys live in their own map per base name (RFC 2231 continuations): a key is a
    // duplicate only of the same key, so one set of full keys decides the same way.
    if (seen.has(key.name)) return { ok: false, error: "mime: duplicate parameter name" };
    seen.add(key.name);
    i = key.rest;
  }
  return { ok: true, mediaType };
}

/** consumeMediaParam: the lowercased name and where the rest starts, or undefined when malformed. */
function consumeMediaParam(v: string, i: number): { name: string; rest: number } | undefined {
  i = skipSpace(v, i);
  if (v.charCodeAt(i) !== 0x3b) return undefined;
  i = skipSpace(v, i + 1);
  const ne = tokenEnd(v, i);
  if (ne === i) return undefined;
  const name = v.slice(i, ne).toLowerCase();
  i = skipSpace(v, ne);
  if (v.charCodeAt(i) !== 0x3d) return undefined;
  i = skipSpace(v, i + 1);
  const ve = consumeValue(v, i);
  if (ve === undefined) return undefined;
  return { name, rest: ve };
}

/** consumeValue: the end of a non-empty token or quoted string at i, or undefined. */
function consumeValue(v: string, i: number): number | undefined {
  if (i >= v.length) return undefined;
  if (v.charCodeAt(i) !== 0x22) {
    const e = tokenEnd(v, i);
    return e === i ? undefined : e;
  }
  let literal = false;
  let empty = true;
  for (let j = i + 1; j < v.length; j++) {
    const c = v.charCodeAt(j);
    if (literal) {
      literal = false;
      empty = false;
    } else if (c === 0x22) return empty ? undefined : j + 1; // Go treats "" like a missing value
    else if (c === 0x5c) literal = true;
    else if (c !== 0x0d && c !== 0x0a) empty = false;
    else return undefined;
  }
  return undefined;
}
