// What the daemon needs from its JavaScript runtime, implemented twice: runtime_deno.ts and
// runtime_node.ts are the only files that differ between Deno and Node. loadRuntime() picks one.
// Must not be imported by log/, projections/, api/ or internal/.

import type { SqliteDb } from "./sqlite.ts";

export interface HttpServer {
  readonly port: number;
  readonly hostname: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly hostname: string;
  readonly port: number;
  /**
   * The handler. `rawTarget` is the request target exactly as received, when the runtime has it
   * (Node: IncomingMessage.url; on Deno req.url already keeps "." and ".." segments).
   * Transport rules both runtimes apply to its responses, so they frame replies as Go does:
   * - a response with `Connection: close` is a server-level error: written without Date and
   *   without Content-Length (the body ends when the connection closes), where the runtime can;
   * - a HEAD response without a body and without Content-Length is sent without Content-Length.
   */
  readonly fetch: (req: Request, rawTarget?: string) => Response | Promise<Response>;
  /**
   * True for a response whose body is a stream that may last (a watch, a chunked listing). The
   * Deno runtime counts such a connection busy until the body has been written or cancelled, so
   * its idle timeout never cuts a watch. (Asking every response for its body would cost speed.)
   */
  readonly isStream?: (res: Response) => boolean;
  /** The connection bounds of this listener (node/server.ts fills them from limits and flags). */
  readonly guard?: ConnectionGuard;
  /** Where the server reports what it does on its own (accept errors, refused connections). */
  readonly log?: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * What one client listener may cost the member. Both runtimes enforce all of it: a connection
 * over the cap gets a 503 with a short body and is closed; a connection that has not finished a
 * request head within headerTimeoutMs, or sits idle (no request in flight, no response body
 * streaming) for idleTimeoutMs, is closed; an accept error (EMFILE, ENFILE, ...) backs off and
 * accepting goes on.
 */
export interface ConnectionGuard {
  readonly connectionsMax: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** A request with a body must be received (Deno: and answered) within this; else its connection is closed. */
  readonly bodyTimeoutMs: number;
}

export interface Runtime {
  readonly name: "deno" | "node";
  readonly version: string;
  /** Opens an SQLite file; readOnly opens an existing file that no statement can change. */
  openSqlite(path: string, opts?: { readOnly?: boolean }): SqliteDb;
  serve(opts: ServeOptions): Promise<HttpServer>;
}

export async function loadRuntime(): Promise<Runtime> {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  const mod = isDeno ? await import("./runtime_deno.ts") : await import("./runtime_node.ts");
  return mod.runtime;
}
