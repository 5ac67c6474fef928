// etcd v2's routes, in one place: /v2/keys as a raw fast path, everything else as a hono sub-app.
// Each handler checks its own methods, because etcd's 405s (with Allow, or HEAD answered as a GET
// with its Content-Length) are not what hono's method routing writes.
// Must not do I/O; must not hold handler logic (keys.ts, watch.ts, members.ts, stats.ts, server_info.ts).

import { Hono } from "hono";
import type { Protocol, RouteEnv } from "../protocol.ts";
import { type EtcdV2Bounds, createEtcdV2Context } from "./context.ts";
import type { EtcdV2Deps } from "./deps.ts";
import { serveKeys } from "./keys.ts";
import { serveMachines, serveMembers } from "./members.ts";
import { serveHealth, serveVersion } from "./server_info.ts";
import { serveStatsLeader, serveStatsSelf, serveStatsStore } from "./stats.ts";

export function etcdV2Protocol(deps: EtcdV2Deps, bounds: EtcdV2Bounds): Protocol {
  const ctx = createEtcdV2Context(deps, bounds);
  const routes = new Hono<{ Bindings: RouteEnv }>({ strict: true });
  routes.all("/v2/members", (c) => serveMembers(ctx, c.req.raw, c.env.origin, c.env.path));
  routes.all("/v2/members/*", (c) => serveMembers(ctx, c.req.raw, c.env.origin, c.env.path));
  routes.all("/v2/machines", (c) => serveMachines(ctx, c.req.raw, c.env.origin));
  routes.all("/v2/stats/self", (c) => serveStatsSelf(ctx, c.req.raw, c.env.origin));
  routes.all("/v2/stats/leader", (c) => serveStatsLeader(ctx, c.req.raw, c.env.origin));
  routes.all("/v2/stats/store", (c) => serveStatsStore(ctx, c.req.raw, c.env.origin));
  routes.all("/version", (c) => serveVersion(c.req.raw, c.env.origin));
  routes.all("/health", (c) => serveHealth(ctx, c.req.raw, c.env.origin));
  return {
    routes,
    // /v2/keys skips hono: routing a GET of a small key through it costs +10.0 µs per request on
    // Deno (68.4 -> 78.4 µs, +15%) and +2.7 µs on Node (41.5 -> 44.2 µs, +7%), measured in process
    // by bench/api_router.ts (100,000 requests x 7 rounds, median; api/DESIGN.md).
    fastPath: { prefix: "/v2/keys", serve: (req, origin, rest, rawQuery) => serveKeys(ctx, req, origin, rest, rawQuery) },
  };
}
