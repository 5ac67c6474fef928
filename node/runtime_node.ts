// The Node runtime: better-sqlite3 (Node 20 has no node:sqlite) and @hono/node-server.
// Must not hold logic that Deno needs too.

import { createRequire } from "node:module";
import { SqliteDialect } from "kysely";
import type { ServerResponse } from "node:http";
import { type Http2Bindings, type HttpBindings, serve as honoServe } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { SqliteDb } from "./sqlite.ts";
import type { HttpServer, Runtime, ServeOptions } from "./runtime.ts";

const require = createRequire(import.meta.url);

function openSqlite(path: string, opts?: { readOnly?: boolean }): SqliteDb {
  const Database = require("better-sqlite3");
  const ro = opts?.readOnly === true;
  return new Database(path, ro ? { readonly: true, fileMustExist: true } : {}) as SqliteDb;
}

function kyselyDialect(db: SqliteDb): SqliteDialect {
  // better-sqlite3 is the shape kysely's SqliteDialect was written for; close is left to storage.
  return new SqliteDialect({ database: { prepare: (sql: string) => (db as never as { prepare(s: string): never }).prepare(sql), close: () => {} } as never });
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

function serve(opts: ServeOptions): Promise<HttpServer> {
  const handler = opts.fetch;
  // The raw target keeps "." and ".." segments, which node-server's WHATWG URL resolves away.
  const fetch = (req: Request, env: HttpBindings | Http2Bindings): Response | Promise<Response> => {
    const res = handler(req, env.incoming.url);
    // Only synchronous replies can be the server-level error (app.ts answers it before routing).
    if (!(res instanceof Promise) && res.status === 400 && res.headers.get("connection") === "close") {
      return writeCloseDelimited(res, env.outgoing as ServerResponse);
    }
    return res;
  };
  return new Promise((resolve) => {
    const server = honoServe({ fetch, hostname: opts.hostname, port: opts.port }, (info) => {
      resolve({
        port: info.port,
        hostname: opts.hostname,
        close: () =>
          new Promise<void>((r) => {
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

export const runtime: Runtime = { name: "node", version: process.versions.node, openSqlite, kyselyDialect, serve };
