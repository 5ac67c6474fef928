// The HTTP+JSON surface as one pure fetch function, composed of protocols (etcd_v2/, cluster/),
// each over the narrow deps it declares. In front of every route it does what etcd's outer layers
// do: Go's request-path checks (bad escape -> 400, non-canonical path -> 301), etcd's CORS handler
// (headers on every response, OPTIONS -> 200). Then a protocol's raw fast path (/v2/keys) or the
// hono app that mounts every protocol's routes. Must not open sockets, do I/O, or read a clock;
// must not know a protocol's routes (each declares its own).

import { Hono } from "hono";
import { limits as defaultLimits } from "../internal/mod.ts";
import { type ClusterDeps, clusterProtocol } from "./cluster/mod.ts";
import { type EtcdV2Deps, etcdV2Protocol } from "./etcd_v2/mod.ts";
import { baseHeaders, corsOriginFor, corsPolicy, errorResponse, isStreamResponse } from "./http.ts";
import { badRequestPathReply, notFoundReply } from "./errors.ts";
import { cleanPath, decodePath, escapePath, mayNeedCleaning, redirectBody } from "./path_clean.ts";
import type { FastPath, Protocol, RouteEnv } from "./protocol.ts";

/** What each protocol needs from the daemon, by protocol: node/ passes its Node for each. */
export interface ProtocolDeps {
  readonly etcdV2: EtcdV2Deps;
  readonly cluster: ClusterDeps;
}

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
  /** True for a response whose body is a stream that may last (watches, chunked listings). */
  isStream(res: Response): boolean;
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

export function createApi(deps: ProtocolDeps, opts: ApiOptions = {}): Api {
  const protocols: Protocol[] = [
    etcdV2Protocol(deps.etcdV2, {
      watcherEventsBufferMax: opts.watcherEventsBufferMax ?? defaultLimits.watcherEventsBufferMax,
      requestBodyBytesMax: opts.requestBodyBytesMax ?? defaultLimits.requestBodyBytesMax,
      keyBytesMax: opts.keyBytesMax ?? defaultLimits.keyBytesMax,
    }),
    clusterProtocol(deps.cluster),
  ];
  const cors = corsPolicy(opts.corsOrigins);
  const fastPaths: FastPath[] = [];
  const app = new Hono<{ Bindings: RouteEnv }>({ strict: true });
  for (const p of protocols) {
    if (p.fastPath !== undefined) fastPaths.push(p.fastPath);
    app.route("/", p.routes);
  }
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

    for (let i = 0; i < fastPaths.length; i++) {
      const f = fastPaths[i];
      const n = f.prefix.length;
      if (path.startsWith(f.prefix) && (path.length === n || path.charCodeAt(n) === 0x2f)) {
        return f.serve(req, origin, path.slice(n), rawQuery);
      }
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

  return { fetch, isStream: isStreamResponse };
}
