// The Deno runtime: node:sqlite (built in; better-sqlite3 does not load on Deno) and Deno's hyper
// HTTP engine (Deno.serve's, the fastest HTTP server Deno has) behind an accept loop of our own,
// which enforces the client port's connection guard (runtime.ts ConnectionGuard). Must not hold
// logic that Node needs too.

import { DatabaseSync } from "node:sqlite";
import type { SqliteDb } from "./sqlite.ts";
import type { HttpServer, Runtime, ServeOptions } from "./runtime.ts";
import { limits } from "../internal/mod.ts";

declare const Deno: {
  version: { deno: string };
  internal: symbol;
  serve(
    opts: { hostname: string; port: number; onListen?: (a: { hostname: string; port: number }) => void; signal?: AbortSignal },
    handler: (req: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number; hostname: string } };
  listen(opts: { hostname: string; port: number }): DenoListener;
  unrefTimer(id: number): void;
  errors: { BadResource: new () => Error };
};

interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

interface DenoListener {
  readonly addr: { hostname: string; port: number };
  accept(): Promise<DenoConn>;
  close(): void;
}

type Handler = (req: Request) => Response | Promise<Response>;

/**
 * Deno's own HTTP engine (hyper, the one behind Deno.serve) serving one accepted connection. It
 * is not public API, but it is what Deno.serve itself uses per listener, at the same speed; it
 * lets this file own the accept loop (accept errors, a connection count) and close a connection
 * on its own timers (Deno.serve has no idle or header timeout). Checked on Deno 2.9.
 */
type ServeOnConnection = (
  conn: DenoConn,
  signal: AbortSignal,
  handler: Handler,
  onError: (e: unknown) => Response | Promise<Response>,
  onListen: (scheme: string) => void,
) => { finished: Promise<void> };

function serveOnConnection(): ServeOnConnection | undefined {
  const internals = (Deno as unknown as Record<symbol, Record<string, unknown> | undefined>)[Deno.internal];
  const f = internals?.serveHttpOnConnection;
  return typeof f === "function" ? (f as ServeOnConnection) : undefined;
}

function openSqlite(path: string, opts?: { readOnly?: boolean }): SqliteDb {
  return new DatabaseSync(path, { readOnly: opts?.readOnly === true }) as unknown as SqliteDb;
}

/**
 * Deno.serve adds Content-Length: 0 to a response without a body; Go sends none on a HEAD reply
 * whose handler wrote nothing (e.g. a 301). An empty stream body makes Deno send no framing
 * header at all, which for HEAD is exactly that.
 */
