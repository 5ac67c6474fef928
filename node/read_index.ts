// Linearizable reads (quorum=true): read-index rounds, batched. Reads that arrive while a round is
// out share the next one (one round in flight per member, limits.readIndexRoundsInFlightMax); a
// round answered with an index releases its reads once this member has applied that index; a round
// lost on the way is asked again after limits.readIndexRetryMs, and at once after a leader change;
// reads time out after limits.proposalTimeoutMs.
// Must not step the core or apply anything: it asks through ReadIndexDeps and is told what came back.

import type { Index, NodeId } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import { NodeError } from "../api/mod.ts";

interface ReadWaiter {
  resolve(): void;
  reject(err: Error): void;
  deadlineMs: number;
}

interface ReadBatch {
  waiters: ReadWaiter[];
  issuedMs: number;
}

/** What the read-index rounds need of the node. */
export interface ReadIndexDeps {
  readonly memberId: NodeId;
  /** Asks the core for a read point under this context (a ReadState comes back in a later Ready). */
  readIndex(ctx: Uint8Array): void;
  /** Runs the Ready loop soon. */
  schedule(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class ReadIndexRounds {
  readonly #deps: ReadIndexDeps;
  /** Reads waiting for the next round. */
  #waiters: ReadWaiter[] = [];
  /** Rounds asked and not answered, by context. */
  readonly #batches = new Map<string, ReadBatch>();
  #seq = 0;
  /** Rounds answered, waiting for this member to apply their index (in index order). */
  readonly #indexWaits: { index: Index; waiters: ReadWaiter[] }[] = [];

  constructor(deps: ReadIndexDeps) {
    this.#deps = deps;
  }

  /** Resolves once this member has applied everything committed when it was called. */
  read(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#deps.schedule();
    });
  }

  /** Whether rounds are out (the tick then looks for lost ones). */
  get inFlight(): boolean {
    return this.#batches.size > 0;
  }

  /** Asks a round for the waiting reads, when a leader is known and the slot is free. */
  issue(hasLeader: boolean): void {
    if (this.#waiters.length === 0 || !hasLeader) return;
    // One round in flight at a time: reads that arrive meanwhile share the next round, so under
    // load a round carries many reads and the members exchange far fewer heartbeats. A lost round
    // is asked again after limits.readIndexRetryMs (housekeeping), which also frees the slot.
    if (this.#batches.size >= limits.readIndexRoundsInFlightMax) return;
    // The leader keys pending rounds by context, across every member: it must be unique cluster-wide.
    const ctx = `${this.#deps.memberId}:${++this.#seq}`;
    this.#batches.set(ctx, { waiters: this.#waiters, issuedMs: Date.now() });
    this.#waiters = [];
    // On a follower the core asks the leader (MsgReadIndex); every waiter of the batch shares the round.
    this.#deps.readIndex(enc.encode(ctx));
  }

  /** A ReadState came back in a Ready. */
  onReadState(index: Index, ctxBytes: Uint8Array): void {
    const ctx = dec.decode(ctxBytes);
    const b = this.#batches.get(ctx);
    if (!b) return;
    this.#batches.delete(ctx);
    this.#indexWaits.push({ index, waiters: b.waiters });
    if (this.#waiters.length > 0) this.#deps.schedule();
  }

  /** Releases the reads whose index this member has applied. */
  release(applied: Index): void {
    while (this.#indexWaits.length > 0 && this.#indexWaits[0].index <= applied) {
      for (const w of this.#indexWaits.shift()!.waiters) w.resolve();
    }
  }

  /**
   * A read index round lost on the way (a dropped message, a leader that had not yet committed in
   * its term) is asked again rather than left to time out. Checked every tick: with one round in
   * flight, a lost round holds every quorum read of this member until it is retried.
   */
  retryLost(now: number): void {
    for (const [ctx, b] of this.#batches) {
      if (now - b.issuedMs < limits.readIndexRetryMs) continue;
      this.#batches.delete(ctx);
      this.#waiters.push(...b.waiters);
    }
  }

  /** Read index requests sent to the old leader will not be answered: they are asked again. */
  onLeaderChange(): void {
    for (const b of this.#batches.values()) this.#waiters.push(...b.waiters);
    this.#batches.clear();
  }

  /** Fails the reads whose deadline passed, retries lost rounds, and schedules the loop for waiting reads. */
  expire(now: number): void {
    const timedOut = (ws: ReadWaiter[]) => {
      const keep: ReadWaiter[] = [];
      for (const w of ws) {
        if (w.deadlineMs <= now) w.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
        else keep.push(w);
      }
      return keep;
    };
    this.#waiters = timedOut(this.#waiters);
    // Updated in place: deleting and re-adding a key while iterating a Map visits it again, forever.
    for (const [ctx, b] of this.#batches) {
      b.waiters = timedOut(b.waiters);
      if (b.waiters.length === 0) this.#batches.delete(ctx);
    }
    this.retryLost(now);
    for (const x of this.#indexWaits) x.waiters = timedOut(x.waiters);
    if (this.#waiters.length > 0) this.#deps.schedule();
  }

  /** Fails the reads of rounds asked or answered (the core they were asked of is gone); waiting ones stay. */
  failRounds(err: Error): void {
    for (const b of this.#batches.values()) for (const w of b.waiters) w.reject(err);
    this.#batches.clear();
    for (const x of this.#indexWaits.splice(0)) for (const w of x.waiters) w.reject(err);
  }

  /** Fails every read (the member stops). */
  failAll(err: Error): void {
    for (const w of this.#waiters) w.reject(err);
    this.#waiters = [];
    this.failRounds(err);
  }
}
