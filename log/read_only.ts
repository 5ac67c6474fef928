// Bookkeeping for linearizable reads by ReadIndex (Raft thesis §6.4, ReadOnlySafe): each request
// records the commit index when it arrived and waits until a quorum acknowledged a heartbeat that
// carried its context. Port of etcd-io/raft read_only.go. Must not send messages or touch the log.

import type { Index, NodeId } from "../internal/mod.ts";
import type { Message } from "./types.ts";

export const ReadOnlyOption = Object.freeze({
  /** Confirm leadership with a heartbeat round per batch of reads. The default, and the safe one. */
  Safe: "ReadOnlySafe",
  /** Trust the leader lease (requires checkQuorum); unsafe under unbounded clock drift. */
  LeaseBased: "ReadOnlyLeaseBased",
} as const);
export type ReadOnlyOption = (typeof ReadOnlyOption)[keyof typeof ReadOnlyOption];

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: Index;
  readonly acks: Map<NodeId, boolean>;
}

const EMPTY = new Uint8Array(0);

/** A map key for a request context: bytes as a latin1 string (contexts are small). */
export function ctxKey(ctx: Uint8Array | undefined): string {
  if (ctx === undefined || ctx.byteLength === 0) return "";
  let s = "";
  for (let i = 0; i < ctx.byteLength; i += 4096) {
    s += String.fromCharCode.apply(null, ctx.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

export class ReadOnly {
  readonly option: ReadOnlyOption;
  readonly #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /**
   * Queues a read request `m` at commit index `index`. A retried request (same context) is
   * re-queued at the new index with fresh acks: answering it at the first attempt's index could
   * return a stale index to a client that retried after a write completed (etcd-io/raft #397).
   */
  addRequest(index: Index, m: Message): void {
    const key = ctxKey(m.context);
    if (this.#pending.has(key)) this.#queue = this.#queue.filter((k) => k !== key);
    this.#pending.set(key, { req: m, index, acks: new Map() });
    this.#queue.push(key);
  }

  /** Records a heartbeat ack carrying `ctx`; returns the acks of that request (undefined if unknown). */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): Map<NodeId, boolean> | undefined {
    const rs = this.#pending.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * The request with context `ctx` reached a quorum: it and every request queued before it are
   * confirmed (they were behind the same or an earlier heartbeat). Returns them in order.
   */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const i = this.#queue.indexOf(key);
    if (i < 0) return [];
    const keys = this.#queue.slice(0, i + 1);
    this.#queue = this.#queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of keys) {
      const rs = this.#pending.get(k);
      if (rs === undefined) continue;
      this.#pending.delete(k);
      out.push(rs);
    }
    return out;
  }

  /** Context of the newest pending request: heartbeats carry it so acks advance the whole queue. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.#queue.length === 0) return undefined;
    const rs = this.#pending.get(this.#queue[this.#queue.length - 1]);
    return rs?.req.context ?? EMPTY;
  }

  pendingCount(): number {
    return this.#queue.length;
  }
}
