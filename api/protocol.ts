// What one protocol hands the app (app.ts): its routes, declared in one place as a hono sub-app,
// and at most one raw fast path for a path prefix where hono's dispatch would cost more than the
// handler (the protocol says so at the path, with the measured figure). Must not know any protocol.

import type { Hono } from "hono";

/** What every route gets besides the request, computed once by the app's front (app.ts). */
export interface RouteEnv {
  /** The Access-Control-Allow-Origin value for this request, or null for no CORS headers. */
  origin: string | null;
  /** The decoded, clean request path. */
  path: string;
}

/** A protocol's routes: a hono app the top-level app mounts at "/". */
export type Routes = Hono<{ Bindings: RouteEnv }>;

export interface FastPath {
  /** The prefix it owns: the path itself, or any path under prefix + "/". */
  readonly prefix: string;
  /** `rest` is the decoded clean path after the prefix ("" or "/a/b"); `rawQuery` has no "?". */
  serve(req: Request, origin: string | null, rest: string, rawQuery: string): Response | Promise<Response>;
}

export interface Protocol {
  readonly routes: Routes;
  readonly fastPath?: FastPath;
}
