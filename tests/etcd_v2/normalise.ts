// Turns one raw HTTP response (from raw_http.ts) into comparable text lines for the etcd v2
// differential test. It removes only what legitimately differs between two correct servers run
// side by side: absolute indices (made relative to the index before the case), wall-clock times
// (expirations, ttl countdowns, Date, stats times), member/cluster ids (derived from URLs, and the
// two servers listen on different ports), the servers' own URLs, and, when a step asks for it,
// stats counters. Everything else is kept byte for byte: key order, escaping, trailing newlines,
// status line, framing and every header. Each mask checks the masked value's FORMAT so a format
// difference still shows. Must not do I/O and must not know which server it is looking at.

import type { RawHead } from "./raw_http.ts";

/**
 * Extra masks a request can ask for. "transport": the framing line and Date are shown masked
 * (Connection is never compared), for the one reply whose framing a runtime's HTTP server
 * decides and cannot be told otherwise (see its case in cases.ts).
 */
export type Mask = "counters" | "transport";

/** Per-server, per-case state: the tokens given out so far must persist across steps. */
export interface NormaliseState {
  /** X-Etcd-Index before the case started: indices are shown as B+n. */
  readonly base: number;
  /** This server's own advertised URLs, shown as <client-url> / <peer-url>. */
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** expiration string -> token, in order of first sight. */
  readonly expirations: Map<string, string>;
  /** member/cluster id -> token, in order of first sight. */
  readonly ids: Map<string, string>;
}

export function newState(base: number, clientUrl: string, peerUrl: string): NormaliseState {
  return { base, clientUrl, peerUrl, expirations: new Map(), ids: new Map() };
}

/** When the request went out and when the (part of the) response came back: bounds for "now". */
export interface Timing {
  readonly sentAtMs: number;
  readonly recvAtMs: number;
}

/** An index shown relative to the case's base: 0 stays 0 (validation errors carry index 0). */
export function rel(st: NormaliseState, n: number): string {
  if (n === 0) return "0";
  const d = n - st.base;
  return d >= 0 ? `B+${d}` : `B${d}`;
}

/** Relative only when plausibly an index from this case (>= base); literal otherwise. */
function relIfIndex(st: NormaliseState, s: string): string {
  const n = Number(s);
  return n >= st.base && n > 0 ? `{${rel(st, n)}}` : s;
}

/** In-order key names are the index zero-padded to 20 digits. */
export function relKeyText(st: NormaliseState, s: string): string {
  return s.replace(/(?<!\d)\d{20}(?!\d)/g, (m) => `{${rel(st, Number(m))}:020}`);
}

/** For display: the request target with index-valued parameters and in-order names made relative. */
export function relRequestTarget(st: NormaliseState, path: string): string {
  return relKeyText(st, path).replace(/\b(prevIndex|waitIndex)=(\d+)/g, (_m, k: string, v: string) => `${k}=${relIfIndex(st, v)}`);
}

function idToken(st: NormaliseState, id: string): string {
  // etcd writes ids as lowercase hex without zero padding (cluster id 48276a8f75b6a87 has 15 digits).
  if (!/^[1-9a-f][0-9a-f]{0,15}$/.test(id)) return `<BAD id format ${JSON.stringify(id)}>`;
  let t = st.ids.get(id);
  if (!t) {
    t = `<id#${st.ids.size + 1}>`;
    st.ids.set(id, t);
  }
  return t;
}

/** Go RFC3339Nano in UTC with trailing fractional zeros trimmed. */
const RFC3339NANO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{0,8}[1-9]))?Z$/;

function parseRfc3339Ms(s: string): number | undefined {
  const m = RFC3339NANO.exec(s);
  if (!m) return undefined;
  const frac = m[7] ? Number(("0." + m[7]).slice(0, 15)) * 1000 : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + frac;
}

/**
 * An expiration: a token per distinct value, so "GET shows the expiration the set returned" and
 * "refresh gave a new expiration" stay visible. At first sight it also shows the offset from the
 * request's send time in whole seconds, which is the ttl the write asked for.
 */
