// End to end: a fast-check property that throws random requests at a real coreplane member over
// real HTTP (a raw socket, so paths with "..", "//", "%zz", "%FF" and long paths reach the server
// as written): random methods, paths, etcd's query/body parameters with random (often invalid)
// values, random content types, values just over --max-request-bytes. For every answer: no 5xx
// (a healthy single member has no reason for errorCode 300), every /v2/keys error is etcd's
// errorCode JSON with the status etcd gives that code, every /v2/keys success is an action JSON.
// A model built from the acknowledged writes (keyed by path; TTL'd and unknowable ones dropped)
// must match the final state, and the member must be alive with /health 200 at the end.
// Seeded: prints its seed; SEED=n reproduces. FUZZ_REQUESTS sets the count (default 300).
// Must not assert timing.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane } from "../helpers/procs.ts";
import { AbortedError, getKey, keyPath, type RawCall, type RawResponse, rawRequest, seedFromEnv } from "./_util.ts";

/** The member's ports, from the OS; a restart on the same data dir reuses them. */
const [clientPort, peerPort] = await freePorts(2);
const PORTS = { clientPort, peerPort };
const MAX_REQUEST_BYTES = 4096;
const SYNC_ANSWER_LIMIT_MS = 20_000;
/**
 * Request lines longer than this get no answer at all from etcd 3.4 (its port multiplexer resets
 * the connection; checked: 4,000 bytes answered, 4,070 reset). For those, a bare refusal by the
 * HTTP layer (400, 414, 431 without etcd JSON) or a closed connection is as good as etcd.
 */
const ETCD_REQUEST_LINE_BYTES_MAX = 4096;

function overlongLine(req: FuzzReq): boolean {
  return req.method.length + 1 + req.target.length + 10 > ETCD_REQUEST_LINE_BYTES_MAX;
}

// ---------------------------------------------------------------------------------------------
// Requests

interface FuzzReq {
  readonly kind: "plain-set" | "plain-delete" | "plain-get" | "big" | "random";
  readonly method: string;
  readonly target: string;
  readonly contentType?: string;
  readonly body?: string;
  /** For plain sets and big values: the key and the value sent. */
  readonly key?: string;
  readonly value?: string;
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD, as Buffer writes them). */
function pct(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && UNRESERVED.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** What the server receives for `s` after a UTF-8 round trip. */
function utf8(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

function keyTarget(key: string): string {
  return "/v2/keys" + key.split("/").map(pct).join("/");
}

const segment = fc.constantFrom("a", "b", "c", "d", "_h", "sp ace", "ü", "日本", "x?y", "%", "a+b", "q", "00000000000000000001");
const keyArb = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.array(segment, { minLength: 1, maxLength: 3 }))
  .map(([r, segs]) => (r === 0 && segs.length === 1 ? "" : "/fz") + "/" + segs.join("/"));
const valueArb = fc.oneof(
  fc.constantFrom("", "v", "x y", "a&b=c", "日本語", "\u2028", "<b>&amp;", "+", "%zz", "\ufffd"),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 12 }),
);

const boolish = fc.constantFrom("true", "false", "1", "0", "t", "F", "TRUE", "True", "yes", "", "2", "nil");
const intish = fc.oneof(fc.constantFrom("0", "1", "2", "5", "-1", "abc", "18446744073709551616", "007", " 3", "1.5", ""), fc.nat(80).map(String));
const paramArb: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constant("value"), valueArb) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("dir"), boolish) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("ttl"), intish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("refresh"), boolish) },
  { weight: 3, arbitrary: fc.tuple(fc.constant("prevExist"), boolish) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("prevValue"), valueArb) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("prevIndex"), intish) },
  { weight: 2, arbitrary: fc.tuple(fc.constant("recursive"), boolish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("sorted"), boolish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("quorum"), boolish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("wait"), boolish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("waitIndex"), intish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("stream"), boolish) },
  { weight: 1, arbitrary: fc.tuple(fc.constant("noValueOnSuccess"), boolish) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("", "x", "VALUE", "value[]", "Dir", "ttl "), valueArb) },
);
/** Written into the query or body unescaped: escapes Go refuses, separators, stray bytes. */
const rawValue = fc.constantFrom("%zz", "%", "%F", "a;b", "a+b", "%FF", "%C3", "&&", "=", "%00", "%E2%80%A8");

