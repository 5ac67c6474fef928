// The Node runtime: better-sqlite3 (Node 20 has no node:sqlite) and @hono/node-server.
// Must not hold logic that Deno needs too.

import { createRequire } from "node:module";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createAdaptorServer, type Http2Bindings, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { SqliteDb } from "./sqlite.ts";
import type { HttpServer, Runtime, ServeOptions } from "./runtime.ts";
import { limits } from "../internal/mod.ts";

const require = createRequire(import.meta.url);

function openSqlite(path: string, opts?: { readOnly?: boolean }): SqliteDb {
  const Database = require("better-sqlite3");
  const ro = opts?.readOnly === true;
  return new Database(path, ro ? { readonly: true, fileMustExist: true } : {}) as SqliteDb;
}

/**
 * Go's server writes its own errors (a bad request target) with Connection: close, no Date and
 * no Content-Length. @hono/node-server would add a Content-Length, so such a response is written
 * here and node-server is told it was sent.
 */
async function writeCloseDelimited(res: Response, outgoing: ServerResponse): Promise<Response> {
  const body = new Uint8Array(await res.arrayBuffer());
  outgoing.sendDate = false;
  outgoing.statusCode = res.status;
  res.headers.forEach((v, k) => outgoing.setHeader(k, v));
  // With both framing headers removed, node ends the body by closing the connection.
  outgoing.removeHeader("content-length");
  outgoing.removeHeader("transfer-encoding");
  outgoing.end(body);
  return RESPONSE_ALREADY_SENT;
}

