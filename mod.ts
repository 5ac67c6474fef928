// The library surface for embedding coreplane: start a member, parse its config, build the API,
// and the public types. Nothing else is public; everything here is re-exported, never defined.

export { startMember } from "./node/server.ts";
export type { Member } from "./node/server.ts";
export { parseServeConfig } from "./node/config.ts";
export type { Config } from "./node/config.ts";
export { createApi } from "./api/mod.ts";
export type { ApiDeps, MemberInfo, RaftStatus } from "./api/deps.ts";
export { loadRuntime } from "./node/runtime.ts";
export type { Command } from "./projections/mod.ts";
