// The shape every projection has: a pure fold of committed commands into state. One per
// namespace of command.ts. Must not do I/O or read a clock: time arrives in ApplyContext.

import type { EpochMs, Index, Term } from "../internal/brand.ts";

export interface ApplyContext {
  /** The entry's Raft index (not the projection's own index, e.g. etcd's store index). */
  readonly index: Index;
  readonly term: Term;
  /** The leader's wall-clock time stamped into the entry. */
  readonly timeMs: EpochMs;
}

/**
 * A projection mutates its own state in place for speed (a million keys do not fit an
 * immutable fold); apply() must be deterministic in (state, command, ctx) alone, so live
 * apply and replay reach the same state. A rejected command is a result, never a throw.
 */
export interface Projection<State, Cmd, Result> {
  readonly name: string;
  /** Version of the snapshot encoding of State; bump when encodeState's shape changes. */
  readonly version: number;
  /** The command namespace this projection owns ("kv" for "kv/..."). */
  readonly namespace: string;
  initialState(): State;
  apply(state: State, command: Cmd, ctx: ApplyContext): Result;
  /** A CBOR-encodable plain value. */
  encodeState(state: State): unknown;
  decodeState(data: unknown, version: number): State;
}
