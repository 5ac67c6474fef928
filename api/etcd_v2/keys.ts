// etcd 3.4's v2 client API over ApiDeps: /v2/keys (parse and validate as v2http's
// parseKeyRequest does, in its order; turn the request into a kv command or a read; answer with
// etcd's exact bytes and headers), long-poll and streaming watches, /v2/members, /v2/machines,
// /v2/stats/*, /version and /health. Reference: /work/shared/reference/etcd-v2.md.
// Must not do I/O or read a clock other than deps.clock; must not route (app.ts does).

import type { ApiDeps, MemberInfo } from "./deps.ts";
import type { KvCommand } from "../projections/mod.ts";
import type { KvEvent, KvResult, KvState } from "../projections/mod.ts";
import { limits } from "../internal/limits.ts";
import { SharedListings } from "./shared_listings.ts";
import { Ecode } from "../projections/mod.ts";
import type { WatchHub } from "./watch_hub.ts";
import { parseGoBool, parseGoForm, parseGoUint, queryBytes } from "./form.ts";
import { goParseMediaType } from "./mime.ts";
import { parseMemberCreateRequest } from "./member_request.ts";
import { eventJson, goDurationFromMs, goJsonString, kvListingJson } from "./json.ts";
import {
  apiErrors,
  bodyTooLargeReply,
  type ErrorReply,
  kvErrorReply,
  memberFailureReply,
  methodNotAllowedReply,
  nodeFailureReply,
  requestErrorReply,
  unhealthyReply,
  valueTooLargeReply,
} from "./errors.ts";
import { baseHeaders, errorResponse, reply } from "./http.ts";
import { type StoreOp, storeOpOf, StoreStatsCounter } from "./stats.ts";
import { utf8ByteLength } from "./json.ts";

/** What the v2 handlers share for the life of the api. */
export interface EtcdV2Context {
  readonly deps: ApiDeps;
  readonly hub: WatchHub;
  readonly stats: StoreStatsCounter;
  readonly watcherEventsBufferMax: number;
  readonly requestBodyBytesMax: number;
  readonly keyBytesMax: number;
}

const KEYS_ALLOW = "HEAD,GET,PUT,POST,DELETE";
const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";
const FORM_TYPE = "application/x-www-form-urlencoded";

// ---------------------------------------------------------------------------------------------
// /v2/keys

/**
 * Serves /v2/keys. `keyRest` is the decoded, clean path after "/v2/keys" ("" or "/a/b" or
 * "/a/b/"); `rawQuery` is the query string without "?".
 */
