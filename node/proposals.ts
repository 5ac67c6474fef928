// This member's writes on their way through the log: each command is stamped (this member's clock,
// its id, a request id unique across restarts: request_id.ts) and encoded into an entry; the writes
// of one event-loop turn go to the core as one batch; each waits, keyed by its request id, until
// this member applies its entry (answered with the result), its deadline passes
// (limits.proposalTimeoutMs, swept by housekeeping), or the core drops it.
// Must not step the core itself or apply anything: it proposes through ProposalDeps and is told
// what was applied.

import type { Index, NodeId } from "../internal/mod.ts";
import type { Clock } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import type { Entry } from "../log/mod.ts";
import { NodeError } from "../api/mod.ts";
import { type Command, encodeEntry, type Envelope, type ResultFor } from "../projections/mod.ts";
import { requestId as requestIdOf } from "./request_id.ts";

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  deadlineMs: number;
}

/** What the proposals need of the node. */
export interface ProposalDeps {
  readonly memberId: NodeId;
  readonly clock: Clock;
  /** Hands entries' data to the core as one MsgProp; throws when the core drops them. */
  proposeBatch(data: readonly Uint8Array[]): void;
  /** Runs the Ready loop soon (after this event-loop turn's other requests). */
  schedule(): void;
}

export class Proposals {
  readonly #deps: ProposalDeps;
  /** This start's number and proposal count: request ids unique across restarts (request_id.ts). */
  readonly #start: number;
  #requestCount = 0;
  /** Every write waiting for its entry to be applied, in deadline order. */
  readonly #pending = new Map<number, Pending>();
  /** Writes of this event-loop turn, not yet handed to the core. */
  #batch: Uint8Array[] = [];
  #batchIds: number[] = [];
  /** The envelope this member encoded into each entry's bytes (the core hands the same bytes back). */
  readonly #own = new WeakMap<Uint8Array, Envelope<Command>>();

  constructor(deps: ProposalDeps, start: number) {
    this.#deps = deps;
    this.#start = start;
  }

  /** How many writes are waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** Encodes the command into an entry and queues it for this turn's batch; the caller checked it may write. */
  propose<C extends Command>(command: C): Promise<ResultFor<C>> {
    const requestId = requestIdOf(this.#start, ++this.#requestCount);
    const env: Envelope<Command> = { timeMs: this.#deps.clock.nowMs(), proposer: this.#deps.memberId, requestId, command };
    const data = encodeEntry(env);
    // The core hands the same bytes back when the entry commits (it never copies entry data), so
    // the member that encoded them skips decoding them; the bytes are what replay will decode.
    this.#own.set(data, env);
    return new Promise<ResultFor<C>>((resolve, reject) => {
      // Proposed with every other write of this event-loop turn as one batch (flush).
      this.#batch.push(data);
      this.#batchIds.push(requestId);
      this.#pending.set(requestId, { resolve: resolve as (r: unknown) => void, reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#deps.schedule();
    });
  }

  /**
   * Hands the writes of this turn to the core as one MsgProp: the leader then sends one append per
   * follower for all of them. On a follower the core forwards the batch to the leader; the entries
   * come back in the log and this member answers each client when it applies its entry.
   */
  flush(): void {
    if (this.#batch.length === 0) return;
    const data = this.#batch;
    const ids = this.#batchIds;
    this.#batch = [];
    this.#batchIds = [];
    try {
      this.#deps.proposeBatch(data);
    } catch (e) {
      const err = new NodeError("node/no-leader", `etcdserver: proposal dropped (${(e as Error).message})`);
      for (const id of ids) {
        const p = this.#pending.get(id);
        if (p) {
          this.#pending.delete(id);
          p.reject(err);
        }
      }
    }
  }

  /** The envelope this member encoded into these entry bytes, if it did. */
  ownEnvelope(data: Uint8Array): Envelope<Command> | undefined {
    return this.#own.get(data);
  }

  /** This member's entry with `requestId` was applied: its writer gets the result. */
  answer(requestId: number, result: unknown): void {
    const p = this.#pending.get(requestId);
    if (p) {
      this.#pending.delete(requestId);
      p.resolve(result);
    }
  }

  /** Times out writes that did not commit (etcd answers "request timed out" after about 7 s). */
  expire(now: number): void {
    for (const [id, p] of this.#pending) {
      if (p.deadlineMs > now) break; // insertion order = deadline order
      this.#pending.delete(id);
      p.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
    }
  }

  /**
   * The core is about to be rebuilt from what is durable: the writes of `entries` past `durable`
   * will never be applied, so their writers are told. Those of durable entries stay waiting.
   */
  rejectNotDurable(entries: readonly Entry[], durable: Index, err: Error): void {
    for (const e of entries) {
      if (e.index <= durable) continue;
      const env = this.#own.get(e.data);
      const p = env && this.#pending.get(env.requestId);
      if (p) {
        this.#pending.delete(env.requestId);
        p.reject(err);
      }
    }
  }

  /** Fails every waiting write (the member stops). */
  failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#batch = [];
    this.#batchIds = [];
  }
}
