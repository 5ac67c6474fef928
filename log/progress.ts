// What a leader knows about one follower's log: match/next indexes, the replication state
// (probe, replicate, snapshot) and the inflight window bounded by message count and bytes.
// Port of etcd-io/raft tracker/progress.go and tracker/inflights.go. Must not send messages or
// read the log: raft.ts decides what to send and reports it here.

import { assert } from "../internal/mod.ts";
import type { Index } from "../internal/mod.ts";

export const ProgressState = Object.freeze({
  /** At most one append in flight per heartbeat, until the follower's log position is found. */
  Probe: "StateProbe",
  /** Optimistic pipelining: next is advanced on send, within the inflight window. */
  Replicate: "StateReplicate",
  /** A snapshot is on its way; nothing else is sent until it is reported. */
  Snapshot: "StateSnapshot",
} as const);
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/**
 * A ring buffer of in-flight append messages: the last index and byte size of each. Two typed
 * arrays instead of an array of objects, grown on demand up to `size`, so the hot path allocates
 * nothing once warm.
 */
export class Inflights {
  #start = 0;
  #count = 0;
  #bytes = 0;
  readonly #size: number;
  readonly #maxBytes: number;
  #indexes: Float64Array;
  #sizes: Float64Array;

  /** `size` messages at most; `maxBytes` of payload at most (0 = no byte limit). */
  constructor(size: number, maxBytes: number) {
    assert(size > 0, "inflights size must be positive");
    this.#size = size;
    this.#maxBytes = maxBytes;
    const initial = Math.min(size, 16);
    this.#indexes = new Float64Array(initial);
    this.#sizes = new Float64Array(initial);
  }

  get count(): number {
    return this.#count;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /** Records a message whose last entry is `index` and whose payload is `bytes`. */
  add(index: Index, bytes: number): void {
    assert(!this.full(), "cannot add into a full inflights");
    let next = this.#start + this.#count;
    if (next >= this.#size) next -= this.#size;
    if (next >= this.#indexes.length) this.#grow();
    this.#indexes[next] = index;
    this.#sizes[next] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  #grow(): void {
    const n = Math.min(this.#size, this.#indexes.length * 2);
    const ix = new Float64Array(n);
    const sz = new Float64Array(n);
    ix.set(this.#indexes);
    sz.set(this.#sizes);
    this.#indexes = ix;
    this.#sizes = sz;
  }

  /** Frees every message whose last index is <= `to` (they were acknowledged). */
  freeLE(to: Index): void {
    if (this.#count === 0 || to < this.#indexes[this.#start]) return;
    let idx = this.#start;
    let i = 0;
    let bytes = 0;
    for (; i < this.#count; i++) {
      if (to < this.#indexes[idx]) break;
      bytes += this.#sizes[idx];
      if (++idx >= this.#size) idx -= this.#size;
    }
    this.#count -= i;
    this.#bytes -= bytes;
    this.#start = this.#count === 0 ? 0 : idx;
  }

  full(): boolean {
    return this.#count === this.#size || (this.#maxBytes !== 0 && this.#bytes >= this.#maxBytes);
  }

  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}

export class Progress {
  /** Highest index known to be durable in the follower's log. */
  match: Index = 0;
  /** Next index to send. Invariant: match < next. */
  next: Index;
  /** Highest commit index sent to the follower; lets the leader skip redundant commit updates. */
  sentCommit: Index = 0;
  state: ProgressState = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot: Index = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Probe: an append is in flight; Replicate: the window is full. Cleared by acks and heartbeats. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: Index, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the follower has at least the snapshot's index.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommit = snapshotIndex;
  }

  /** Bookkeeping after sending `entries` entries of `bytes` payload in one append. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      if (entries > 0) this.msgAppFlowPaused = true;
    } else {
      assert(false, `sending append in unhandled state ${this.state}`);
    }
  }

  /** True if the follower may lack the leader's commit index and can be told about it. */
  canBumpCommit(index: Index): boolean {
    // The follower can only learn a commit up to what it has (next - 1).
    return index > this.sentCommit && this.sentCommit < this.next - 1;
  }

  sentCommitTo(commit: Index): void {
    this.sentCommit = commit;
  }

  /** An append ack for index n. Returns false if it is stale (n <= match). */
  maybeUpdate(n: Index): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * An append rejection of index `rejected` with the follower's hint. Returns false if the
   * rejection is stale (out of order) and must be ignored.
   */
  maybeDecrTo(rejected: Index, matchHint: Index): boolean {
    if (this.state === ProgressState.Replicate) {
      // A rejection at or below match is stale; otherwise go back to just after match.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the latest probe (next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending appends to this follower is throttled. */
  isPaused(): boolean {
    if (this.state === ProgressState.Snapshot) return true;
    return this.msgAppFlowPaused;
  }
}
