// etcd 3.4's /v2/keys: parse and validate as v2http's parseKeyRequest does, in its order; turn
// the request into a kv command or a read; answer with etcd's exact bytes and headers. This is
// the raw fast path (routes.ts says why it bypasses hono, with the measured figure).
// Must not do I/O or read a clock other than deps.clock; must not route (routes.ts does).

import type { KvCommand, KvResult, KvState } from "../../projections/mod.ts";
import { Ecode } from "../../projections/mod.ts";
import { limits } from "../../internal/mod.ts";
import { SharedListings } from "./shared_listings.ts";
import { parseGoBool, parseGoForm, parseGoUint, queryBytes } from "../form.ts";
import { goParseMediaType } from "../mime.ts";
import { eventJson, kvListingJson, utf8ByteLength } from "./json.ts";
import {
  bodyTooLargeReply,
  kvErrorReply,
  methodNotAllowedReply,
  nodeFailureReply,
  requestErrorReply,
  valueTooLargeReply,
} from "../errors.ts";
import { errorResponse, reply, streamResponse } from "../http.ts";
import { type StoreOp, storeOpOf } from "./store_stats.ts";
import { type EtcdV2Context, FORM_TYPE, keysError, readBody, successHeaders } from "./context.ts";
import { serveWatch } from "./watch.ts";

const KEYS_ALLOW = "HEAD,GET,PUT,POST,DELETE";

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