const weirdPath = fc.oneof(
  fc.constantFrom(
    "/v2/keys", "/v2/keys/", "/v2/keys//fz/a", "/v2/keys/fz//a", "/v2/keys/fz/../a", "/v2/keys/../fz",
    "/v2/keys/./fz/a", "/v2/keys/fz/.", "/v2/keys/fz/%2e%2e/a", "/v2/keys/fz/a%2Fb", "/v2/keys/fz/%2F%2F",
    "/v2/keys/fz/%zz", "/v2/keys/fz/%FF", "/v2/keys/fz/%C3", "/v2/keys/fz/%00", "/v2/keys/fz/a%20b",
    "/v2/keys/fz/%E2%80%A8", "/v2/keys/fz/%F0%9F%98%80", "/v2/keys/fz/a/", "/v2/keys/fz/_h/", "/v2/keysx",
    "/v2/keys/_etcd/machines", "/v2//keys/fz", "/v2/keys/fz/a%3Fb", "/v2/keys/fz/+",
  ),
  fc.tuple(fc.integer({ min: 200, max: 20_000 }), fc.constantFrom("a", "%C3%BC", "/a")).map(([n, unit]) => "/v2/keys/fz/long" + unit.repeat(n / unit.length)),
  fc.constant("/v2/keys/fz/" + "k".repeat(66 * 1024)),
  fc.string({ unit: "binary", maxLength: 16 }).map((s) => "/v2/keys/fz/" + pct(s)),
);
const otherPath = fc.constantFrom(
  "/", "/version", "/health", "/v2/members", "/v2/members/abc", "/v2/members/leader", "/v2/stats/self",
  "/v2/stats/leader", "/v2/stats/store", "/v2/machines", "/v2/leader", "/v2/auth/users", "/metrics", "/v3/kv/range", "/x%zz",
);
const contentTypeArb = fc.constantFrom(
  "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8", "APPLICATION/X-WWW-FORM-URLENCODED",
  "application/json", "text/plain", "multipart/form-data; boundary=zz", "", "garbage;;;", undefined,
);
const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("GET", "PUT", "POST", "DELETE") },
  { weight: 1, arbitrary: fc.constantFrom("HEAD", "PATCH", "OPTIONS", "PROPFIND", "put") },
);

const randomReq: fc.Arbitrary<FuzzReq> = fc.record({
  method: methodArb,
  path: fc.oneof({ weight: 6, arbitrary: keyArb.map(keyTarget) }, { weight: 3, arbitrary: weirdPath }, { weight: 1, arbitrary: otherPath }),
  params: fc.array(fc.record({ p: paramArb, inBody: fc.boolean(), raw: fc.option(rawValue, { freq: 8 }) }), { maxLength: 5 }),
  bodyKind: fc.constantFrom("form", "form", "json", "text", "none"),
  text: fc.string({ maxLength: 40 }),
  contentType: contentTypeArb,
  bareQuestionMark: fc.boolean(),
}).map((r) => {
  const enc = (x: { p: [string, string]; raw: string | null }) => `${pct(x.p[0])}=${x.raw ?? pct(x.p[1])}`;
  const q = r.params.filter((x) => !x.inBody).map(enc).join("&");
  const bodyParams = r.params.filter((x) => x.inBody);
  let body: string | undefined;
  if (r.bodyKind === "form") body = bodyParams.map(enc).join("&");
  else if (r.bodyKind === "json") body = JSON.stringify(Object.fromEntries(bodyParams.map((x) => x.p)));
  else if (r.bodyKind === "text") body = r.text;
  return {
    kind: "random" as const,
    method: r.method,
    target: r.path + (q ? "?" + q : r.bareQuestionMark ? "?" : ""),
    contentType: r.contentType,
    body,
  };
});

const form = "application/x-www-form-urlencoded";
const plainSet: fc.Arbitrary<FuzzReq> = fc.tuple(keyArb, valueArb).map(([key, value]) => ({
  kind: "plain-set" as const, method: "PUT", target: keyTarget(key), contentType: form, body: `value=${pct(value)}`, key, value,
}));
const plainDelete: fc.Arbitrary<FuzzReq> = keyArb.map((key) => ({ kind: "plain-delete" as const, method: "DELETE", target: keyTarget(key), key }));
const plainGet: fc.Arbitrary<FuzzReq> = keyArb.map((key) => ({ kind: "plain-get" as const, method: "GET", target: keyTarget(key) + "?recursive=true&sorted=true", key }));
/** A value around --max-request-bytes, counted in UTF-8 bytes ("é" is two). */
const big: fc.Arbitrary<FuzzReq> = fc.tuple(
  keyArb,
  fc.constantFrom(-1, 0, 1, 2, 100, MAX_REQUEST_BYTES),
  fc.constantFrom("a", "é"),
).map(([key, over, unit]) => {
  const bytes = MAX_REQUEST_BYTES + over;
  const value = unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))).slice(0, Math.ceil(bytes / Buffer.byteLength(unit)));
  return { kind: "big" as const, method: "PUT", target: keyTarget(key), contentType: form, body: `value=${pct(value)}`, key, value };
});

