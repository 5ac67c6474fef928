// The ONE apply path: folds committed entries into every projection's state, in order. The live
// member, its restart, a snapshot install and every offline tool (log dump, replay, history, export,
// verify) go through an Applier, so they reach the same state from the same log. It decodes each
// entry (or takes the proposer's own decoded command), routes a command to the projection owning its
// namespace, turns a conf change entry into a MembershipChange every projection folds (members
// first), and tells subscribers (api/'s watch hub) about each result and each wholesale restore.
// Must not do I/O, read a clock, touch Raft, or special-case replay or a service.

import { assert } from "../internal/mod.ts";
import type { Index } from "../internal/mod.ts";
import { decodeConfChange } from "../log/mod.ts";
import { type ConfChange, type Entry, EntryType } from "../log/mod.ts";
import { decodeEntry } from "./entry.ts";
import { CorruptEntryError, type Envelope } from "./envelope.ts";
import { membershipChangeOf } from "./members/members.ts";
import type { ApplyContext, MembershipChange } from "./projection.ts";
import {
  type Command,
  createStates,
  type ProjectionName,
  projectionFor,
  projectionList,
  registry,
  type ResultOf,
  type StateOf,
  type States,
  type UnknownCommandResult,
} from "./registry.ts";
import { decodeSnapshot } from "./snapshot.ts";

/** What applying one entry did. */
export type Applied =
  | { readonly kind: "noop" }
  | { readonly kind: "command"; readonly envelope: Envelope<Command>; readonly result: unknown }
  | { readonly kind: "conf-change"; readonly confChange: ConfChange; readonly change: MembershipChange };

/** Told about one projection's results as they are applied, and when its state is replaced wholesale. */
export interface Subscriber<N extends ProjectionName> {
  onResult(result: ResultOf<N>): void;
  /** The state was replaced (a snapshot from the leader): the changes in between were never announced one by one. */
  onRestore?(state: StateOf<N>): void;
}

const MEMBERS = "members";

export class Applier {
  #states: States;
  #applied: Index;
  readonly #subscribers = new Map<string, Subscriber<ProjectionName>[]>();

  /** From empty states at index 0, or from decoded states at `applied` (a snapshot's index). */
  constructor(states: States = createStates(), applied: Index = 0) {
    this.#states = states;
    this.#applied = applied;
  }

  /** From a snapshot's bytes (projections/snapshot.ts) taken at `index`; throws CorruptSnapshotError. */
  static fromSnapshot(bytes: Uint8Array, index: Index): Applier {
    return new Applier(decodeSnapshot(bytes), index);
  }

  get applied(): Index {
    return this.#applied;
  }

  /** Every projection's live state (read-only use; encodeSnapshot takes it). */
  get states(): States {
    return this.#states;
  }

  state<N extends ProjectionName>(name: N): StateOf<N> {
    return this.#states[name];
  }

  subscribe<N extends ProjectionName>(name: N, subscriber: Subscriber<N>): void {
    const list = this.#subscribers.get(name) ?? [];
    list.push(subscriber as unknown as Subscriber<ProjectionName>);
    this.#subscribers.set(name, list);
  }

  /** Replaces every state with a snapshot's (decoded by the caller, e.g. before it was accepted). */
  restore(states: States, index: Index): void {
    this.#states = states;
    this.#applied = index;
    for (const [name, subs] of this.#subscribers) {
      const st = this.#states[name as ProjectionName];
      for (const s of subs) s.onRestore?.(st as never);
    }
  }

  /**
   * Applies the next entry (its index must be applied + 1). `own` is the envelope the proposer
   * encoded into these very bytes, which it need not decode again. A record that does not decode
   * throws CorruptEntryError naming its index.
   */
  apply(e: Entry, own?: Envelope<Command>): Applied {
    assert(e.index === this.#applied + 1, `apply ${e.index} after ${this.#applied}`);
    let out: Applied;
    if (e.type === EntryType.ConfChange) {
      let cc: ConfChange;
      let change: MembershipChange;
      try {
        cc = decodeConfChange(e.data);
        change = membershipChangeOf(cc);
      } catch (err) {
        throw new CorruptEntryError(e.index, `conf change does not decode (${(err as Error).message})`);
      }
      const ctx: ApplyContext = { index: e.index, term: e.term, timeMs: 0 };
      const all = this.#states as unknown as Record<string, unknown>;
      // The members projection first: the others may read the new membership.
      registry.members.onMembershipChange(this.#states.members, change, ctx);
      for (const p of projectionList) if (p.name !== MEMBERS) p.onMembershipChange(all[p.name], change, ctx);
      out = { kind: "conf-change", confChange: cc, change };
    } else if (e.data.length === 0) {
      out = { kind: "noop" };
    } else {
      const env = own ?? decodeEntry(e.data, e.index);
      out = { kind: "command", envelope: env, result: this.#applyCommand(env, e) };
    }
    this.#applied = e.index;
    return out;
  }

  #applyCommand(env: Envelope<Command>, e: Entry): unknown {
    const type = typeof (env.command as { type?: unknown })?.type === "string" ? env.command.type : "";
    const p = projectionFor(type);
    if (!p) return { type: "unknown-command", commandType: type } satisfies UnknownCommandResult;
    const result = p.apply((this.#states as unknown as Record<string, unknown>)[p.name], env.command, {
      index: e.index,
      term: e.term,
      timeMs: env.timeMs,
    });
    const subs = this.#subscribers.get(p.name);
    if (subs) for (const s of subs) s.onResult(result as never);
    return result;
  }

  /** The commands the leader must propose at `nowMs`, by projection (projections with none are left out). */
  due(nowMs: number): { readonly projection: ProjectionName; readonly commands: Command[] }[] {
    const out: { projection: ProjectionName; commands: Command[] }[] = [];
    const all = this.#states as unknown as Record<string, unknown>;
    for (const p of projectionList) {
      const commands = p.due(all[p.name], nowMs) as Command[];
      if (commands.length > 0) out.push({ projection: p.name as ProjectionName, commands });
    }
    return out;
  }
}
