// When this member takes a snapshot: every --snapshot-count applied entries, at an index staggered
// by its rank among the voters, and never spending more than about a tenth of wall time on it; or at
// once when a membership change was applied on a compacted log.
// Must not encode, write or compact anything: the node takes the snapshot when this says so.

import type { Index, NodeId } from "../internal/mod.ts";

export class SnapshotPolicy {
  readonly #count: number;
  readonly #self: NodeId;
  #lastSnapshotMs = 0;
  #lastSnapshotCostMs = 0;
  /** A conf change was applied on a compacted log: snapshot now, whatever the count. */
  #due = false;
  /** The voters #offset was computed for (the ConfState's array is replaced on every change). */
  #offsetFor: readonly NodeId[] | undefined;
  #offset = 0;

  constructor(snapshotCount: number, self: NodeId) {
    this.#count = snapshotCount;
    this.#self = self;
  }

  /**
   * A member added once the log has been compacted can only start from a snapshot, and the Raft core
   * sends the newest stored one: it must already list the new member, so one is taken at once.
   */
  markDue(): void {
    this.#due = true;
  }

  /** Whether to snapshot now (`now` is performance.now() ms); runs on every loop turn. */
  shouldSnapshot(applied: Index, snapIndex: Index, voters: readonly NodeId[], now: number): boolean {
    if (this.#due && applied > snapIndex) {
      this.#due = false;
      return true;
    }
    if (!this.#boundaryCrossed(applied, snapIndex, voters)) return false;
    // Encoding a million keys blocks the loop: under heavy load snapshots space out.
    return now - this.#lastSnapshotMs >= this.#lastSnapshotCostMs * 10;
  }

  /** A snapshot was taken, costing `costMs`, finished at `endMs` (performance.now() ms). */
  taken(costMs: number, endMs: number): void {
    this.#lastSnapshotCostMs = costMs;
    this.#lastSnapshotMs = endMs;
  }

  /** A snapshot could not be written (disk full): the next try waits out the time budget. */
  skipped(endMs: number): void {
    this.#lastSnapshotMs = endMs;
  }

  /**
   * Every --snapshot-count entries, at an index staggered by this member's rank among the voters:
   * voter i of n snapshots at k·count + count·i/n (k ≥ 1), so never before `count` entries and never
   * at the same index as another voter. A snapshot blocks a member's loop for tens to hundreds of ms;
   * when every member took it at the same index the cluster stalled as one (the p99 of the cluster
   * bench). Staggered, a follower's pause costs no commit (the other follower makes the quorum).
   */
  #boundaryCrossed(applied: Index, snapIndex: Index, voters: readonly NodeId[]): boolean {
    const count = this.#count;
    // Right after a snapshot received from the leader the next boundary may be close: not before half a count.
    if (applied - snapIndex < Math.ceil(count / 2)) return false;
    if (applied - snapIndex >= count * 2) return true;
    const offset = this.#offsetAmong(voters);
    const k = Math.max(1, Math.floor((snapIndex - offset) / count) + 1);
    return applied >= k * count + offset;
  }

  /** count·rank/voters, recomputed only when the voters change. */
  #offsetAmong(voters: readonly NodeId[]): number {
    if (this.#offsetFor !== voters) {
      const sorted = [...voters].sort();
      const rank = Math.max(0, sorted.indexOf(this.#self));
      this.#offset = Math.floor((this.#count * rank) / Math.max(1, sorted.length));
      this.#offsetFor = voters;
    }
    return this.#offset;
  }
}
