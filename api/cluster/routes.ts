// The native cluster protocol's routes, in one place (a hono sub-app): /v1/cluster/status.
// Must not hold handler logic (status.ts does).

import { Hono } from "hono";
import type { Protocol, RouteEnv } from "../protocol.ts";
import type { ClusterDeps } from "./deps.ts";
import { serveClusterStatus } from "./status.ts";

export function clusterProtocol(deps: ClusterDeps): Protocol {
  const routes = new Hono<{ Bindings: RouteEnv }>({ strict: true });
  routes.all("/v1/cluster/status", (c) => serveClusterStatus(deps, c.req.raw, c.env.origin));
  return { routes };
}