export async function serveKeys(
  ctx: EtcdV2Context,
  req: Request,
  origin: string | null,
  keyRest: string,
  rawQuery: string,
): Promise<Response> {
  const method = req.method;
  const isGet = method === "GET";
  const isHead = method === "HEAD";
  const isPut = method === "PUT";
  const isPost = method === "POST";
  if (!isGet && !isHead && !isPut && !isPost && method !== "DELETE") {
    return errorResponse(origin, methodNotAllowedReply(), false, { allow: KEYS_ALLOW });
  }
  const deps = ctx.deps;

  // 1. form parse (210): Go reads a body only for PUT/POST with a form content type; a
  // malformed Content-Type fails first (mime.ParseMediaType), before the query is looked at.
  let body: Uint8Array | null = null;
  if (isPut || isPost) {
    const mt = goParseMediaType(req.headers.get("content-type"));
    if (!mt.ok) return keysError(ctx, origin, requestErrorReply(Ecode.InvalidForm, mt.error), false);
    if (mt.mediaType === FORM_TYPE) {
      const read = await readBody(req, ctx.requestBodyBytesMax);
      if (read === undefined) return keysError(ctx, origin, bodyTooLargeReply(), isHead);
      if (typeof read === "string") return keysError(ctx, origin, requestErrorReply(Ecode.InvalidForm, read), isHead);
      body = read;
    }
  }
  const parsed = parseGoForm(queryBytes(rawQuery), body);
  if (!parsed.ok) return keysError(ctx, origin, requestErrorReply(Ecode.InvalidForm, parsed.cause), isHead);
  const form = parsed.form;

  // 2. prevIndex, waitIndex (203)
  let prevIndex = 0;
  let waitIndex = 0;
  let v = form.get("prevIndex");
  if (v !== undefined) {
    const n = parseGoUint(v);
    if (n === undefined) return keysError(ctx, origin, requestErrorReply(Ecode.IndexNaN, `invalid value for "prevIndex"`), isHead);
    prevIndex = n;
  }
  v = form.get("waitIndex");
  if (v !== undefined) {
    const n = parseGoUint(v);
    if (n === undefined) return keysError(ctx, origin, requestErrorReply(Ecode.IndexNaN, `invalid value for "waitIndex"`), isHead);
    waitIndex = n;
  }

  // 3. recursive, sorted, wait, dir, quorum, stream (209)
  let recursive = false, sorted = false, wait = false, dir = false, quorum = false, stream = false;
  if (form.size > 0) {
    for (let i = 0; i < 6; i++) {
      const f = form.get(BOOL_NAMES[i]);
      if (f === undefined) continue;
      const b = parseGoBool(f);
      if (b === undefined) {
        return keysError(ctx, origin, requestErrorReply(Ecode.InvalidField, `invalid value for "${BOOL_NAMES[i]}"`), isHead);
      }
      if (!b) continue;
      if (i === 0) recursive = true;
      else if (i === 1) sorted = true;
      else if (i === 2) wait = true;
      else if (i === 3) dir = true;
      else if (i === 4) quorum = true;
      else stream = true;
    }
  }

  // 4. wait on a non-GET method (209)
  if (wait && !isGet) {
    return keysError(ctx, origin, requestErrorReply(Ecode.InvalidField, `"wait" can only be used with GET requests`), isHead);
  }

  // 5. empty prevValue (201)
  const prevValue = form.get("prevValue");
  if (prevValue === "") {
    return keysError(ctx, origin, requestErrorReply(Ecode.PrevValueRequired, `"prevValue" cannot be empty`), isHead);
  }

  // 6. noValueOnSuccess (209)
  let noValueOnSuccess = false;
  v = form.get("noValueOnSuccess");
  if (v !== undefined) {
    const b = parseGoBool(v);
    if (b === undefined) {
      return keysError(ctx, origin, requestErrorReply(Ecode.InvalidField, `invalid value for "noValueOnSuccess"`), isHead);
    }
    noValueOnSuccess = b;
  }

  // 7. ttl (202): empty counts as absent
  let ttlSec: number | null = null;
  v = form.get("ttl");
  if (v !== undefined && v !== "") {
    const n = parseGoUint(v);
    // Beyond year 9999 Go cannot even encode the expiration (etcd then answers 201 with an
    // empty body); we refuse such a TTL as not a usable number instead.
    if (n === undefined || n > (EXPIRATION_MS_MAX - deps.clock.nowMs()) / 1000) {
      return keysError(ctx, origin, requestErrorReply(Ecode.TTLNaN, `invalid value for "ttl"`), isHead);
    }
    ttlSec = n;
  }

  // 8. prevExist (209, no quotes around the name)
  let prevExist: boolean | undefined;
  v = form.get("prevExist");
  if (v !== undefined) {
    prevExist = parseGoBool(v);
    if (prevExist === undefined) {
      return keysError(ctx, origin, requestErrorReply(Ecode.InvalidField, "invalid value for prevExist"), isHead);
    }
  }

  // 9. refresh (209, then 211, then 212)
  let refresh = false;
  const value = form.get("value") ?? "";
  v = form.get("refresh");
  if (v !== undefined) {
    const b = parseGoBool(v);
    if (b === undefined) return keysError(ctx, origin, requestErrorReply(Ecode.InvalidField, "invalid value for refresh"), isHead);
    refresh = b;
    if (refresh) {
      if (value !== "") {
        return keysError(ctx, origin, requestErrorReply(Ecode.RefreshValue, "A value was provided on a refresh"), isHead);
      }
      if (ttlSec === null) return keysError(ctx, origin, requestErrorReply(Ecode.RefreshTTLRequired, "No TTL value set"), isHead);
    }
  }

  // 10. auth (110): v2 auth is not implemented; every request is allowed.

  // Our own bounds, checked where etcd would fail in raft: before the store operation.
  let path: string;
  if (keyRest === "" || keyRest === "/") path = "/1";
  else path = "/1" + (keyRest.charCodeAt(keyRest.length - 1) === 0x2f ? keyRest.slice(0, -1) : keyRest);
  if (path.length > ctx.keyBytesMax / 3 && utf8ByteLength(path) - 2 > ctx.keyBytesMax) {
    return keysError(ctx, origin, valueTooLargeReply(), isHead);
  }

  // 11. the store operation
  if (isGet || isHead) {
    if (quorum) {
      try {
        await deps.linearizableRead();
      } catch (err) {
        return keysError(ctx, origin, nodeFailureReply(err), isHead);
      }
      return serveGet(ctx, origin, path, recursive, sorted, isHead);
    }
    if (wait) return serveWatch(ctx, req, origin, path, recursive, stream, waitIndex);
    return serveGet(ctx, origin, path, recursive, sorted, isHead);
  }

  if ((isPut || isPost) && value.length > deps.valueBytesMax / 3 && utf8ByteLength(value) > deps.valueBytesMax) {
    return keysError(ctx, origin, valueTooLargeReply(), false);
  }
  // A key too deep for Go clients to read a listing above it (limits.keyDepthMax says why).
  // Only writes that make one: a deeper key already in the log is read and deleted as any other.
  if ((isPut || isPost) && path.length > 2 * limits.keyDepthMax && keyDepth(path) + (isPost ? 1 : 0) > limits.keyDepthMax) {
    return keysError(ctx, origin, requestErrorReply(Ecode.InvalidForm, `key is deeper than ${limits.keyDepthMax} path segments`), false);
  }
  let command: KvCommand;
  if (isPut) {
    command = {
      type: "kv/set",
      path,
      value,
      dir,
      ttlSec,
      refresh,
      prevExist,
      prevValue,
      prevIndex: prevIndex > 0 ? prevIndex : undefined,
    };
  } else if (isPost) {
    command = { type: "kv/create-in-order", path, value, dir, ttlSec };
  } else {
    command = { type: "kv/delete", path, dir, recursive, prevValue, prevIndex: prevIndex > 0 ? prevIndex : undefined };
  }
  return serveWrite(ctx, origin, command, noValueOnSuccess);
}

