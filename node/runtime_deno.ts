// The Deno runtime: node:sqlite (built in; better-sqlite3 does not load on Deno) and Deno.serve
// (the fastest HTTP server Deno has). Must not hold logic that Node needs too.

import { DatabaseSync } from "node:sqlite";
import { SqliteDialect } from "kysely";
import type { SqliteDb } from "./sqlite.ts";
import type { HttpServer, Runtime, ServeOptions } from "./runtime.ts";

declare const Deno: {
  version: { deno: string };
  serve(
    opts: { hostname: string; port: number; onListen?: (a: { hostname: string; port: number }) => void; signal?: AbortSignal },
    handler: (req: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number; hostname: string } };
};

function openSqlite(path: string): SqliteDb {
  return new DatabaseSync(path) as unknown as SqliteDb;
}

// kysely's SqliteDialect expects better-sqlite3's shape: statements with `reader`, and
// all/run/iterate taking one array of parameters.
function kyselyDialect(db: SqliteDb): SqliteDialect {
  const raw = db as unknown as DatabaseSync;
  return new SqliteDialect({
    database: {
      close: () => {},
      prepare(sql: string) {
        const s = raw.prepare(sql);
        return {
          reader: s.columns().length > 0,
          all: (p: readonly unknown[]) => s.all(...(p as never[])),
          run: (p: readonly unknown[]) => {
            const r = s.run(...(p as never[]));
            return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
          },
          iterate: (p: readonly unknown[]) => s.iterate(...(p as never[])),
        };
      },
    } as never,
  });
}

async function serve(opts: ServeOptions): Promise<HttpServer> {
  let listening!: (a: { hostname: string; port: number }) => void;
  const ready = new Promise<{ hostname: string; port: number }>((r) => (listening = r));
  const server = Deno.serve({ hostname: opts.hostname, port: opts.port, onListen: (a) => listening(a) }, opts.fetch);
  const addr = await ready;
  return {
    port: addr.port,
    hostname: addr.hostname,
    close: async () => {
      await server.shutdown();
    },
  };
}

export const runtime: Runtime = { name: "deno", version: Deno.version.deno, openSqlite, kyselyDialect, serve };
