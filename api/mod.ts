// Public surface of api/: the fetch function over each protocol's deps, its options, the types
// the daemon satisfies, and etcd's JSON forms for the CLI. Must not define anything; re-exports only.
export { createApi } from "./app.ts";
export type { Api, ApiOptions, ProtocolDeps } from "./app.ts";
export type { FollowerStats, MemberInfo, NodeErrorCode, RaftPosition, RaftStatus } from "./deps.ts";
export { NodeError } from "./deps.ts";
export type { EtcdV2Deps, StoreStats } from "./etcd_v2/mod.ts";
export type { ClusterDeps, ClusterStatusJson } from "./cluster/mod.ts";
// etcd's JSON forms, for the CLI (kv output, the offline tools' kv view).
export { goJsonString, nodeJson } from "./etcd_v2/mod.ts";