/** Path segments of a client key given as an internal path ("/1/a/b" -> 2). */
function keyDepth(path: string): number {
  let n = -1;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 0x2f) n++;
  return n;
}

/** 9999-12-31T23:59:59Z: the last instant Go's time.MarshalJSON accepts. */
const EXPIRATION_MS_MAX = 253402300799000;

const BOOL_NAMES = ["recursive", "sorted", "wait", "dir", "quorum", "stream"];

// deps.status() is read once per reply, when the reply is built: it may not be cheap.
function keysError(ctx: EtcdV2Context, origin: string | null, e: ErrorReply, head: boolean): Response {
  const clusterId = ctx.deps.status().clusterId;
  return errorResponse(origin, e, head, { "x-etcd-cluster-id": clusterId, "x-etcd-index": String(e.etcdIndex) });
}

/**
 * Go's words for a body that could not be read: a bad chunk size, or the connection's end before
 * the body's (a Content-Length longer than what came, then FIN). etcd answers both 400 with that
 * cause. Node's runtime (node/runtime_node.ts) already fails the read with Go's words; Deno's
 * HTTP engine says "invalid HTTP/1 request" for a malformed chunk and names no cause for an EOF.
 */
function bodyReadCause(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  if (/timeout/i.test(m)) return "i/o timeout";
  return /chunk|invalid HTTP/i.test(m) ? "invalid byte in chunk length" : "unexpected EOF";
}

