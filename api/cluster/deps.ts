// What the native cluster protocol (/v1/cluster/...) needs from the daemon, declared by it: the
// member's full Raft status and the member list. node/'s Node satisfies it structurally.
// Must not import node/ and must not ask for anything its routes do not use.

import type { MemberInfo, RaftStatus } from "../deps.ts";

export interface ClusterDeps {
  status(): RaftStatus;
  members(): readonly MemberInfo[];
}
