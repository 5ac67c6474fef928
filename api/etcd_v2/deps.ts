// What etcd's v2 protocol needs from the daemon, declared by it: the kv projection (its state,
// its commands, its applied results for watches), read-index rounds, the Raft position for the
// X-Raft-* headers, the members and their changes, and the full status for /v2/stats/*.
// node/'s Node satisfies it structurally; tests/api/fake_deps.ts is its in-memory twin.
// Must not import node/ and must not ask for anything the v2 routes do not use.

import type { Clock, NodeId } from "../../internal/mod.ts";
import type { KvCommand, KvResult, KvState, Subscriber } from "../../projections/mod.ts";
import type { FollowerStats, MemberInfo, RaftPosition, RaftStatus } from "../deps.ts";

export interface EtcdV2Deps {
  readonly clock: Clock;
  /** The largest value a write may carry (--max-request-bytes). */
  readonly valueBytesMax: number;
  /** The kv store as applied here (a serializable, member-local read). */
  state(name: "kv"): KvState;
  /** Proposes a kv command; resolves with its result once applied here. Rejects with NodeError. */
  propose(command: KvCommand): Promise<KvResult>;
  /** Registers for the kv projection's applied results and restores (the watch hub, the store stats). */
  subscribe(name: "kv", subscriber: Subscriber<"kv">): void;
  /** Resolves once this member has applied everything committed when it was called. Rejects with NodeError. */
  linearizableRead(): Promise<void>;
  /** Cheap, per reply: X-Raft-Term and X-Raft-Index. */
  raftPosition(): RaftPosition;
  /** Costly on the leader: read once for the cluster id, then only by /v2/stats/*, /health and /v2/members/leader. */
  status(): RaftStatus;
  members(): readonly MemberInfo[];
  /** Adds a member with these peer URLs through the log; resolves with it once applied here. Rejects with NodeError. */
  addMember(peerURLs: readonly string[]): Promise<MemberInfo>;
  /** Removes a member through the log; resolves once applied here. Rejects with NodeError. */
  removeMember(id: NodeId): Promise<void>;
  /** Changes a member's peer URLs through the log; resolves once applied here. Rejects with NodeError. */
  updateMember(id: NodeId, peerURLs: readonly string[]): Promise<void>;
  /** Per follower, on the leader only (empty elsewhere). */
  followerStats(): readonly FollowerStats[];
}