/** Go's own reply to a request it cannot parse (etcd sends these bytes). */
function goBareReply(status: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`;
}

const REFUSAL =
  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";

/**
 * The cause Go's body reader gives for what llhttp refused inside a body: etcd answers it as a
 * 210 "Invalid POST form" with that cause (or {"message": cause} on /v2/members).
 */
function bodyErrorCause(code: string | undefined): string {
  return code === "HPE_INVALID_CHUNK_SIZE" || code === "HPE_CHUNK_EXTENSIONS_OVERFLOW" ? "invalid byte in chunk length" : "unexpected EOF";
}

/**
 * A chunked request's body read from node's request stream directly. node-server reads it
 * through Readable.toWeb, which turns a request stream that already failed (a bad chunk size
 * seen with the head, a client gone mid-body) into an empty body: a PUT would store "". Here a
 * body that did not end properly fails with the stream's error, or Go's "unexpected EOF".
 * (Requests with a Content-Length go through node-server's own reader, which fails them right.)
 */
function withChunkedBody(req: Request, incoming: IncomingMessage): Request {
  const eof = () => new Error("unexpected EOF");
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      if (incoming.errored) return c.error(incoming.errored);
      if (incoming.readableEnded) return c.close();
      if (incoming.destroyed) return c.error(eof());
      let done = false;
      const fail = (e: Error) => {
        if (done) return;
        done = true;
        c.error(e);
      };
      incoming.on("data", (d: Buffer) => {
        if (done) return;
        c.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        if ((c.desiredSize ?? 1) <= 0) incoming.pause();
      });
      incoming.on("end", () => {
        if (done) return;
        done = true;
        c.close();
      });
      incoming.on("error", fail);
      incoming.on("close", () => {
        if (!incoming.readableEnded) fail(incoming.errored ?? eof());
      });
    },
    pull() {
      incoming.resume();
    },
    cancel() {
      incoming.resume(); // drain: node then reads the next request, or closes
    },
  }, { highWaterMark: 1 });
  return new Request(req.url, { method: req.method, headers: req.headers, body, duplex: "half" } as RequestInit);
}

interface InFlight {
  readonly headersSent: boolean;
  shouldKeepAlive: boolean;
  readonly req?: { readonly complete: boolean; socket: Socket | null; on(event: "error", f: () => void): void; destroy(e: Error): void };
}

/** Answers a connection over the cap with a 503; reads what it sent for a moment so the close is not a reset. */
function refuse(socket: Socket, linger: boolean): void {
  socket.on("error", () => {});
  if (!linger) {
    socket.end(REFUSAL);
    socket.destroySoon();
    return;
  }
  const t = setTimeout(() => socket.destroy(), limits.clientRefusalLingerMs);
  socket.once("close", () => clearTimeout(t));
  socket.resume();
  socket.end(REFUSAL);
}

function serve(opts: ServeOptions): Promise<HttpServer> {
  const handler = opts.fetch;
  // The raw target keeps "." and ".." segments, which node-server's WHATWG URL resolves away.
  const fetch = (req: Request, env: HttpBindings | Http2Bindings): Response | Promise<Response> => {
    const incoming = env.incoming as IncomingMessage;
    // (GET and HEAD requests carry no body a Request can hold: node-server drops theirs too.)
    if (incoming.headers["transfer-encoding"] !== undefined && req.method !== "GET" && req.method !== "HEAD") req = withChunkedBody(req, incoming);
    const res = handler(req, incoming.url);
    // Only synchronous replies can be the server-level error (app.ts answers it before routing).
    if (!(res instanceof Promise) && res.status === 400 && res.headers.get("connection") === "close") {
      return writeCloseDelimited(res, env.outgoing as ServerResponse);
    }
    return res;
  };
  const guard = opts.guard;
  const serverOptions: Record<string, unknown> = {};
  if (guard !== undefined) {
    // Node checks the header (and whole-request) deadlines on this period; its 30 s default would
    // let a slowloris connection live up to 30 s past its header timeout.
    serverOptions.connectionsCheckingInterval = Math.max(10, Math.min(1000, Math.floor(guard.headerTimeoutMs / 4)));
  }
  const server = createAdaptorServer({ fetch, hostname: opts.hostname, serverOptions: serverOptions as never }) as Server;
  if (guard !== undefined) {
    // keepAliveTimeout runs only between requests: a long-poll or streaming watch is never cut.
    server.keepAliveTimeout = guard.idleTimeoutMs;
    server.headersTimeout = guard.headerTimeoutMs;
    // Node's whole-request deadline (head and body received; 300 s by default): a body that stalls
    // gets 408 and the connection closes. Never below the header deadline.
    server.requestTimeout = Math.max(guard.bodyTimeoutMs, guard.headerTimeoutMs);
    server.timeout = 0;
    // The cap: node's maxConnections drops sockets without a word, so count them here, in front
    // of node's own connection listener, and answer the one too many.
    const httpListeners = server.listeners("connection") as ((s: Socket) => void)[];
    server.removeAllListeners("connection");
    let open = 0;
    let refusing = 0;
    server.on("connection", (socket: Socket) => {
      if (open >= guard.connectionsMax) {
        const linger = refusing < limits.clientRefusalsLingeringMax;
        refusing++;
        socket.once("close", () => refusing--);
        refuse(socket, linger);
        return;
      }
      open++;
      socket.once("close", () => open--);
      for (const l of httpListeners) l.call(server, socket);
    });
  }
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    const res = (socket as unknown as { _httpMessage?: InFlight })._httpMessage;
    if (res !== undefined && res !== null && !res.headersSent && res.req !== undefined && !res.req.complete) {
      // A malformed or cut body of a request the app is handling: its body read fails with Go's
      // cause and the app answers 400 in etcd's format; the connection closes after that answer.
      // The request stream fails (now, or for a reader that comes later) with that cause. An
      // incomplete request destroys its socket when destroyed, and the answer with it: it is
      // detached from the socket for that one call.
      res.shouldKeepAlive = false;
      const req = res.req;
      req.on("error", () => {});
      const sock = req.socket;
      req.socket = null;
      try {
        req.destroy(Object.assign(new Error(bodyErrorCause(err.code)), { code: err.code }));
      } finally {
        req.socket = sock;
      }
      return;
    }
    if (!socket.writable || (res !== undefined && res !== null && res.headersSent) || err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // Go closes a connection whose head did not arrive in time without a word.
      socket.destroy();
      return;
    }
    const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
    socket.end(goBareReply(status));
    socket.destroySoon();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.hostname, () => {
      server.off("error", reject);
      // Accept errors (EMFILE, ENFILE...) come here; libuv keeps the listener and retries, so
      // they only need saying, once a second at most. Without a listener they end the process.
      let lastLog = 0;
      server.on("error", (e: Error) => {
        const now = Date.now();
        if (now - lastLog < 1000) return;
        lastLog = now;
        opts.log?.("warn", "client accept failed", { error: e.message });
      });
      const info = server.address() as AddressInfo;
      resolve({
        port: info.port,
        hostname: opts.hostname,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

export const runtime: Runtime = { name: "node", version: process.versions.node, openSqlite, serve };
