// The HTTP+JSON surface as one pure fetch function over ApiDeps. In front of every route it does
// what etcd's outer layers do: Go's request-path checks (bad escape -> 400, non-canonical path ->
// 301), etcd's CORS handler (headers on every response, OPTIONS -> 200). /v2/keys is served by a
// hand-written fast path (URL parsed once, no hono body parsing); every other route goes through
// a hono app. Must not open sockets, do I/O, or read a clock other than deps.clock.

import { Hono } from "hono";
import type { ApiDeps } from "./deps.ts";
import type { KvResult, KvState } from "../projections/mod.ts";
import { limits as defaultLimits } from "../internal/limits.ts";
import { WatchHub } from "./watch_hub.ts";
import { StoreStatsCounter } from "./stats.ts";
import {
  type EtcdV2Context,
  isStreamResponse,
  serveHealth,
  serveKeys,
  serveMachines,
  serveMembers,
  serveStatsLeader,
  serveStatsSelf,
  serveStatsStore,
  serveVersion,
} from "./etcd_v2.ts";
import { serveClusterStatus } from "./cluster.ts";
import { baseHeaders, corsOriginFor, corsPolicy, errorResponse } from "./http.ts";
import { badRequestPathReply, notFoundReply } from "./errors.ts";
import { cleanPath, decodePath, escapePath, mayNeedCleaning, redirectBody } from "./path_clean.ts";

export interface ApiOptions {
  /** etcd's --cors list; default ["*"]. */
  readonly corsOrigins?: readonly string[];
  /** Overrides of the api's bounds (tests use small ones). */
  readonly watcherEventsBufferMax?: number;
  readonly requestBodyBytesMax?: number;
  readonly keyBytesMax?: number;
}

export interface Api {
  /**
   * Serves one request. `rawTarget` is the request target as received (origin-form path and
   * query, e.g. node:http's IncomingMessage.url), when the runtime has it: it is preferred to
   * req.url, whose WHATWG parse resolves "." and ".." segments that Go would redirect.
   */
  fetch(req: Request, rawTarget?: string): Response | Promise<Response>;
  /** The watch hub (the daemon does not need it; tests and /v2/stats/store read its count). */
  readonly hub: WatchHub;
  readonly stats: StoreStatsCounter;
  /** True for a response whose body is a stream that may last (watches, chunked listings). */
  isStream(res: Response): boolean;
}

/** What hono handlers get besides the request: computed once in fetch(). */
interface Env {
  origin: string | null;
  path: string;
}

const CONNECTION_CLOSE: Readonly<Record<string, string>> = { connection: "close" };
const NON_ASCII = /[^\x00-\x7f]/;
const HEX = "0123456789ABCDEF";

/**
 * A raw request target with its non-ASCII characters percent-encoded as the bytes they stand
 * for (a raw target carries bytes as latin1 characters, one per byte; node:http's strict parser
 * refuses them today). Go's Path and query hold those bytes, which is what %XX decodes to.
 */
function percentEncodeBytes(target: string): string {
  let out = "";
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x80) out += target[i];
    else {
      const b = c & 0xff;
      out += "%" + HEX[b >> 4] + HEX[b & 15];
    }
  }
  return out;
}

