// The library surface for embedding coreplane: start a member, parse its config, build the API,
// and the public types. Nothing else is public; everything here is re-exported, never defined.

export { startMember } from "./node/mod.ts";
export type { Member } from "./node/mod.ts";
export { parseServeConfig } from "./node/mod.ts";
export type { Config } from "./node/mod.ts";
export { createApi } from "./api/mod.ts";
export type { Api, ApiOptions, ClusterDeps, EtcdV2Deps, MemberInfo, ProtocolDeps, RaftPosition, RaftStatus } from "./api/mod.ts";
export { loadRuntime } from "./node/mod.ts";
export type { Command } from "./projections/mod.ts";