const reqArb: fc.Arbitrary<FuzzReq> = fc.oneof(
  { weight: 5, arbitrary: plainSet },
  { weight: 2, arbitrary: plainDelete },
  { weight: 2, arbitrary: plainGet },
  { weight: 1, arbitrary: big },
  { weight: 10, arbitrary: randomReq },
);

// ---------------------------------------------------------------------------------------------
// How Go's net/http would see the path (percent-decoding, ServeMux's clean)

/** Bytes of a percent-decoded path, or undefined for a bad escape ("%zz", "%", "%F"). */
function decodePathBytes(raw: string): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const h = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      out.push(Number.parseInt(h, 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return new Uint8Array(out);
}

function goClean(p: string): string {
  const parts: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") parts.pop();
    else parts.push(s);
  }
  let out = "/" + parts.join("/");
  if (p.endsWith("/") && out !== "/") out += "/";
  return out;
}

interface PathInfo {
  /** Reaches the /v2/keys handler as written (canonical, decodable). */
  readonly keys: boolean;
  /** The key it addresses when keys, or undefined when it is not valid UTF-8 (the model cannot name it). */
  readonly key: string | undefined;
  /** Not canonical: Go answers 301; coreplane may clean it differently. */
  readonly nonCanonical: boolean;
  /** A bad escape: Go's server answers a bare 400 before any handler. */
  readonly badEscape: boolean;
}

function pathInfo(target: string): PathInfo {
  const raw = target.split("?")[0];
  const bytes = decodePathBytes(raw);
  if (!bytes) return { keys: false, key: undefined, nonCanonical: false, badEscape: true };
  let decoded: string;
  let validUtf8 = true;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    validUtf8 = false;
    decoded = Buffer.from(bytes).toString("latin1");
  }
  const cleaned = goClean(decoded);
  const nonCanonical = cleaned !== decoded;
  const keys = !nonCanonical && (decoded === "/v2/keys" || decoded.startsWith("/v2/keys/"));
  let key: string | undefined;
  if (keys && validUtf8) {
    key = decoded.slice("/v2/keys".length).replace(/\/$/, "") || "/";
  }
  return { keys, key, nonCanonical, badEscape: false };
}

// ---------------------------------------------------------------------------------------------
// Checks

const STATUS_BY_CODE: Record<number, number> = { 100: 404, 101: 412, 105: 412, 102: 403, 108: 403, 110: 401, 300: 500, 301: 500 };

interface Node {
  key?: string;
  value?: string;
  dir?: boolean;
  ttl?: number;
  expiration?: string;
  nodes?: Node[];
}

interface KeysBody {
  action?: string;
  node?: Node;
  prevNode?: Node;
  errorCode?: number;
  message?: string;
  cause?: string;
  index?: number;
}