export function createApi(deps: ApiDeps, opts: ApiOptions = {}): Api {
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
  const ctx: EtcdV2Context = {
    deps,
    hub,
    stats,
    watcherEventsBufferMax: opts.watcherEventsBufferMax ?? defaultLimits.watcherEventsBufferMax,
    requestBodyBytesMax: opts.requestBodyBytesMax ?? defaultLimits.requestBodyBytesMax,
    keyBytesMax: opts.keyBytesMax ?? defaultLimits.keyBytesMax,
  };
  const cors = corsPolicy(opts.corsOrigins);

  const app = new Hono<{ Bindings: Env }>({ strict: true });
  const members = (c: { req: { raw: Request }; env: Env }) => serveMembers(ctx, c.req.raw, c.env.origin, c.env.path);
  app.all("/v2/members", members);
  app.all("/v2/members/*", members);
  app.all("/v2/machines", (c) => serveMachines(ctx, c.req.raw, c.env.origin));
  app.all("/v2/stats/self", (c) => serveStatsSelf(ctx, c.req.raw, c.env.origin));
  app.all("/v2/stats/leader", (c) => serveStatsLeader(ctx, c.req.raw, c.env.origin));
  app.all("/v2/stats/store", (c) => serveStatsStore(ctx, c.req.raw, c.env.origin));
  app.all("/version", (c) => serveVersion(ctx, c.req.raw, c.env.origin));
  app.all("/health", (c) => serveHealth(ctx, c.req.raw, c.env.origin));
  app.all("/v1/cluster/status", (c) => serveClusterStatus(deps, c.req.raw, c.env.origin));
  app.notFound((c) => errorResponse(c.env.origin, notFoundReply(), c.req.method === "HEAD"));
  // A thrown error is a bug (operating errors are replies): let it reach the runtime, never a 500 body.
  app.onError((err) => {
    throw err;
  });

  function fetch(req: Request, rawTarget?: string): Response | Promise<Response> {
    let rawPath: string;
    let rawQuery: string;
    if (rawTarget !== undefined && rawTarget.charCodeAt(0) === 0x2f) {
      // Go's ParseRequestURI: no fragment in a request target; "?" starts the query.
      if (NON_ASCII.test(rawTarget)) rawTarget = percentEncodeBytes(rawTarget);
      const q = rawTarget.indexOf("?");
      rawPath = q < 0 ? rawTarget : rawTarget.slice(0, q);
      rawQuery = q < 0 ? "" : rawTarget.slice(q + 1);
    } else {
      const url = req.url;
      // "scheme://host/path?query#fragment": the path starts at the first "/" after "//".
      let p = url.indexOf("/", url.indexOf("//") + 2);
      if (p < 0) p = url.length;
      let q = url.indexOf("?", p);
      let hash = url.indexOf("#", p);
      if (hash < 0) hash = url.length;
      if (q < 0 || q > hash) q = hash;
      rawPath = p < q ? url.slice(p, q) : "/";
      rawQuery = q < hash && url.charCodeAt(q) === 0x3f ? url.slice(q + 1, hash) : "";
    }

    let path = rawPath;
    let decoded = false;
    if (mayNeedCleaning(rawPath)) {
      const d = decodePath(rawPath);
      // Go's server answers before any handler, and closes the connection (no CORS, no Date:
      // the runtime writes a response with Connection: close that way where it can).
      if (d === undefined) return errorResponse(null, badRequestPathReply(), false, CONNECTION_CLOSE);
      path = d;
      decoded = d !== rawPath;
    }
    const origin = corsOriginFor(cors, req);
    const method = req.method;
    if (method === "OPTIONS") {
      // Go sends an empty reply with Content-Length: 0 (a runtime left alone may chunk it).
      const h = baseHeaders(origin);
      h["content-length"] = "0";
      return new Response(null, { status: 200, headers: h });
    }
    if (decoded || rawPath.indexOf("//") >= 0 || rawPath.indexOf("/.") >= 0) {
      const clean = cleanPath(path);
      if (clean !== path) {
        const location = escapePath(clean) + (rawQuery === "" ? "" : "?" + rawQuery);
        const h = baseHeaders(origin);
        h["location"] = location;
        if (method === "GET" || method === "HEAD") h["content-type"] = "text/html; charset=utf-8";
        // Go's reply to HEAD has no Content-Length (nothing written); other methods get 0.
        else h["content-length"] = "0";
        return new Response(method === "GET" ? redirectBody(location) : null, { status: 301, headers: h });
      }
    }

    if (path.startsWith("/v2/keys") && (path.length === 8 || path.charCodeAt(8) === 0x2f)) {
      return serveKeys(ctx, req, origin, path.slice(8), rawQuery);
    }
    // Hono routes on its own parse of the URL; hand it the canonical escaping of the decoded
    // path so "%2F" and friends route as Go's ServeMux would.
    let routed = req;
    if (decoded) {
      const url = req.url;
      const p = url.indexOf("/", url.indexOf("//") + 2);
      routed = new Request(url.slice(0, p < 0 ? url.length : p) + escapePath(path) + (rawQuery === "" ? "" : "?" + rawQuery), req);
    }
    return app.fetch(routed, { origin, path });
  }

  return { fetch, hub, stats, isStream: isStreamResponse };
}
