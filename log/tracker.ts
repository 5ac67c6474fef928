// The leader's view of the membership: voters, learners, one Progress per member, and the votes
// of the current election. Port of etcd-io/raft tracker/tracker.go plus the v1 (single-change)
// part of confchange/. Must not send messages: raft.ts drives it.

import type { Index, NodeId } from "../internal/mod.ts";
import { compareNodeIds, committedIndex, voteResult, VoteResult } from "./quorum.ts";
import { Inflights, Progress } from "./progress.ts";
import type { ConfState } from "./types.ts";

export interface TallyResult {
  readonly granted: number;
  readonly rejected: number;
  readonly result: VoteResult;
}

export class ProgressTracker {
  /** Sorted by numeric id, so iteration (and thus message order) is deterministic. */
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  /** voters ∪ learners, sorted. */
  ids: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
  readonly #acked = (id: NodeId): Index => this.progress.get(id)?.match ?? 0;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  newProgress(next: Index, isLearner: boolean): Progress {
    return new Progress(next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
  }

  confState(): ConfState {
    return { voters: this.voters.slice(), learners: this.learners.slice() };
  }

  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** The largest log index durable on a majority of voters. */
  committed(): Index {
    return committedIndex(this.voters, this.#acked);
  }

  /** True if a majority of voters were recently active (the leader counts itself as active). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const id of this.voters) votes.set(id, this.progress.get(id)?.recentActive ?? false);
    return voteResult(this.voters, votes) === VoteResult.Won;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records the first vote of `id` in this election; later ones are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): TallyResult {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }

  /** Adds or promotes a voter. Idempotent: bootstrap entries are applied twice. */
  addVoter(id: NodeId, lastIndex: Index): void {
    const pr = this.progress.get(id);
    if (pr === undefined) {
      this.#init(id, lastIndex, false);
    } else if (pr.isLearner) {
      pr.isLearner = false;
      this.learners = this.learners.filter((x) => x !== id);
      this.voters = insertSorted(this.voters, id);
    }
    this.#reindex();
  }

  /** Adds a learner or demotes a voter to learner. */
  addLearner(id: NodeId, lastIndex: Index): void {
    const pr = this.progress.get(id);
    if (pr === undefined) {
      this.#init(id, lastIndex, true);
    } else if (!pr.isLearner) {
      pr.isLearner = true;
      this.voters = this.voters.filter((x) => x !== id);
      this.learners = insertSorted(this.learners, id);
    }
    this.#reindex();
  }

  remove(id: NodeId): void {
    if (!this.progress.delete(id)) return;
    this.voters = this.voters.filter((x) => x !== id);
    this.learners = this.learners.filter((x) => x !== id);
    this.votes.delete(id);
    this.#reindex();
  }

  #init(id: NodeId, lastIndex: Index, isLearner: boolean): void {
    // Probe from the last index: the new member most likely has no log and will need a snapshot
    // or a probe walk-back; recentActive so check-quorum does not count it against the leader yet.
    const pr = this.newProgress(Math.max(lastIndex, 1), isLearner);
    pr.recentActive = true;
    this.progress.set(id, pr);
    if (isLearner) this.learners = insertSorted(this.learners, id);
    else this.voters = insertSorted(this.voters, id);
  }

  #reindex(): void {
    this.ids = [...this.voters, ...this.learners].sort(compareNodeIds);
  }
}

function insertSorted(list: readonly NodeId[], id: NodeId): NodeId[] {
  if (list.includes(id)) return list.slice();
  return [...list, id].sort(compareNodeIds);
}
