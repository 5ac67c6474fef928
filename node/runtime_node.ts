// The Node runtime: better-sqlite3 (Node 20 has no node:sqlite) and @hono/node-server.
// Must not hold logic that Deno needs too.

import { createRequire } from "node:module";
import { SqliteDialect } from "kysely";
import { serve as honoServe } from "@hono/node-server";
import type { SqliteDb } from "./sqlite.ts";
import type { HttpServer, Runtime, ServeOptions } from "./runtime.ts";

const require = createRequire(import.meta.url);

function openSqlite(path: string): SqliteDb {
  const Database = require("better-sqlite3");
  return new Database(path) as SqliteDb;
}

function kyselyDialect(db: SqliteDb): SqliteDialect {
  // better-sqlite3 is the shape kysely's SqliteDialect was written for; close is left to storage.
  return new SqliteDialect({ database: { prepare: (sql: string) => (db as never as { prepare(s: string): never }).prepare(sql), close: () => {} } as never });
}

function serve(opts: ServeOptions): Promise<HttpServer> {
  return new Promise((resolve) => {
    const server = honoServe({ fetch: opts.fetch, hostname: opts.hostname, port: opts.port }, (info) => {
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