/**
 * Reads the body, refusing one over `max` bytes (by Content-Length when given, else as it
 * streams): undefined when too large, Go's cause (a string) when the body could not be read.
 */
async function readBody(req: Request, max: number): Promise<Uint8Array | string | undefined> {
  const len = req.headers.get("content-length");
  if (len !== null) {
    const n = Number(len);
    if (n > max) return undefined;
    if (n === 0) return new Uint8Array(0);
    try {
      return new Uint8Array(await req.arrayBuffer());
    } catch (e) {
      return bodyReadCause(e);
    }
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      total += r.value.length;
      if (total > max) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(r.value);
    }
  } catch (e) {
    return bodyReadCause(e);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function successHeaders(ctx: EtcdV2Context, origin: string | null, etcdIndex: number): Record<string, string> {
  const st = ctx.deps.status();
  const clusterId = st.clusterId;
  const h = baseHeaders(origin);
  h["content-type"] = JSON_TYPE;
  h["x-etcd-cluster-id"] = clusterId;
  h["x-etcd-index"] = String(etcdIndex);
  h["x-raft-index"] = String(st.commitIndex);
  h["x-raft-term"] = String(st.term);
  return h;
}

/** One SharedListings per store: a store replaced by a snapshot takes its encodings with it. */
const sharedByState = new WeakMap<KvState, SharedListings>();

/**
 * A get. The listing is encoded at once from the store as it is now (synchronously, so it is one
 * state: nodes are mutated in place by writes) straight into UTF-8 chunks; a listing of more
 * than one chunk is streamed out chunk by chunk as the client reads (each reply copies one chunk
 * at a time) and, unless it holds a TTL, kept in SharedListings for the next identical read.
 */
function serveGet(
  ctx: EtcdV2Context,
  origin: string | null,
  path: string,
  recursive: boolean,
  sorted: boolean,
  head: boolean,
): Response {
  const state = ctx.deps.state("kv");
  let shared = sharedByState.get(state);
  let listing: { readonly chunks: readonly Uint8Array[]; readonly bytes: number } | undefined = shared?.get(state, path, recursive, sorted);
  if (listing === undefined) {
    const r = kvListingJson(state, path, recursive, sorted, ctx.deps.clock.nowMs(), limits.listingChunkBytes);
    if ("errorCode" in r) {
      ctx.stats.record("gets", false);
      return keysError(ctx, origin, kvErrorReply(r), head);
    }
    if ("text" in r) {
      // The common case: one small node, sent as a string (the cheapest body a runtime sends).
      ctx.stats.record("gets", true);
      return reply(200, successHeaders(ctx, origin, state.index), r.text, head);
    }
    if (r.chunks.length > 1 && !r.timed) {
      if (shared === undefined) {
        shared = new SharedListings(limits.sharedListingBytesMax);
        sharedByState.set(state, shared);
      }
      shared.put(state, path, recursive, sorted, r.chunks, r.bytes);
    }
    listing = r;
  }
  ctx.stats.record("gets", true);
  const headers = successHeaders(ctx, origin, state.index);
  if (head) {
    headers["content-length"] = String(listing.bytes);
    return new Response(null, { status: 200, headers });
  }
  const chunks = listing.chunks;
  if (chunks.length === 1) return new Response(chunks[0] as Uint8Array<ArrayBuffer>, { status: 200, headers });
  // Go frames a body this large with chunked transfer encoding, as the runtimes do a stream.
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      // A copy: the chunk may be shared with other replies, and a runtime may take what it is given.
      if (i < chunks.length) c.enqueue(chunks[i++].slice());
      if (i >= chunks.length) c.close();
    },
    cancel() {
      i = chunks.length;
    },
  }, { highWaterMark: 0 });
  return streamResponse(body, headers);
}

