// Public surface of api/: the fetch function over ApiDeps, its options, and the types the daemon
// implements. Must not define anything; re-exports only.
export { createApi } from "./app.ts";
export type { Api, ApiOptions } from "./app.ts";
export type { ApiDeps, MemberInfo, NodeErrorCode, RaftStatus, StoreStats } from "./deps.ts";
export { NodeError } from "./deps.ts";
export type { ClusterStatusJson } from "./cluster.ts";
