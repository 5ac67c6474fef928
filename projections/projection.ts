// What a service is to the log: one complete unit that owns its commands (their types and their
// compact form inside entries), the pure apply, its versioned snapshot encoding, the commands a new
// cluster writes for it, the commands the leader must propose because time passed, what a peer may
// propose, and its reaction to membership changes. registry.ts lists every one; applier.ts is the
// one path that feeds them entries. Must not do I/O or read a clock: time arrives in ApplyContext
// (the proposer's clock, stamped into the entry) or as the `nowMs` argument of due().

import type { EpochMs, Index, NodeId, Term } from "../internal/mod.ts";

export interface ApplyContext {
  /** The entry's Raft index (not the projection's own index, e.g. etcd's store index). */
  readonly index: Index;
  readonly term: Term;
  /**
   * The proposing member's wall-clock time stamped into the entry (0 for a membership change). The
   * member a client talked to decides, as etcd v2's receiving member computes a TTL's expiration;
   * the time travels in the entry, so every member and every replay computes the same state.
   */
  readonly timeMs: EpochMs;
}

/** A membership change as applied from a Raft conf change entry (its context names the member). */
export interface MembershipChange {
  readonly type: "add" | "remove" | "update";
  readonly id: NodeId;
  /** The member's name and peer URLs as the proposer saw them ("" and [] for a removal). */
  readonly name: string;
  readonly peerURLs: readonly string[];
}

/** Who a new cluster's first leader is, for the commands a projection writes at bootstrap. */
export interface BootstrapContext {
  readonly memberId: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

/** Every command is namespaced: "<namespace>/<verb>". */
export interface AnyCommand {
  readonly type: string;
}

/**
 * A projection mutates its own state in place for speed (a million keys do not fit an immutable
 * fold); apply() must be deterministic in (state, command, ctx) alone, so live apply and replay
 * reach the same state. A rejected command is a result, never a throw.
 */
export interface Projection<State, Cmd extends AnyCommand, Result> {
  /** The name of its part in a snapshot; never changes once data dirs hold it. */
  readonly name: string;
  /** The command namespace it owns ("kv" for "kv/set"). */
  readonly namespace: string;
  /** Version of the snapshot encoding of State; bump when encodeState's shape changes. */
  readonly version: number;
  initialState(): State;
  apply(state: State, command: Cmd, ctx: ApplyContext): Result;
  /** A CBOR-encodable plain value. */
  encodeState(state: State): unknown;
  decodeState(data: unknown, version: number): State;

  /** The command's form inside an entry: an array whose first element is the type. */
  commandToWire(command: Cmd): unknown[];
  /** The inverse of commandToWire for an array whose first element is one of this namespace's types; throws a TypeError on a shape no command has. */
  commandFromWire(wire: readonly unknown[]): Cmd;
  /**
   * Why a member may not forward this decoded command to the leader (fields of the wrong type, or a
   * command only the leader proposes), or undefined when it may. The fields are not yet trusted.
   */
  refuseFromPeer(command: Cmd): string | undefined;

  /** The commands a new single-member cluster's first leader proposes once it leads (etcd writes its /0 keys so). */
  bootstrap(ctx: BootstrapContext): Cmd[];
  /**
   * The commands the leader must propose because time passed (TTL expiry, presence, leases), a pure
   * function of the state and the leader's clock. The leader proposes them with that clock in the
   * entry, and asks again only once they are applied or failed.
   */
  due(state: State, nowMs: EpochMs): Cmd[];
  /** Folds a membership change applied at ctx.index (after the members projection has). */
  onMembershipChange(state: State, change: MembershipChange, ctx: ApplyContext): void;
}
