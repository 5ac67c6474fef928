// Public surface of api/cluster/ (the native /v1/cluster/... routes): the protocol for app.ts, the
// deps it declares, and the status JSON shape the CLI reads. Must not define anything; re-exports only.
export { clusterProtocol } from "./routes.ts";
export type { ClusterDeps } from "./deps.ts";
export type { ClusterStatusJson } from "./status.ts";
