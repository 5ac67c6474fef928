// Majority-quorum arithmetic for the Raft core: the commit index a set of voters agrees on and the
// outcome of an election. Port of etcd-io/raft quorum/majority.go (single, non-joint configs only:
// we do conf changes v1). Must not know about messages, logs or progress state machines.

import type { Index, NodeId } from "../internal/mod.ts";

export const VoteResult = Object.freeze({ Pending: 1, Lost: 2, Won: 3 } as const);
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** Scratch buffer reused across calls: committedIndex() runs on every append ack. */
let scratch = new Float64Array(8);

/**
 * The largest index acknowledged by a majority of `voters`. `acked(id)` returns the matched index
 * of a voter (0 when unknown). An empty config commits everything (Infinity), like etcd's MaxUint64,
 * so that joint-less callers can take a min without special cases.
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => Index): Index {
  const n = voters.length;
  if (n === 0) return Infinity;
  if (n === 1) return acked(voters[0]);
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    // Insertion sort, ascending: n is tiny (3, 5, 7) and this avoids allocating.
    const v = acked(voters[i]);
    let j = i;
    while (j > 0 && scratch[j - 1] > v) {
      scratch[j] = scratch[j - 1];
      j--;
    }
    scratch[j] = v;
  }
  // With n voters sorted ascending, the entry at n - (n/2 + 1) is held by a majority.
  return scratch[n - (Math.floor(n / 2) + 1)];
}

/** Election outcome given the votes cast so far (true = granted). Missing voters are pending. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.length;
  // An empty config wins every vote, by convention (etcd: "so that joint configs work").
  if (n === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(n / 2) + 1;
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** Compares lowercase-hex ids as the 64-bit numbers they stand for (no padding: shorter is smaller). */
export function compareNodeIds(a: NodeId, b: NodeId): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
