// The vocabulary every protocol's deps share with the daemon: the operating errors it rejects
// with (NodeError, whose codes errors.ts maps to HTTP), a member as the api shows it, the Raft
// position that fills per-reply headers, and the full status for the stats routes. Each protocol
// declares the narrow interface it needs in its own deps.ts (etcd_v2/deps.ts, cluster/deps.ts)
// from these; node/ satisfies them structurally. Must not import node/ and must not declare one
// interface for every protocol.

import type { Index, NodeId, Term } from "../internal/mod.ts";

export interface MemberInfo {
  readonly id: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

/** Where this member's Raft log stands: cheap to read, for headers on every reply. */
export interface RaftPosition {
  readonly term: Term;
  readonly commitIndex: Index;
  readonly appliedIndex: Index;
}

/** Everything the stats routes show; may be costly (the leader builds every follower's progress). */
export interface RaftStatus {
  readonly id: NodeId;
  readonly name: string;
  readonly clusterId: string;
  readonly term: Term;
  readonly leader: NodeId;
  /** "StateLeader" | "StateFollower" | "StateCandidate" | "StatePreCandidate" */
  readonly state: string;
  readonly commitIndex: Index;
  readonly appliedIndex: Index;
  readonly snapshotIndex: Index;
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  readonly logBytesOnDisk: number;
  /** ISO time the process started and the time this member last became leader (or ""). */
  readonly startTime: string;
  readonly leaderStartTime: string;
  readonly recvAppendRequestCnt: number;
  readonly sendAppendRequestCnt: number;
  /** On the leader: each member's replication progress (state is "StateProbe", "StateReplicate" or "StateSnapshot"). */
  readonly progress?: Readonly<Record<NodeId, { match: Index; next: Index; state: string }>>;
  /** The peer port's counters (refused handshakes, dropped connections by reason, bytes refused) and what it holds now. */
  readonly peer?: Readonly<Record<string, number>>;
}

/** What the leader knows of one follower, as etcd's /v2/stats/leader reports it (times in ms). */
export interface FollowerStats {
  readonly id: NodeId;
  readonly latency: { current: number; average: number; standardDeviation: number; minimum: number; maximum: number };
  readonly counts: { fail: number; success: number };
}

/** Operating errors from the node, each with a stable code that errors.ts maps to HTTP. */
export type NodeErrorCode =
  | "node/timeout" // no commit within limits.proposalTimeoutMs
  | "node/no-leader"
  | "node/busy" // too many pending proposals
  | "node/stopped"
  | "node/disk-full" // ENOSPC: the write was not made durable
  | "node/storage" // any other storage failure
  | "node/member-not-found" // a membership change names an id that is not a member
  | "node/member-removed" // the id was removed and cannot come back
  | "node/member-change-pending"; // another membership change is not applied yet

export class NodeError extends Error {
  override name = "NodeError";
  readonly code: NodeErrorCode;
  constructor(code: NodeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
