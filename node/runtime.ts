// What the daemon needs from its JavaScript runtime, implemented twice: runtime_deno.ts and
// runtime_node.ts are the only files that differ between Deno and Node. loadRuntime() picks one.
// Must not be imported by log/, projections/, api/ or internal/.

import type { SqliteDb } from "./sqlite.ts";
import type { Dialect } from "kysely";

export interface HttpServer {
  readonly port: number;
  readonly hostname: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly hostname: string;
  readonly port: number;
  readonly fetch: (req: Request) => Response | Promise<Response>;
}

export interface Runtime {
  readonly name: "deno" | "node";
  readonly version: string;
  openSqlite(path: string): SqliteDb;
  kyselyDialect(db: SqliteDb): Dialect;
  serve(opts: ServeOptions): Promise<HttpServer>;
}

export async function loadRuntime(): Promise<Runtime> {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  const mod = isDeno ? await import("./runtime_deno.ts") : await import("./runtime_node.ts");
  return mod.runtime;
}