async function serveWrite(
  ctx: EtcdV2Context,
  origin: string | null,
  command: KvCommand,
  noValueOnSuccess: boolean,
): Promise<Response> {
  let r: KvResult;
  try {
    r = await ctx.deps.propose(command);
  } catch (err) {
    return keysError(ctx, origin, nodeFailureReply(err), false);
  }
  const op = storeOpOf(command) as StoreOp;
  if (r.type === "event") {
    ctx.stats.record(op, true);
    const e = r.event;
    const a = e.action;
    const status = a === "create" || (a === "set" && e.prevNode === undefined) ? 201 : 200;
    const noValue = noValueOnSuccess && (a === "set" || a === "create" || a === "update" || a === "compareAndSwap");
    return reply(status, successHeaders(ctx, origin, e.index), eventJson(e, noValue), false);
  }
  ctx.stats.record(op, false);
  if (r.type === "error") return keysError(ctx, origin, kvErrorReply(r.error), false);
  throw new TypeError("a client write returned an expire result");
}

let encoder: TextEncoder | undefined;

/**
 * A watch: 200 at once with X-Etcd-Index = the store index when registered, then a body that
 * writes one event and ends, or (stream=true) one event per line until the client goes away
 * or more than watcherEventsBufferMax events wait unread. A history hit writes that event; with
 * stream=true the response then stays open and silent, as etcd's does.
 */
function serveWatch(
  ctx: EtcdV2Context,
  req: Request,
  origin: string | null,
  path: string,
  recursive: boolean,
  stream: boolean,
  waitIndex: number,
): Response {
  encoder ??= new TextEncoder();
  const enc = encoder;
  const state = ctx.deps.state("kv");
  const startIndex = state.index;
  const max = ctx.watcherEventsBufferMax;
  const signal = req.signal;

  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let handle: { cancel(): void } | undefined;
  let finished = false; // the body is closed or cancelled
  let cancelled = false; // the hub watcher is gone

  const cancelWatcher = () => {
    if (cancelled) return;
    cancelled = true;
    if (handle !== undefined) handle.cancel();
  };
  const finish = () => {
    if (finished) return;
    finished = true;
    signal.removeEventListener("abort", onAbort);
    cancelWatcher();
    try {
      controller.close();
    } catch {
      // already closed or errored by the consumer going away
    }
  };
  const onAbort = () => finish();

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      // The client went away (the runtime cancels the response body).
      finished = true;
      signal.removeEventListener("abort", onAbort);
      cancelWatcher();
    },
  }, { highWaterMark: 0 });

  const deliver = (e: KvEvent) => {
    if (finished) return;
    // etcd's watcher channel holds 100 events; one more and the watch ends after they drain.
    const queued = -(controller.desiredSize ?? 0);
    if (queued >= max) {
      finish();
      return;
    }
    controller.enqueue(enc.encode(watchEventJson(e)));
    if (!stream) finish();
  };

  const r = ctx.hub.watch(state, path, recursive, stream, waitIndex, deliver, () => finish());
  if (r.type === "error") {
    finished = true;
    return keysError(ctx, origin, kvErrorReply(r.error), false);
  }
  if (r.type === "event") {
    // A history hit: the watcher was never registered live.
    cancelled = true;
    controller.enqueue(enc.encode(eventJson(r.event)));
    if (!stream) {
      finished = true;
      controller.close();
    } else if (signal.aborted) finish();
    else signal.addEventListener("abort", onAbort, { once: true });
  } else {
    handle = r.handle;
    if (cancelled) handle.cancel(); // a synchronous delivery already ended it
    else if (signal.aborted) finish();
    else if (!finished) signal.addEventListener("abort", onAbort, { once: true });
  }
  return streamResponse(body, successHeaders(ctx, origin, startIndex));
}

