// What the etcd v2 handlers share: the context built once per api (deps, watch hub, store
// counters, bounds, the cluster id) and the reply pieces more than one route writes (a keys
// error's and a keys success's headers, a JSON 200, a streamed 200, a bounded body read, the
// GET-only check). Must not route, and must not read deps.status() per reply: a write's headers
// come from deps.raftPosition(), which builds no progress map.

import type { KvResult, KvState } from "../../projections/mod.ts";
import type { EtcdV2Deps } from "./deps.ts";
import { WatchHub } from "./watch_hub.ts";
import { StoreStatsCounter } from "./store_stats.ts";
import { type ErrorReply, methodNotAllowedReply } from "../errors.ts";
import { baseHeaders, errorResponse } from "../http.ts";

/** The v2 routes' bounds (ApiOptions may override them; tests use small ones). */
export interface EtcdV2Bounds {
  readonly watcherEventsBufferMax: number;
  readonly requestBodyBytesMax: number;
  readonly keyBytesMax: number;
}

/** What the v2 handlers share for the life of the api. */
export interface EtcdV2Context {
  readonly deps: EtcdV2Deps;
  /** X-Etcd-Cluster-Id: fixed for the member's life (node/ decides it before the api exists), read once. */
  readonly clusterId: string;
  readonly hub: WatchHub;
  readonly stats: StoreStatsCounter;
  readonly watcherEventsBufferMax: number;
  readonly requestBodyBytesMax: number;
  readonly keyBytesMax: number;
}

/** The context, subscribed to the kv projection: applied results feed the watch hub and the expiry count. */
export function createEtcdV2Context(deps: EtcdV2Deps, bounds: EtcdV2Bounds): EtcdV2Context {
  const hub = new WatchHub();
  const stats = new StoreStatsCounter();
  deps.subscribe("kv", {
    onResult(result: KvResult): void {
      if (result.type === "expire") stats.recordExpired(result.events.length);
      hub.onKvResult(result);
    },
    onRestore(state: KvState): void {
      hub.onKvRestore(state);
    },
  });
  return {
    deps,
    clusterId: deps.status().clusterId,
    hub,
    stats,
    watcherEventsBufferMax: bounds.watcherEventsBufferMax,
    requestBodyBytesMax: bounds.requestBodyBytesMax,
    keyBytesMax: bounds.keyBytesMax,
  };
}

export const JSON_TYPE = "application/json";
export const TEXT_TYPE = "text/plain; charset=utf-8";
export const FORM_TYPE = "application/x-www-form-urlencoded";

/** A keys error: its X-Etcd-Index and the cluster id, no X-Raft-* (as etcd). */
export function keysError(ctx: EtcdV2Context, origin: string | null, e: ErrorReply, head: boolean): Response {
  return errorResponse(origin, e, head, { "x-etcd-cluster-id": ctx.clusterId, "x-etcd-index": String(e.etcdIndex) });
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
export async function readBody(req: Request, max: number): Promise<Uint8Array | string | undefined> {
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

/** A keys success's headers: X-Raft-* from raftPosition(), read once per reply. */
export function successHeaders(ctx: EtcdV2Context, origin: string | null, etcdIndex: number): Record<string, string> {
  const pos = ctx.deps.raftPosition();
  const h = baseHeaders(origin);
  h["content-type"] = JSON_TYPE;
  h["x-etcd-cluster-id"] = ctx.clusterId;
  h["x-etcd-index"] = String(etcdIndex);
  h["x-raft-index"] = String(pos.commitIndex);
  h["x-raft-term"] = String(pos.term);
  return h;
}

export function jsonOk(origin: string | null, body: string, extra?: Record<string, string>): Response {
  const h = baseHeaders(origin);
  h["content-type"] = JSON_TYPE;
  if (extra !== undefined) Object.assign(h, extra);
  return new Response(body, { status: 200, headers: h });
}

export function getOnly(req: Request, origin: string | null): Response | undefined {
  if (req.method === "GET") return undefined;
  return errorResponse(origin, methodNotAllowedReply(), req.method === "HEAD", { allow: "GET" });
}