function expirationToken(st: NormaliseState, s: string, t: Timing): { token: string; ms: number | undefined } {
  const ms = parseRfc3339Ms(s);
  if (ms === undefined) return { token: `<BAD expiration format ${s}>`, ms };
  let tok = st.expirations.get(s);
  if (tok) return { token: tok, ms };
  // The server stamps "now" when the write arrives (etcd in its HTTP handler, coreplane when it
  // proposes), before the slow part (consensus, fsync, the reply), so expiration - ttl lies just
  // after the send time: the whole seconds from the send time to the expiration are the ttl asked
  // for however long the reply takes, unless the request took a second to arrive.
  const n = st.expirations.size + 1;
  const ahead = Math.floor((ms - t.sentAtMs) / 1000);
  tok = ms < t.sentAtMs - 1 ? `<exp#${n} past>` : ahead <= 0 ? `<exp#${n} now>` : `<exp#${n} now+${ahead}s>`;
  st.expirations.set(s, tok);
  return { token: tok, ms };
}

/** A negative ttl consistent with the timing: dropped from the text, as etcd drops a ttl of 0. */
const PAST_TTL = "<ttl past>";
const PAST_TTL_FIELD = new RegExp(`,"ttl":${PAST_TTL}|"ttl":${PAST_TTL},?`, "g");

/**
 * etcd's ttl is ceil((expiration - now)/1s) with "now" somewhere between sending and receiving:
 * a countdown that depends on wall time. Shown as <ttl> when it is consistent with the node's
 * expiration, otherwise with the offending value.
 *
 * Past the expiration the countdown is 0, which etcd omits, until it reaches -1, which etcd shows:
 * a node is reaped at the first 500 ms tick after its expiration and rendered then (the expire
 * event's prevNode, and a GET in between), so whether its ttl is absent or -1 says only whether
 * the reaper ran a second late (etcd's SYNC entry waits for a slow fsync; coreplane renders it at
 * its tick and never shows a negative ttl). A negative ttl the node can have reached by the time
 * the reply came back is therefore dropped (PAST_TTL); one it cannot have reached still shows.
 */
function ttlToken(raw: string, expMs: number | undefined, t: Timing): string {
  const ttl = Number(raw);
  if (expMs === undefined) return `<ttl ${raw} WITHOUT expiration>`;
  const lo = Math.ceil((expMs - t.recvAtMs - 1) / 1000);
  const hi = Math.ceil((expMs - t.sentAtMs + 1) / 1000);
  if (Number.isInteger(ttl) && ttl < 0 && ttl >= lo) return PAST_TTL;
  return ttl >= lo && ttl <= hi ? "<ttl>" : `<ttl ${raw} NOT in [${lo},${hi}]>`;
}

const GO_DURATION = /^(\d+h)?(\d+m)?\d+(\.\d+)?(s|ms|µs|ns)$|^0s$/;

/**
 * Rewrites a JSON text token by token (no parse/re-encode, so escaping, key order and the trailing
 * newline survive): index fields relative, expirations/ttl/times/ids tokenised, long strings
 * digested. Non-JSON text passes through.
 */
export function normaliseJsonText(st: NormaliseState, text: string, t: Timing, masks: readonly Mask[] = []): string {
  let out = "";
  let lastKey = "";
  let expMs: number | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const lit = text.slice(i, j + 1);
      let k = j + 1;
      while (k < n && (text[k] === " " || text[k] === "\n")) k++;
      if (text[k] === ":") {
        lastKey = lit.slice(1, -1);
        out += lit;
      } else {
        out += stringValue(lit.slice(1, -1));
      }
      i = j + 1;
      continue;
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(text[j])) j++;
      out += numberValue(text.slice(i, j));
      i = j;
      continue;
    }
    if (c === "{" || c === "}") expMs = undefined;
    out += c;
    i++;
  }
  return out.replace(PAST_TTL_FIELD, "");

  function stringValue(inner: string): string {
    let v = inner;
    switch (lastKey) {
      case "key":
      case "cause":
      case "message":
        v = relKeyText(st, v).replace(/\[(\d+) != (\d+)\]/g, (_m, a: string, b: string) => `[${relIfIndex(st, a)} != ${relIfIndex(st, b)}]`)
          .replace(/\[(\d+)\/(\d+)\]/g, (_m, a: string, b: string) => `[${relIfIndex(st, a)}/${relIfIndex(st, b)}]`);
        break;
      case "expiration": {
        const e = expirationToken(st, v, t);
        expMs = e.ms;
        return e.token;
      }
      case "id":
      case "leader":
        return idToken(st, v);
      case "startTime":
        return parseRfc3339Ms(v) === undefined ? `<BAD time format ${v}>` : "<time>";
      case "uptime":
        return GO_DURATION.test(v) ? "<duration>" : `<BAD duration format ${v}>`;
    }
    if (v.length > 200) return `"<${v.length} chars, fnv1a ${fnv1a(v)}>"`;
    return `"${v}"`;
  }

  function numberValue(raw: string): string {
    if (masks.includes("counters")) return "<n>";
    switch (lastKey) {
      case "index":
      case "modifiedIndex":
      case "createdIndex":
        return rel(st, Number(raw));
      case "ttl":
        return ttlToken(raw, expMs, t);
    }
    return raw;
  }
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Body bytes as text: valid UTF-8 as is; otherwise every non-ASCII byte as \xHH (so raw invalid bytes stay visible). */
export function bodyText(b: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    let s = "";
    for (const x of b) s += x < 0x80 ? String.fromCharCode(x) : `\\x${x.toString(16).toUpperCase()}`;
    return s;
  }
}