const streams = new WeakSet<Response>();

/** A 200 whose body is a stream that may last (a watch, a chunked listing); see isStreamResponse. */
function streamResponse(body: ReadableStream<Uint8Array>, headers: Record<string, string>): Response {
  const res = new Response(body, { status: 200, headers });
  streams.add(res);
  return res;
}

/**
 * Whether `res` came from streamResponse: the runtime keeps such a connection out of its idle
 * timeout until the body has been written (a watch may wait minutes without a byte).
 */
export function isStreamResponse(res: Response): boolean {
  return streams.has(res);
}

/**
 * One event goes to every watcher that matches it (a thousand, in the fan-out benchmark): render
 * its JSON once. Each watcher still gets its own bytes, as a response body may take ownership.
 */
const watchJsonCache = new WeakMap<KvEvent, string>();
function watchEventJson(e: KvEvent): string {
  let j = watchJsonCache.get(e);
  if (j === undefined) {
    j = eventJson(e);
    watchJsonCache.set(e, j);
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// /v2/members, /v2/machines

const MEMBERS_ALLOW = "GET,POST,DELETE,PUT";
const MEMBERS_PREFIX = "/v2/members";

function memberJson(m: MemberInfo): string {
  return '{"id":' + goJsonString(m.id) + ',"name":' + goJsonString(m.name) + ',"peerURLs":' +
    stringArrayJson(m.peerURLs) + ',"clientURLs":' + stringArrayJson(m.clientURLs) + "}";
}

function stringArrayJson(a: readonly string[]): string {
  let out = "[";
  for (let i = 0; i < a.length; i++) out += (i === 0 ? "" : ",") + goJsonString(a[i]);
  return out + "]";
}

/** Member ids compare as 64-bit numbers (etcd sorts members by ID). */
function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** types.IDFromString: ParseUint(s, 16, 64), printed back as lowercase hex without padding. */
function parseMemberId(s: string): string | undefined {
  if (!/^[0-9a-fA-F]+$/.test(s)) return undefined;
  const t = s.toLowerCase().replace(/^0+/, "");
  if (t.length > 16) return undefined;
  return t === "" ? "0" : t;
}

/** /v2/members and /v2/members/...: `path` is the decoded clean path. */
export async function serveMembers(ctx: EtcdV2Context, req: Request, origin: string | null, path: string): Promise<Response> {
  const method = req.method;
  if (method !== "GET" && method !== "POST" && method !== "DELETE" && method !== "PUT") {
    return errorResponse(origin, methodNotAllowedReply(), method === "HEAD", { allow: MEMBERS_ALLOW });
  }
  const deps = ctx.deps;
  const cid = { "x-etcd-cluster-id": deps.status().clusterId };
  let sub = path.slice(MEMBERS_PREFIX.length);
  if (sub.startsWith("/")) sub = sub.slice(1);
  if (method === "GET") {
    if (sub === "") {
      const ms = [...deps.members()].sort((a, b) => compareIds(a.id, b.id));
      let body = '{"members":[';
      for (let i = 0; i < ms.length; i++) body += (i === 0 ? "" : ",") + memberJson(ms[i]);
      body += "]}\n";
      return jsonOk(origin, body, cid);
    }
    if (sub === "leader") {
      const leader = deps.status().leader;
      const m = leader === "" ? undefined : deps.members().find((x) => x.id === leader);
      if (m === undefined) return errorResponse(origin, apiErrors.duringElection(), false, cid);
      return jsonOk(origin, memberJson(m) + "\n", cid);
    }
    return errorResponse(origin, apiErrors.memberPathNotFound(), false, cid);
  }
  if (method === "POST") {
    let ct = req.headers.get("content-type") ?? "";
    const semi = ct.indexOf(";");
    if (semi >= 0) ct = ct.slice(0, semi).trim().toLowerCase();
    if (ct !== "application/json") return errorResponse(origin, apiErrors.badMembersContentType(ct), false, cid);
    // Validate as etcd does before its AddMember: JSON and URLs (400), a peer URL in use (409).
    const body = await readBody(req, ctx.requestBodyBytesMax);
    if (body === undefined) return errorResponse(origin, apiErrors.badMemberRequest("http: request body too large"), false, cid);
    if (typeof body === "string") return errorResponse(origin, apiErrors.badMemberRequest(body), false, cid);
    const parsed = parseMemberCreateRequest(body);
    if (!parsed.ok) return errorResponse(origin, apiErrors.badMemberRequest(parsed.message), false, cid);
    const inUse = new Set<string>();
    for (const m of deps.members()) for (const u of m.peerURLs) inUse.add(u);
    if (parsed.peerURLs.some((u) => inUse.has(u))) return errorResponse(origin, apiErrors.peerUrlExists(), false, cid);
    try {
      const m = await deps.addMember(parsed.peerURLs);
      const h = baseHeaders(origin);
      h["content-type"] = JSON_TYPE;
      Object.assign(h, cid);
      return new Response(memberJson(m) + "\n", { status: 201, headers: h });
    } catch (e) {
      return errorResponse(origin, memberFailureReply(e, ""), false, cid);
    }
  }
  // PUT and DELETE name a member.
  if (sub === "") return errorResponse(origin, methodNotAllowedReply(), false, cid);
  const id = parseMemberId(sub);
  if (id === undefined || !deps.members().some((m) => m.id === id)) {
    return errorResponse(origin, apiErrors.noSuchMember(id ?? sub), false, cid);
  }
  try {
    if (method === "DELETE") {
      await deps.removeMember(id);
    } else {
      let ct = req.headers.get("content-type") ?? "";
      const semi = ct.indexOf(";");
      if (semi >= 0) ct = ct.slice(0, semi).trim().toLowerCase();
      if (ct !== "application/json") return errorResponse(origin, apiErrors.badMembersContentType(ct), false, cid);
      const body = await readBody(req, ctx.requestBodyBytesMax);
      if (body === undefined) return errorResponse(origin, apiErrors.badMemberRequest("http: request body too large"), false, cid);
      if (typeof body === "string") return errorResponse(origin, apiErrors.badMemberRequest(body), false, cid);
      const parsed = parseMemberCreateRequest(body);
      if (!parsed.ok) return errorResponse(origin, apiErrors.badMemberRequest(parsed.message), false, cid);
      const inUse = new Set<string>();
      for (const m of deps.members()) if (m.id !== id) for (const u of m.peerURLs) inUse.add(u);
      if (parsed.peerURLs.some((u) => inUse.has(u))) return errorResponse(origin, apiErrors.peerUrlExists(), false, cid);
      await deps.updateMember(id, parsed.peerURLs);
    }
  } catch (e) {
    return errorResponse(origin, memberFailureReply(e, id), false, cid);
  }
  const h = baseHeaders(origin);
  Object.assign(h, cid);
  return new Response(null, { status: 204, headers: h });
}

function jsonOk(origin: string | null, body: string, extra?: Record<string, string>): Response {
  const h = baseHeaders(origin);
  h["content-type"] = JSON_TYPE;
  if (extra !== undefined) Object.assign(h, extra);
  return new Response(body, { status: 200, headers: h });
}

/** /v2/machines: every member's client URLs, sorted, joined with ", ", as plain text. */
export function serveMachines(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const method = req.method;
  const head = method === "HEAD";
  if (method !== "GET" && !head) return errorResponse(origin, methodNotAllowedReply(), false, { allow: "GET,HEAD" });
  const urls: string[] = [];
  for (const m of ctx.deps.members()) urls.push(...m.clientURLs);
  urls.sort();
  const h = baseHeaders(origin);
  h["content-type"] = TEXT_TYPE;
  return reply(200, h, urls.join(", "), head);
}

// ---------------------------------------------------------------------------------------------
// /v2/stats/*, /version, /health

function getOnly(req: Request, origin: string | null): Response | undefined {
  if (req.method === "GET") return undefined;
  return errorResponse(origin, methodNotAllowedReply(), req.method === "HEAD", { allow: "GET" });
}

/** Go's RFC3339Nano shape for the daemon's ISO times; "" is Go's zero time. */
function goTime(iso: string): string {
  if (iso === "") return "0001-01-01T00:00:00Z";
  const m = /^(.*?)(?:\.(\d*?)0*)?Z$/.exec(iso);
  if (m === null) return iso;
  return m[2] ? `${m[1]}.${m[2]}Z` : `${m[1]}Z`;
}

export function serveStatsSelf(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  const st = ctx.deps.status();
  const leaderStartMs = st.leaderStartTime === "" ? NaN : Date.parse(st.leaderStartTime);
  const uptime = Number.isNaN(leaderStartMs) ? "0s" : goDurationFromMs(ctx.deps.clock.nowMs() - leaderStartMs);
  const body = '{"name":' + goJsonString(st.name) + ',"id":' + goJsonString(st.id) + ',"state":' +
    goJsonString(st.state) + ',"startTime":' + goJsonString(goTime(st.startTime)) + ',"leaderInfo":{"leader":' +
    goJsonString(st.leader) + ',"uptime":' + goJsonString(uptime) + ',"startTime":' +
    goJsonString(goTime(st.leaderStartTime)) + '},"recvAppendRequestCnt":' + st.recvAppendRequestCnt +
    ',"sendAppendRequestCnt":' + st.sendAppendRequestCnt + "}";
  return jsonOk(origin, body);
}

/** The leader's follower stats: heartbeat round trips (ms) and message successes/failures per follower. */
export function serveStatsLeader(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  const st = ctx.deps.status();
  if (st.state !== "StateLeader") return errorResponse(origin, apiErrors.notLeader(), false);
  let followers = "";
  for (const f of ctx.deps.followerStats()) {
    const l = f.latency;
    followers += (followers === "" ? "" : ",") + goJsonString(f.id) + ':{"latency":{"current":' + goFloat(l.current) +
      ',"average":' + goFloat(l.average) + ',"standardDeviation":' + goFloat(l.standardDeviation) + ',"minimum":' +
      goFloat(l.minimum) + ',"maximum":' + goFloat(l.maximum) + '},"counts":{"fail":' + f.counts.fail + ',"success":' +
      f.counts.success + "}}";
  }
  return jsonOk(origin, '{"leader":' + goJsonString(st.id) + ',"followers":{' + followers + "}}");
}

export function serveStatsStore(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  return jsonOk(origin, ctx.stats.json(ctx.hub.count));
}

/** A float64 as Go's encoding/json writes one (shortest form; no exponent for ordinary values). */
function goFloat(n: number): string {
  return Number.isFinite(n) ? String(n) : "0";
}

/** The versions etcd 3.4.23 reports, so clients that check them accept us. */
export const VERSION_BODY = '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}';

export function serveVersion(_ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  return jsonOk(origin, VERSION_BODY);
}

/**
 * /health: healthy when there is a leader and a linearizable read completes (etcd does a QGET
 * with a 1 s timeout; our read has the node's own deadline). 200 text/plain {"health":"true"}.
 */
export async function serveHealth(ctx: EtcdV2Context, req: Request, origin: string | null): Promise<Response> {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  let ok = ctx.deps.status().leader !== "";
  if (ok) {
    try {
      await ctx.deps.linearizableRead();
    } catch (err) {
      nodeFailureReply(err); // rethrows anything that is not a NodeError
      ok = false;
    }
  }
  if (!ok) return errorResponse(origin, unhealthyReply(), false);
  const h = baseHeaders(origin);
  h["content-type"] = TEXT_TYPE;
  return new Response('{"health":"true"}', { status: 200, headers: h });
}
