// Go encoding/json-compatible output for the etcd v2 wire format: string escaping exactly as Go
// 1.19 (etcd 3.4.23's toolchain) writes it, RFC3339Nano times, and the node/event/error objects
// in etcd's field order, built as strings directly (no intermediate objects, no JSON.stringify on
// the hot path). A store byte string (projections/kv/bytes.ts, decoded by go_utf8.ts) is written
// with each escaped byte as Go writes an invalid byte, "\ufffd", and everything else (a genuine
// U+FFFD included) as Go writes it.
// Must not do I/O or read a clock; must not know HTTP (status codes and headers live elsewhere).

import { type KvError, type KvEvent, kvGetInto, type KvListingSink, type KvNode, type KvState } from "../../projections/mod.ts";
import { KV_BYTE_ESCAPE_CODE } from "../../projections/mod.ts";

// Characters Go escapes or we must repair: controls, quote, backslash, <, >, &, U+2028/9,
// UTF-16 surrogates (a lone one cannot come from Go, so it becomes U+FFFD), and the store's byte
// escape U+FDD0 (an escaped invalid byte is written "\ufffd" as Go writes an invalid byte; a
// doubled one is a literal U+FDD0, written raw). A genuine U+FFFD is written raw, as Go does.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff\ufdd0]/;
const HEX = "0123456789abcdef";

/** `s` as a Go JSON string literal, quotes included. */
export function goJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let start = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      if (c === 0x0a) rep = "\\n";
      else if (c === 0x0d) rep = "\\r";
      else if (c === 0x09) rep = "\\t";
      // Go 1.19 writes \b and \f as \u0008 and \u000c (short forms arrived in Go 1.22).
      else rep = "\\u00" + HEX[c >> 4] + HEX[c & 15];
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = "\\\\";
    else if (c === 0x3c) rep = "\\u003c";
    else if (c === 0x3e) rep = "\\u003e";
    else if (c === 0x26) rep = "\\u0026";
    else if (c === 0x2028) rep = "\\u2028";
    else if (c === 0x2029) rep = "\\u2029";
    else if (c === KV_BYTE_ESCAPE_CODE) {
      // The escape and what follows it are one unit: a raw byte (\ufffd) or a literal U+FDD0.
      const literal = i + 1 < n && s.charCodeAt(i + 1) === KV_BYTE_ESCAPE_CODE;
      out += s.slice(start, literal ? i + 1 : i) + (literal ? "" : "\\ufffd");
      i++;
      start = i + 1;
      continue;
    }
    else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++; // a valid pair: raw UTF-8, like any other non-ASCII text
          continue;
        }
      }
      rep = "\\ufffd";
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/**
 * Bytes a store string stands for (a lone surrogate counts 3, as U+FFFD; an escaped byte 1, a
 * doubled escape 3).
 */
export function utf8ByteLength(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c === KV_BYTE_ESCAPE_CODE && i + 1 < n) {
      // Two code units: a literal U+FDD0 (3 bytes) or one raw byte.
      bytes += s.charCodeAt(i + 1) === KV_BYTE_ESCAPE_CODE ? 1 : -1;
      i++;
    }
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 code units
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Go's time.Format(RFC3339Nano) of a UTC instant: fractional seconds with trailing zeros
 * trimmed, and no fraction at all on a whole second. Our instants have millisecond precision.
 */
export function rfc3339NanoFromMs(ms: number): string {
  const iso = new Date(ms).toISOString(); // "2026-11-23T16:05:37.050Z"; pure, reads no clock
  const dot = iso.lastIndexOf(".");
  if (dot < 0) return iso;
  let end = iso.length - 1; // before "Z"
  while (end > dot + 1 && iso.charCodeAt(end - 1) === 0x30) end--;
  if (end === dot + 1) return iso.slice(0, dot) + "Z";
  return iso.slice(0, end) + "Z";
}