function parseJson(text: string): KeysBody | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as KeysBody) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a response breaks the rules, or undefined. */
function problem(req: FuzzReq, res: RawResponse): string | undefined {
  if (res.status >= 500) return `answered ${res.status} (a 5xx on a healthy single member): ${res.text.slice(0, 300)}`;
  const info = pathInfo(req.target);
  const method = req.method;
  // etcd answers other methods with a plain-text 405 (a method name the HTTP parser does not
  // know, like "put", may get the parser's bare 400 instead): no etcd JSON to check.
  if (!["GET", "HEAD", "PUT", "POST", "DELETE"].includes(method) || !info.keys) return undefined;
  const ct = res.headers.get("content-type") ?? "";
  if (res.status >= 400 && res.status !== 405) {
    if (method === "HEAD") return undefined;
    if (overlongLine(req) && [400, 414, 431].includes(res.status) && !parseJson(res.text)) return undefined;
    const b = parseJson(res.text);
    if (!b || typeof b.errorCode !== "number" || typeof b.message !== "string" || typeof b.index !== "number") {
      return `error ${res.status} in /v2/keys is not etcd's errorCode JSON: ${JSON.stringify(res.text.slice(0, 300))}`;
    }
    if (b.cause !== undefined && typeof b.cause !== "string") return `errorCode JSON with a non-string cause: ${res.text.slice(0, 300)}`;
    if (!res.text.endsWith("\n")) return `errorCode JSON without the trailing newline: ${JSON.stringify(res.text.slice(-50))}`;
    if (!ct.startsWith("application/json")) return `errorCode JSON with Content-Type ${JSON.stringify(ct)}`;
    const want = STATUS_BY_CODE[b.errorCode] ?? 400;
    if (res.status !== want) return `errorCode ${b.errorCode} came with HTTP ${res.status}; etcd sends ${want}`;
  }
  if (res.status >= 200 && res.status < 300 && method !== "HEAD" && ["GET", "PUT", "POST", "DELETE"].includes(method)) {
    const b = parseJson(res.text.split("\n")[0]);
    if (!b || typeof b.action !== "string") return `success ${res.status} in /v2/keys without an action JSON: ${JSON.stringify(res.text.slice(0, 300))}`;
    if (!ct.startsWith("application/json")) return `success with Content-Type ${JSON.stringify(ct)}`;
    if (req.kind === "plain-set" || req.kind === "big") {
      const want = utf8(req.value!);
      if (b.node?.key !== req.key || b.node?.value !== want || b.node?.dir) {
        return `PUT ${req.key} value ${JSON.stringify(want.slice(0, 60))} answered ${res.status} with node ${JSON.stringify(b.node).slice(0, 300)}`;
      }
    }
    // A write answers for the key it was sent to (POST: a new child of it).
    if ((method === "PUT" || method === "DELETE") && b.node?.key !== undefined && info.key !== undefined && b.node.key !== info.key) {
      return `${method} to key ${JSON.stringify(info.key)} answered for key ${JSON.stringify(b.node.key)}`;
    }
  }
  if (req.kind === "big" && Buffer.byteLength(req.value!, "utf8") > MAX_REQUEST_BYTES && res.status < 400) {
    return `a ${Buffer.byteLength(req.value!, "utf8")}-byte value over --max-request-bytes ${MAX_REQUEST_BYTES} was accepted (${res.status})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The model of acknowledged writes

class Model {
  /** key -> value of a file, or null when it was deleted. */
  readonly known = new Map<string, string | null>();
  /** Directories that got a TTL: anything under them may expire. */
  readonly volatile = new Set<string>();

  #under(key: string): string[] {
    const pre = key === "/" ? "/" : key + "/";
    return [...this.known.keys()].filter((k) => k === key || k.startsWith(pre));
  }

  isVolatile(key: string): boolean {
    for (const d of this.volatile) if (key === d || key.startsWith(d === "/" ? "/" : d + "/")) return true;
    return false;
  }

  /** Applies what an answered request did, judged by its reply. */
  apply(req: FuzzReq, res: RawResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    const method = req.method;
    if (method !== "PUT" && method !== "POST" && method !== "DELETE") return;
    const info = pathInfo(req.target);
    if (!info.keys && !info.nonCanonical) return; // another endpoint, or a bad escape
    const b = parseJson(res.text);
    const node = b?.node;
    if (!b || !node || node.key === undefined) {
      // noValueOnSuccess: the reply does not say what happened to the key (or, on POST, which key).
      if (method === "POST") return; // a new child, never one we track
      let key = info.key;
      if (info.nonCanonical) {
        // Go would have redirected; coreplane cleaned the path its own way. Assume the plain clean.
        const bytes = decodePathBytes(req.target.split("?")[0]);
        const cleaned = bytes ? goClean(new TextDecoder().decode(bytes)) : "";
        if (!cleaned.startsWith("/v2/keys")) return;
        key = cleaned.slice("/v2/keys".length).replace(/\/$/, "") || "/";
      }
      if (key === undefined) return; // invalid UTF-8: only keys the model never names
      for (const k of this.#under(key)) this.known.delete(k);
      this.volatile.add(key);
      return;
    }
    const key = node.key;
    if (key.includes("\ufffd")) return; // a key with invalid UTF-8: not reachable by name here
    switch (b.action) {
      case "set":
      case "create":
      case "update":
      case "compareAndSwap":
        // A write creates the missing directories above its key: a deleted ancestor is back, as a directory.
        for (let i = key.indexOf("/", 1); i > 0; i = key.indexOf("/", i + 1)) this.known.delete(key.slice(0, i));
        if (node.dir) {
          this.known.delete(key);
          if (node.expiration !== undefined || node.ttl !== undefined) this.volatile.add(key);
        } else if (node.expiration !== undefined || node.ttl !== undefined) {
          this.known.delete(key);
        } else {
          this.known.set(key, node.value ?? "");
        }
        break;
      case "delete":
      case "compareAndDelete":
        for (const k of this.#under(key)) this.known.set(k, null);
        this.known.set(key, null);
        break;
      default:
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------

const s = suite("e2e/api_fuzz");

s("random requests over HTTP: no crash, no 5xx, etcd's error JSON in /v2/keys, every acknowledged write kept", async () => {
  const seed = seedFromEnv("e2e/api_fuzz");
  const numRuns = Math.max(1, Number(process.env.FUZZ_REQUESTS ?? 300) || 300);
  let p: Proc | undefined;
  const model = new Model();
  const watches: { req: FuzzReq; call: RawCall; res?: RawResponse }[] = [];
  let sent = 0;
  const statuses = new Map<number, number>();
  try {
    p = await startCoreplane({ ...PORTS, extraArgs: ["--max-request-bytes", String(MAX_REQUEST_BYTES)] });
    const port = PORTS.clientPort;
    const send = (req: FuzzReq): RawCall =>
      rawRequest(port, {
        method: req.method,
        target: req.target,
        headers: req.contentType === undefined ? [] : [["Content-Type", req.contentType]],
        body: req.body,
      });

    await fc.assert(
      fc.asyncProperty(reqArb, async (req) => {
        sent++;
        // A GET with "wait" may be a watch that waits for a later write: it is checked at the end.
        if (req.method === "GET" && /[?&]wait=/.test(req.target) && watches.length < 64) {
          const w: { req: FuzzReq; call: RawCall; res?: RawResponse } = { req, call: send(req) };
          w.call.response.then((r) => (w.res = r), () => {});
          watches.push(w);
          return;
        }
        const call = send(req);
        const limit = setTimeout(() => call.abort(), SYNC_ANSWER_LIMIT_MS);
        let res: RawResponse;
        try {
          res = await call.response;
        } catch (e) {
          if (overlongLine(req) && !(e instanceof AbortedError)) return; // refused like etcd refuses it
          throw new Error(
            e instanceof AbortedError ? `no answer within ${SYNC_ANSWER_LIMIT_MS} ms (status ${e.status ?? "none"})` : `no answer: ${(e as Error).message}`,
          );
        } finally {
          clearTimeout(limit);
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        model.apply(req, res);
        const why = problem(req, res);
        if (why) throw new Error(why);
      }),
      { seed, numRuns, endOnFailure: true, includeErrorInReport: true },
    );

    // Watches: stop the ones still waiting; the ones that answered follow the same rules.
    for (const w of watches) if (!w.res) w.call.abort();
    for (const w of watches) {
      if (!w.res) continue;
      const why = problem(w.req, w.res);
      assert.ok(!why, `watch ${w.req.method} ${w.req.target}: ${why}`);
    }

    // The final state: every acknowledged write, as the model has it.
    const wrong: string[] = [];
    let checked = 0;
    for (const [key, want] of model.known) {
      if (model.isVolatile(key)) continue;
      checked++;
      const r = await getKey(p.url, key);
      const b = r.body as KeysBody;
      if (want === null) {
        if (r.status !== 404 || b.errorCode !== 100) wrong.push(`${key}: deleted, but GET ${keyPath(key)} gives ${r.status} ${r.text.slice(0, 200).trim()}`);
      } else if (r.status !== 200 || b.node?.value !== want || b.node?.dir) {
        wrong.push(`${key}: acknowledged value ${JSON.stringify(want).slice(0, 80)}, GET gives ${r.status} ${r.text.slice(0, 200).trim()}`);
      }
    }
    assert.ok(wrong.length === 0, `${wrong.length} of ${checked} keys differ from the acknowledged writes:\n  ${wrong.slice(0, 30).join("\n  ")}`);

    assert.ok(p.child.exitCode === null && p.child.signalCode === null, `the member exited:\n${p.output().slice(-3000)}`);
    const h = await fetch(`${p.url}/health`);
    await h.body?.cancel();
    assert.is(h.status, 200, "/health at the end");
    console.log(
      `  ${sent} requests (${watches.length} watches), statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(" ")}; ` +
        `${checked} keys checked at the end`,
    );
  } catch (e) {
    // Long generated paths would bury the reason: "kkkk..." becomes "k{x66560}".
    (e as Error).message = (e as Error).message.replace(/(.)\1{63,}/gs, (m, c: string) => `${c}{x${m.length}}`);
    if (p) (e as Error).message += `\n(seed ${seed}; SEED=${seed} reproduces)\n--- coreplane output ---\n${p.output().slice(-3000)}`;
    throw e;
  } finally {
    for (const w of watches) w.call.abort();
    await p?.stop();
  }
});

s.run();
