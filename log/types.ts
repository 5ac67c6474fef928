// The vocabulary of the replicated log: entries, hard state, snapshots, messages and the Ready
// batch that the pure Raft core hands to its driver (node/). Shaped after etcd-io/raft's raftpb.
// Must not contain behaviour or import anything outside internal/: every other part speaks it.

import type { Index, NodeId, Term } from "../internal/mod.ts";

/** A normal entry carries an encoded command (see codec.ts); a conf change carries a ConfChange. */
export const EntryType = Object.freeze({ Normal: 0, ConfChange: 1 } as const);
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: Term;
  readonly index: Index;
  readonly type: EntryType;
  /** Opaque to the Raft core. Empty for the leader's no-op entry at the start of its term. */
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: Index;
  readonly term: Term;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The projections' state, encoded by projections/snapshot.ts. Opaque to the Raft core. */
  readonly data: Uint8Array;
}

export const ConfChangeType = Object.freeze({
  AddNode: 0,
  RemoveNode: 1,
  UpdateNode: 2,
  AddLearnerNode: 3,
} as const);
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque context (e.g. the member's peer URLs), carried to the apply step. */
  readonly context: Uint8Array;
}

export const MessageType = Object.freeze({
  Hup: "MsgHup", // local: start an election
  Beat: "MsgBeat", // local: leader sends heartbeats
  Prop: "MsgProp", // propose entries (local, or forwarded by a follower)
  App: "MsgApp",
  AppResp: "MsgAppResp",
  Vote: "MsgVote",
  VoteResp: "MsgVoteResp",
  PreVote: "MsgPreVote",
  PreVoteResp: "MsgPreVoteResp",
  Snap: "MsgSnap",
  Heartbeat: "MsgHeartbeat",
  HeartbeatResp: "MsgHeartbeatResp",
  Unreachable: "MsgUnreachable",
  SnapStatus: "MsgSnapStatus",
  CheckQuorum: "MsgCheckQuorum",
  TransferLeader: "MsgTransferLeader",
  TimeoutNow: "MsgTimeoutNow",
  ReadIndex: "MsgReadIndex",
  ReadIndexResp: "MsgReadIndexResp",
} as const);
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: Term;
  /** MsgApp: term of the entry at `index`; votes: the candidate's last log term. */
  readonly logTerm: Term;
  /** MsgApp: index preceding `entries`; votes: candidate's last index; AppResp: matched/rejected index. */
  readonly index: Index;
  readonly entries: readonly Entry[];
  readonly commit: Index;
  readonly reject: boolean;
  readonly rejectHint: Index;
  readonly snapshot?: Snapshot;
  /** ReadIndex requests and heartbeats carry the read request's context. */
  readonly context?: Uint8Array;
}

export const StateType = Object.freeze({
  Follower: "StateFollower",
  Candidate: "StateCandidate",
  Leader: "StateLeader",
  PreCandidate: "StatePreCandidate",
} as const);
export type StateType = (typeof StateType)[keyof typeof StateType];

export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** A linearizable read is safe once the applied index reaches `index`. */
export interface ReadState {
  readonly index: Index;
  readonly requestCtx: Uint8Array;
}

/**
 * What the driver must do, in order: persist `entries`, `hardState` and `snapshot` durably (one
 * transaction), then send `messages`, then apply `committedEntries`, then call advance().
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  /** The first this-many `messages` may be sent before the Ready is persisted (the rest after). */
  readonly sendBeforePersist: number;
  readonly readStates: readonly ReadState[];
  /** True when hardState or entries changed and an fsync is needed before sending messages. */
  readonly mustSync: boolean;
}