/** For display: control characters and U+2028/2029 made visible. */
export function visible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === "\n" ? "⏎" : `⟨U+${c.charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}⟩`));
}

export function replaceUrls(st: NormaliseState, s: string): string {
  return s.split(st.clientUrl).join("<client-url>").split(st.peerUrl).join("<peer-url>");
}

/** Headers compared by value (after the masks below). */
const VALUE_HEADERS = new Set([
  "content-type",
  "access-control-allow-headers",
  "access-control-allow-methods",
  "access-control-allow-origin",
  "location",
  "allow",
  "x-content-type-options",
]);
/**
 * Transport-level headers: Connection/Keep-Alive depend on the runtime's HTTP stack and no etcd
 * client reads them; Content-Length and Transfer-Encoding are compared as the "framing" line.
 */
const IGNORED_HEADERS = new Set(["connection", "keep-alive", "content-length", "transfer-encoding"]);

const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

/** The status line, framing and every header, normalised, one per line, sorted by name. */
export function normaliseHead(st: NormaliseState, h: RawHead): string[] {
  const lines = [`status: ${h.status} ${h.reason}`, `framing: ${h.framing}`];
  const byName = new Map<string, string[]>();
  for (const [k, v] of h.headers) byName.set(k, [...(byName.get(k) ?? []), v]);
  const etcdIndex = byName.get("x-etcd-index")?.[0];
  for (const name of [...byName.keys()].sort()) {
    if (IGNORED_HEADERS.has(name)) continue;
    const vals = byName.get(name) ?? [];
    const v = vals.join(", ");
    let shown: string;
    if (VALUE_HEADERS.has(name)) shown = replaceUrls(st, v);
    else if (name === "x-etcd-index") shown = /^\d+$/.test(v) ? rel(st, Number(v)) : `<BAD ${v}>`;
    else if (name === "x-etcd-cluster-id") shown = idToken(st, v);
    else if (name === "x-raft-index") {
      // Any monotonic value >= the etcd index will do (no client reads it): presence and that bound.
      const ok = /^\d+$/.test(v) && (etcdIndex === undefined || Number(v) >= Number(etcdIndex));
      shown = ok ? "<present>" : `<BAD ${v} (X-Etcd-Index ${etcdIndex})>`;
    } else if (name === "x-raft-term") shown = /^[1-9]\d*$/.test(v) ? "<present>" : `<BAD ${v}>`;
    else if (name === "date") shown = HTTP_DATE.test(v) ? "<present>" : `<BAD ${v}>`;
    else shown = `${v} (unexpected header)`;
    lines.push(`${name}: ${shown}${vals.length > 1 ? ` (${vals.length} times)` : ""}`);
  }
  return lines;
}

/**
 * Go's net/http buffers 2,048 bytes before it commits to a framing: a handler's reply that fits
 * gets Content-Length, a longer one Transfer-Encoding: chunked. That is an artifact of Go's write
 * buffer, not API behaviour (every client reads both), so for bodies of 2 KB or more the framing
 * is shown as either. Smaller bodies, empty ones and watches keep their exact framing.
 */
export function framingLine(h: RawHead, bodyBytes: number): string {
  if (bodyBytes >= 2048 && (h.framing === "length" || h.framing === "chunked")) return "framing: length or chunked (body >= 2 KB)";
  return `framing: ${h.framing}`;
}

/** The "transport" mask over normalised head lines: framing masked, Date dropped, the rest kept. */
export function maskTransport(lines: readonly string[]): string[] {
  return lines.filter((l) => !l.startsWith("date: ")).map((l) => (l.startsWith("framing: ") ? "framing: <masked>" : l));
}

/** A body (or one watch event line) as one display/compare line. */
export function normaliseBody(st: NormaliseState, body: Uint8Array | string, t: Timing, masks: readonly Mask[] = []): string {
  const text = typeof body === "string" ? body : bodyText(body);
  return visible(normaliseJsonText(st, replaceUrls(st, text), t, masks));
}