function headWithoutLength(res: Response): Response {
  if (res.body !== null || res.headers.has("content-length")) return res;
  const empty = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  return new Response(empty, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** Applies the runtime's framing rules (runtime.ts) to the app's handler. */
function framed(fetch: ServeOptions["fetch"]): Handler {
  // Deno's req.url keeps the raw "." and ".." segments, so no raw target is needed. It always
  // writes Date and frames every non-HEAD body, so a Connection: close reply keeps both.
  return (req: Request): Response | Promise<Response> => {
    if (req.method !== "HEAD") return fetch(req);
    const res = fetch(req);
    return res instanceof Promise ? res.then(headWithoutLength) : headWithoutLength(res);
  };
}

/** A thrown handler error is a bug: one log line, and a bare 500 (Deno.serve's own default). */
function onHandlerError(opts: ServeOptions): (e: unknown) => Response {
  return (e) => {
    opts.log?.("warn", "client request handler failed", { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    return new Response("Internal Server Error", { status: 500 });
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function acceptFailed(opts: ServeOptions, e: unknown, backoffMs: number, lastLogMs: number): number {
  // One line per second at most: under EMFILE every attempt fails.
  const now = Date.now();
  if (now - lastLogMs >= 1000) {
    opts.log?.("warn", "client accept failed; backing off", { error: e instanceof Error ? e.message : String(e), backoffMs });
    return now;
  }
  return lastLogMs;
}

/**
 * Without a guard, or where Deno lacks the per-connection engine: Deno.serve, restarted on the
 * same port when its accept loop dies (EMFILE ends it: its `finished` rejects and the listener
 * is closed). No timeouts and no cap there.
 */
async function serveUnguarded(opts: ServeOptions): Promise<HttpServer> {
  const handler = framed(opts.fetch);
  const onError = onHandlerError(opts);
  let closed = false;
  let server!: ReturnType<typeof Deno.serve>;
  let backoff = 0;
  let lastLog = 0;
  const start = async (port: number): Promise<{ hostname: string; port: number }> => {
    let listening!: (a: { hostname: string; port: number }) => void;
    const ready = new Promise<{ hostname: string; port: number }>((r) => (listening = r));
    server = Deno.serve({ hostname: opts.hostname, port, onListen: (a: { hostname: string; port: number }) => listening(a), onError } as never, handler);
    server.finished.catch(async (e: unknown) => {
      while (!closed) {
        backoff = Math.min(Math.max(backoff * 2, limits.clientAcceptBackoffMinMs), limits.clientAcceptBackoffMaxMs);
        lastLog = acceptFailed(opts, e, backoff, lastLog);
        await sleep(backoff);
        if (closed) return;
        try {
          await start(port);
          return;
        } catch (again) {
          e = again;
        }
      }
    });
    const a = await ready;
    backoff = 0;
    return a;
  };
  const addr = await start(opts.port);
  return {
    port: addr.port,
    hostname: addr.hostname,
    close: async () => {
      closed = true;
      await server.shutdown().catch(() => {});
    },
  };
}

/**
 * The same response, with a body that calls `done` once, when the runtime has read its end (or
 * cancelled it, or it failed): a watch holds its connection busy exactly that long.
 */
function endTracked(res: Response, done: () => void): Response {
  const reader = res.body!.getReader();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    done();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        end();
        c.error(e);
        return;
      }
      if (r.done) {
        end();
        c.close();
      } else c.enqueue(r.value);
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** A request's body deadline: from `since`; `expire` fails its reads with Go's "i/o timeout". */
interface BodyDeadline {
  readonly since: number;
  readonly expired: Promise<never>;
  expire(): void;
  /** The body stream handed out, wrapped to race the deadline (made once, when first asked for). */
  wrapped?: ReadableStream<Uint8Array> | null;
}

const bodyDeadlines = new WeakMap<Request, BodyDeadline>();
let bodyReadsPatched = false;

/**
 * Makes the body reads of requests that have a BodyDeadline race it: `arrayBuffer()` (how api/
 * reads every body with a Content-Length) and `body` (chunked ones), the only ways api/ reads
 * one. The engine cannot be told to drop a connection whose body stalls (aborting the
 * per-connection signal waits for the request in flight, which waits for its body), so the
 * deadline goes into the reads. Patched once on Request.prototype and looked up in a WeakMap:
 * shadowing the two on each request instance, or building a new Request (which would also
 * re-parse the URL and lose the raw "." and ".." segments app.ts needs), cost a fifth of the PUT
 * throughput (wrk, 32 connections: 10.3k against 12.9k/s); this costs one promise per PUT.
 */
function patchBodyReads(): void {
  if (bodyReadsPatched) return;
  bodyReadsPatched = true;
  const proto = Request.prototype;
  const readAll = proto.arrayBuffer;
  proto.arrayBuffer = function (this: Request): Promise<ArrayBuffer> {
    const d = bodyDeadlines.get(this);
    const p = readAll.call(this);
    return d === undefined ? p : Promise.race([p, d.expired]);
  };
  const bodyOf = Object.getOwnPropertyDescriptor(proto, "body")!.get!;
  Object.defineProperty(proto, "body", {
    configurable: true,
    enumerable: true,
    get(this: Request): ReadableStream<Uint8Array> | null {
      const d = bodyDeadlines.get(this);
      if (d === undefined) return bodyOf.call(this);
      if (d.wrapped !== undefined) return d.wrapped;
      const original = bodyOf.call(this) as ReadableStream<Uint8Array> | null;
      if (original === null) return (d.wrapped = null);
      const reader = original.getReader();
      d.expired.catch((e) => reader.cancel(e).catch(() => {}));
      return (d.wrapped = new ReadableStream<Uint8Array>({
        async pull(c) {
          try {
            const r = await Promise.race([reader.read(), d.expired]);
            if (r.done) c.close();
            else c.enqueue(r.value);
          } catch (e) {
            c.error(e);
          }
        },
        cancel: (reason) => reader.cancel(reason),
      }, { highWaterMark: 0 }));
    },
  });
}

function newBodyDeadline(now: number): BodyDeadline {
  let expire!: () => void;
  const expired = new Promise<never>((_, reject) => (expire = () => reject(new Error("i/o timeout"))));
  expired.catch(() => {}); // observed by whichever read races it, if any
  return { since: now, expired, expire };
}

/** One accepted client connection, as the guard sees it. */
interface Tracked {
  readonly abort: AbortController;
  /** Requests in its handler plus response bodies still streaming. */
  busy: number;
  /** A request has been dispatched on it (else the header timeout applies, not the idle one). */
  served: boolean;
  /** When it last became idle (or was accepted), in ms since the epoch. */
  since: number;
  /** The body deadline of the request in its handler, if that request has a body. */
  body: BodyDeadline | undefined;
  /** That body missed its deadline: its answer closes the connection. */
  late: boolean;
}

const REFUSAL = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n",
);

/**
 * Answers a connection over the cap with a 503 and closes it. It reads what the client sent for
 * a moment first: closing a socket with unread bytes makes the kernel send a reset, which can
 * destroy the 503 before the client reads it.
 */
async function refuse(conn: DenoConn, linger: boolean): Promise<void> {
  let timer: number | undefined;
  try {
    await conn.write(REFUSAL);
    if (linger) {
      await conn.closeWrite();
      timer = setTimeout(() => {
        try {
          conn.close();
        } catch { /* closed */ }
      }, limits.clientRefusalLingerMs) as unknown as number;
      const buf = new Uint8Array(4096);
      while ((await conn.read(buf)) !== null) { /* discard */ }
    }
  } catch { /* the client went away, or the linger timer closed it */ }
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* closed by the timer */ }
}

async function serve(opts: ServeOptions): Promise<HttpServer> {
  const guard = opts.guard;
  const onConnection = serveOnConnection();
  if (guard === undefined) return serveUnguarded(opts);
  if (onConnection === undefined) {
    opts.log?.("warn", "this Deno has no per-connection HTTP engine: client idle/header timeouts and the connection cap are off", {});
    return serveUnguarded(opts);
  }
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port });
  const handler = framed(opts.fetch);
  const onError = onHandlerError(opts);
  const isStream = opts.isStream;
  const conns = new Set<Tracked>();
  const finished = new Set<Promise<void>>();
  let closed = false;
  let refusing = 0;
  const sweepMs = Math.max(10, Math.min(1000, Math.floor(Math.min(guard.headerTimeoutMs, guard.idleTimeoutMs, guard.bodyTimeoutMs) / 4)));
  patchBodyReads();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of conns) {
      if (c.busy > 0) {
        if (c.body !== undefined && now - c.body.since >= guard.bodyTimeoutMs) {
          c.body.expire();
          c.body = undefined;
          c.late = true;
        }
        continue;
      }
      if (now - c.since >= (c.served ? guard.idleTimeoutMs : guard.headerTimeoutMs)) c.abort.abort();
    }
  }, sweepMs) as unknown as number;
  Deno.unrefTimer(sweep);

  const track = (conn: DenoConn): void => {
    const c: Tracked = { abort: new AbortController(), busy: 0, served: false, since: Date.now(), body: undefined, late: false };
    const release = () => {
      c.since = Date.now();
      // Aborting an idle connection closes it; a busy one would lose its response.
      if (--c.busy === 0 && closed) c.abort.abort();
    };
    const ended = (res: Response): Response => {
      if (isStream !== undefined && isStream(res)) return endTracked(res, release);
      release();
      return res;
    };
    const failed = (e: unknown): never => {
      release();
      throw e;
    };
    const perConn: Handler = (req) => {
      c.busy++;
      c.served = true;
      if (req.method !== "GET" && req.method !== "HEAD") {
        c.body = newBodyDeadline(Date.now());
        bodyDeadlines.set(req, c.body);
      }
      let res: Response | Promise<Response>;
      try {
        res = handler(req);
      } catch (e) {
        c.body = undefined;
        return failed(e);
      }
      // A body that missed its deadline: its answer says Connection: close, and the connection is
      // ended a moment after the answer was handed over (the engine would go on waiting for the
      // rest of that body; aborted at once, the answer would be lost).
      const close = (r: Response): Response => {
        c.body = undefined;
        if (c.late) {
          c.late = false;
          r.headers.set("connection", "close");
          setTimeout(() => c.abort.abort(), limits.clientLateBodyCloseMs);
        }
        return ended(r);
      };
      return res instanceof Promise ? res.then(close, (e) => ((c.body = undefined), failed(e))) : close(res);
    };
    conns.add(c);
    let done: Promise<void>;
    try {
      done = onConnection(conn, c.abort.signal, perConn, onError, () => {}).finished;
    } catch {
      conns.delete(c);
      conn.close();
      return;
    }
    // A connection's end (reset, a malformed request hyper refused, our abort) is not the member's business.
    const settled: Promise<void> = done.catch(() => {}).then(() => {
      conns.delete(c);
      finished.delete(settled);
    });
    finished.add(settled);
  };

  const acceptLoop = async () => {
    let backoff = 0;
    let lastLog = 0;
    while (!closed) {
      let conn: DenoConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closed || e instanceof Deno.errors.BadResource) return;
        // EMFILE, ENFILE, ENOBUFS...: the listener survives; wait as Go's http.Server does.
        backoff = Math.min(Math.max(backoff * 2, limits.clientAcceptBackoffMinMs), limits.clientAcceptBackoffMaxMs);
        lastLog = acceptFailed(opts, e, backoff, lastLog);
        await sleep(backoff);
        continue;
      }
      backoff = 0;
      if (conns.size >= guard.connectionsMax) {
        const linger = refusing < limits.clientRefusalsLingeringMax;
        refusing++;
        void refuse(conn, linger).finally(() => refusing--);
        continue;
      }
      track(conn);
    }
  };
  void acceptLoop();

  return {
    port: listener.addr.port,
    hostname: listener.addr.hostname,
    close: async () => {
      closed = true;
      clearInterval(sweep);
      try {
        listener.close();
      } catch { /* closed */ }
      // Idle connections close now; busy ones when their last response ends (release()).
      for (const c of conns) if (c.busy === 0) c.abort.abort();
      await Promise.all([...finished]);
    },
  };
}

export const runtime: Runtime = { name: "deno", version: Deno.version.deno, openSqlite, serve };
