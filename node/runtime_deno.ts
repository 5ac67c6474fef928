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

function openSqlite(path: string, opts?: { readOnly?: boolean }): SqliteDb {
  return new DatabaseSync(path, { readOnly: opts?.readOnly === true }) as unknown as SqliteDb;
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

async function serve(opts: ServeOptions): Promise<HttpServer> {
  let listening!: (a: { hostname: string; port: number }) => void;
  const ready = new Promise<{ hostname: string; port: number }>((r) => (listening = r));
  const fetch = opts.fetch;
  // Deno.serve's req.url keeps the raw "." and ".." segments, so no raw target is needed. It
  // always writes Date and frames every non-HEAD body, so a Connection: close reply keeps both.
  const handler = (req: Request): Response | Promise<Response> => {
    if (req.method !== "HEAD") return fetch(req);
    const res = fetch(req);
    return res instanceof Promise ? res.then(headWithoutLength) : headWithoutLength(res);
  };
  const server = Deno.serve({ hostname: opts.hostname, port: opts.port, onListen: (a) => listening(a) }, handler);
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