/** Go's time.Duration.String() for a whole number of milliseconds ("11m36.304s", "1.5s", "250ms", "0s"). */
export function goDurationFromMs(totalMs: number): string {
  let ms = Math.trunc(totalMs);
  if (ms === 0) return "0s";
  const neg = ms < 0;
  if (neg) ms = -ms;
  let out: string;
  if (ms < 1000) out = ms + "ms";
  else {
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const sWhole = Math.floor((ms % 60_000) / 1000);
    const frac = ms % 1000;
    let s = String(sWhole);
    if (frac !== 0) s += "." + String(frac).padStart(3, "0").replace(/0+$/, "");
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? "-" + out : out;
}

/** Removes etcd's "/1" store prefix from an internal path, as v2http's trimPrefix does. */
export function stripKeysPrefix(path: string): string {
  return path.charCodeAt(0) === 0x2f && path.charCodeAt(1) === 0x31 ? path.slice(2) : path;
}

/** Where NodeJsonWriter writes: JSON text (as it goes out) and store strings as JSON literals. */
interface JsonOut {
  text(t: string): void;
  literal(s: string): void;
}

/** Into one string (events, small replies, the offline tools). */
class StringOut implements JsonOut {
  out = "";
  text(t: string): void {
    this.out += t;
  }
  literal(s: string): void {
    this.out += goJsonString(s);
  }
}

let utf8: TextEncoder | undefined;

/**
 * Straight into UTF-8 chunks of `chunkBytes`: a large listing's bytes without first building one
 * string of it (V8 joins the pieces of a concatenated string and the runtime encodes it again:
 * 3-4x the time, and the string and the bytes alive at once). ASCII is copied byte by byte; the
 * rest of a string from its first non-ASCII character goes through TextEncoder (goJsonString
 * leaves well-formed text, so its UTF-8 is what Go writes).
 */
export class ByteChunks implements JsonOut {
  readonly chunks: Uint8Array[] = [];
  readonly #chunkBytes: number;
  #buf: Uint8Array;
  #pos = 0;
  /** Bytes in the finished chunks and the current one. */
  get bytes(): number {
    let n = this.#pos;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  constructor(chunkBytes = 64 * 1024) {
    this.#chunkBytes = chunkBytes;
    // Most reads are one small node: start small and double up to a chunk.
    this.#buf = new Uint8Array(Math.min(512, chunkBytes));
  }

  text(t: string): void {
    const n = t.length;
    // At most 3 bytes per UTF-16 unit.
    if (this.#pos + 3 * n > this.#buf.length) this.#grow(3 * n);
    const buf = this.#buf;
    let pos = this.#pos;
    for (let i = 0; i < n; i++) {
      const c = t.charCodeAt(i);
      if (c >= 0x80) {
        utf8 ??= new TextEncoder();
        pos += utf8.encodeInto(i === 0 ? t : t.slice(i), buf.subarray(pos)).written;
        break;
      }
      buf[pos++] = c;
    }
    this.#pos = pos;
  }

  literal(s: string): void {
    // One pass: copy plain ASCII as it is checked; at the first character Go escapes or that is
    // not ASCII, undo the copy and write goJsonString's text instead (rare in keys and values).
    const n = s.length;
    if (this.#pos + n + 2 > this.#buf.length) this.#grow(n + 2);
    const buf = this.#buf;
    const start = this.#pos;
    let pos = start;
    buf[pos++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
        this.#pos = start;
        this.text(goJsonString(s));
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    this.#pos = pos;
  }

  /** Makes room for `need` more bytes: a larger buffer while under a chunk, else a new chunk. */
  #grow(need: number): void {
    const size = this.#buf.length;
    if (size < this.#chunkBytes && this.#pos + need <= this.#chunkBytes) {
      let next = size * 2;
      while (next < this.#pos + need) next *= 2;
      const buf = new Uint8Array(Math.min(next, this.#chunkBytes));
      buf.set(this.#buf.subarray(0, this.#pos));
      this.#buf = buf;
      return;
    }
    if (this.#pos > 0) this.chunks.push(this.#buf.subarray(0, this.#pos));
    this.#buf = new Uint8Array(need > this.#chunkBytes ? need : this.#chunkBytes);
    this.#pos = 0;
  }

  /** Closes the last chunk; returns every chunk. */
  end(): Uint8Array[] {
    if (this.#pos > 0) this.chunks.push(this.#buf.subarray(0, this.#pos));
    this.#buf = new Uint8Array(0);
    this.#pos = 0;
    return this.chunks;
  }
}

/**
 * Writes v2 node objects in etcd's field order with every empty field omitted (NodeExtern's
 * omitempty tags): key, value, dir, expiration, ttl, nodes, modifiedIndex, createdIndex. Keys
 * come in as internal paths and leave with "/1" stripped, so the root ("/1") has no key. Fed
 * node by node in pre-order (a KvListingSink), it never recurses: a listing nests as deep as the
 * store does, and one recursion per level overflowed the JS stack on a 9,000-deep key (a 500 on
 * every listing above it).
 */
export class NodeJsonWriter implements KvListingSink {
  readonly #out: JsonOut;
  #comma = false;
  /** What each open node writes after its children: "]", its indexes and "}". */
  readonly #tails: string[] = [];
  /** A node with an expiration was written: the bytes depend on the time of the read (its ttl). */
  timed = false;

  constructor(out: JsonOut) {
    this.#out = out;
  }

  node(
    key: string | undefined,
    value: string | undefined,
    dir: boolean,
    expirationMs: number | undefined,
    ttl: number,
    modifiedIndex: number,
    createdIndex: number,
    opens: boolean,
  ): void {
    const o = this.#out;
    let sep = "";
    o.text(this.#comma ? ",{" : "{");
    if (key !== undefined) {
      const k = stripKeysPrefix(key);
      if (k !== "") {
        o.text('"key":');
        o.literal(k);
        sep = ",";
      }
    }
    if (value !== undefined) {
      o.text(sep + '"value":');
      o.literal(value);
      sep = ",";
    }
    let t = "";
    if (dir) {
      t += sep + '"dir":true';
      sep = ",";
    }
    if (expirationMs !== undefined) {
      this.timed = true;
      t += sep + '"expiration":"' + rfc3339NanoFromMs(expirationMs) + '"';
      sep = ",";
    }
    if (ttl !== 0) {
      t += sep + '"ttl":' + ttl;
      sep = ",";
    }
    if (opens) {
      t += sep + '"nodes":[';
      sep = ",";
    }
    let tail = "";
    if (modifiedIndex) {
      tail += sep + '"modifiedIndex":' + modifiedIndex;
      sep = ",";
    }
    if (createdIndex) tail += sep + '"createdIndex":' + createdIndex;
    tail += "}";
    if (opens) {
      this.#tails.push("]" + tail);
      this.#comma = false;
      o.text(t);
    } else {
      this.#comma = true;
      o.text(t + tail);
    }
  }

  close(): void {
    this.#comma = true;
    this.#out.text(this.#tails.pop()!);
  }
}

/** Feeds a KvNode tree to `w` in pre-order with an explicit stack (no recursion). */
function writeNodeTree(w: NodeJsonWriter, top: KvNode): void {
  const stack: KvNode[][] = [[top]];
  const pos: number[] = [0];
  while (stack.length > 0) {
    const last = stack.length - 1;
    const level = stack[last];
    const i = pos[last];
    if (i >= level.length) {
      stack.pop();
      pos.pop();
      if (stack.length > 0) w.close();
      continue;
    }
    pos[last] = i + 1;
    const n = level[i];
    const kids = n.nodes;
    const opens = kids !== undefined && kids.length > 0;
    w.node(n.key, n.value, n.dir === true, n.expirationMs, n.ttl ?? 0, n.modifiedIndex, n.createdIndex, opens);
    if (opens) {
      stack.push(kids);
      pos.push(0);
    }
  }
}

/** A v2 node object (see NodeJsonWriter) as one string. */
export function nodeJson(node: KvNode): string {
  const out = new StringOut();
  writeNodeTree(new NodeJsonWriter(out), node);
  return out.out;
}

/**
 * A string while the text is small, UTF-8 chunks (ByteChunks) from `spillChars` on. Almost every
 * read is one small node, and for those a string is what is cheap: building it costs about a
 * tenth of a byte buffer's allocation and filling, and runtimes send a string body faster than a
 * Uint8Array one (measured on Deno 2.9: 0.6 against 7 us per single-key get, 0.15 against 1.7 us
 * per Response, about a third of the GET throughput).
 */
class SpillOut implements JsonOut {
  text_ = "";
  chunks: ByteChunks | undefined;
  readonly #spillChars: number;
  readonly #chunkBytes: number;

  constructor(spillChars: number, chunkBytes: number) {
    this.#spillChars = spillChars;
    this.#chunkBytes = chunkBytes;
  }

  text(t: string): void {
    if (this.chunks !== undefined) return this.chunks.text(t);
    this.text_ += t;
    if (this.text_.length > this.#spillChars) this.#spill();
  }

  literal(s: string): void {
    if (this.chunks !== undefined) return this.chunks.literal(s);
    this.text_ += goJsonString(s);
    if (this.text_.length > this.#spillChars) this.#spill();
  }

  #spill(): void {
    this.chunks = new ByteChunks(this.#chunkBytes);
    this.chunks.text(this.text_);
    this.text_ = "";
  }
}

/**
 * A get's event JSON, {"action":"get","node":...}\n, written straight from the store (no KvNode
 * tree): as one string when it is short (under a quarter of `chunkBytes` in UTF-16 units), else as
 * UTF-8 chunks of about `chunkBytes` and their total length; or the store's error. `timed`: some
 * node has an expiration, so the same read a moment later may differ (its ttl).
 */
export function kvListingJson(
  state: KvState,
  path: string,
  recursive: boolean,
  sorted: boolean,
  nowMs: number,
  chunkBytes = 64 * 1024,
): { text: string; timed: boolean } | { chunks: Uint8Array[]; bytes: number; timed: boolean } | KvError {
  const out = new SpillOut(chunkBytes >> 2, chunkBytes);
  const w = new NodeJsonWriter(out);
  out.text('{"action":"get","node":');
  const err = kvGetInto(state, path, { recursive, sorted }, nowMs, w);
  if (err !== undefined) return err;
  out.text("}\n");
  if (out.chunks === undefined) return { text: out.text_, timed: w.timed };
  const bytes = out.chunks.bytes;
  return { chunks: out.chunks.end(), bytes, timed: w.timed };
}

/**
 * A v2 event as json.Encoder writes it: {"action","node","prevNode"} and a trailing "\n".
 * `refresh` is never written (etcd clones events without it). With noValue the node and
 * prevNode are left out, as noValueOnSuccess asks for set/create/update/compareAndSwap.
 */
export function eventJson(event: KvEvent, noValue = false): string {
  let out = '{"action":"' + event.action + '"';
  if (!noValue) {
    out += ',"node":' + nodeJson(event.node);
    if (event.prevNode !== undefined) out += ',"prevNode":' + nodeJson(event.prevNode);
  }
  return out + "}\n";
}

/** A v2 error body, {"errorCode","message","cause","index"} with an empty cause omitted, plus "\n". */
export function etcdErrorJson(errorCode: number, message: string, cause: string | undefined, index: number): string {
  let out = '{"errorCode":' + errorCode + ',"message":' + goJsonString(message);
  if (cause !== undefined && cause !== "") out += ',"cause":' + goJsonString(cause);
  return out + ',"index":' + index + "}\n";
}

/** The {"message":"..."} body of members, stats and auth errors (json.Marshal: no newline). */
export function messageJson(message: string): string {
  return '{"message":' + goJsonString(message) + "}";
}
