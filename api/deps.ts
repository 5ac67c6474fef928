// What the HTTP API needs from the daemon, defined by its consumer (api/). node/ implements it
// with the real Raft node; tests implement it with an in-memory twin (tests/api/fake_deps.ts).
// Must not import node/: the api is a pure fetch function over these interfaces.

import type { Clock } from "../internal/clock.ts";
import type { Index, NodeId, Term } from "../internal/brand.ts";
import type { Command, ProjectionName, ResultFor, StateOf, Subscriber } from "../projections/mod.ts";

export interface MemberInfo {
  readonly id: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

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

/** Per-operation success/failure counters, as etcd's /v2/stats/store reports them (kept by api/). */
export interface StoreStats {
  getsSuccess: number;
  getsFail: number;
  setsSuccess: number;
  setsFail: number;
  deleteSuccess: number;
  deleteFail: number;
  updateSuccess: number;
  updateFail: number;
  createSuccess: number;
  createFail: number;
  compareAndSwapSuccess: number;
  compareAndSwapFail: number;
  compareAndDeleteSuccess: number;
  compareAndDeleteFail: number;
  expireCount: number;
  watchers: number;
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

/** What the leader knows of one follower, as etcd's /v2/stats/leader reports it (times in ms). */
export interface FollowerStats {
  readonly id: NodeId;
  readonly latency: { current: number; average: number; standardDeviation: number; minimum: number; maximum: number };
  readonly counts: { fail: number; success: number };
}

export interface ApiDeps {
  readonly clock: Clock;
  readonly valueBytesMax: number;
  /** A projection's live state, read directly (a serializable, member-local read). */
  state<N extends ProjectionName>(name: N): StateOf<N>;
  /** Propose a command; resolves with its result once durable, committed and applied here. Rejects with NodeError. */
  propose<C extends Command>(command: C): Promise<ResultFor<C>>;
  /** Resolves once this member has applied everything committed when it was called (a read index round). Rejects with NodeError. */
  linearizableRead(): Promise<void>;
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
  /** Register for a projection's applied results and restores (the api's watch hub, for kv). */
  subscribe<N extends ProjectionName>(name: N, subscriber: Subscriber<N>): void;
}
