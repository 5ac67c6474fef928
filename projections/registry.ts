// Every projection, typed: the one list a service is added to. The types derived from it give a
// caller a projection's state and a command's result with their real types (no casts at the call
// site). The order is the snapshot order
// (the bytes of a snapshot depend on it: `log verify` compares them), so new ones go last. Must not hold behaviour beyond looking projections up.

import { assert } from "../internal/mod.ts";
import type { AnyCommand, BootstrapContext, Projection } from "./projection.ts";
import { kvProjection } from "./kv/projection.ts";
import { membersProjection } from "./members/members.ts";

/** Adding a service: one module under projections/, one line here, its API routes in api/. */
export const registry = Object.freeze({
  kv: kvProjection,
  members: membersProjection,
});

export type Registry = typeof registry;
export type ProjectionName = keyof Registry;

// deno-lint-ignore no-explicit-any
type Any = any;
export type StateOf<N extends ProjectionName> = Registry[N] extends Projection<infer S, Any, Any> ? S : never;
export type CommandOf<N extends ProjectionName> = Registry[N] extends Projection<Any, infer C, Any> ? C : never;
export type ResultOf<N extends ProjectionName> = Registry[N] extends Projection<Any, Any, infer R> ? R : never;

/** Every command any projection owns. */
export type Command = { [N in ProjectionName]: CommandOf<N> }[ProjectionName];
export type CommandType = Command["type"];
/** The result type of command C: its owning projection's result. */
export type ResultFor<C extends Command> = { [N in ProjectionName]: C extends CommandOf<N> ? ResultOf<N> : never }[ProjectionName];
/** The state of every projection, by name. */
export type States = { -readonly [N in ProjectionName]: StateOf<N> };

/** The result of a command that no projection owns (an entry from a newer version): recorded, never thrown, so replay matches. */
export interface UnknownCommandResult {
  readonly type: "unknown-command";
  readonly commandType: string;
}

type AnyProjection = Projection<unknown, AnyCommand, unknown>;

/** In registry order (the snapshot order). */
export const projectionList: readonly AnyProjection[] = Object.values(registry) as readonly AnyProjection[];
export const projectionNames = Object.keys(registry) as ProjectionName[];

const byNamespace = new Map<string, AnyProjection>(projectionList.map((p) => [p.namespace, p]));
assert(byNamespace.size === projectionList.length, "two projections claim one namespace");
for (const [key, p] of Object.entries(registry)) assert(key === p.name, `registry key ${key} is not the projection's name ${p.name}`);

/** The namespace of a command type: "kv" for "kv/set". */
export function commandNamespace(type: string): string {
  const slash = type.indexOf("/");
  return slash < 0 ? type : type.slice(0, slash);
}

/** The projection that owns a command type, or undefined. */
export function projectionFor(type: string): AnyProjection | undefined {
  return byNamespace.get(commandNamespace(type));
}

export function createStates(): States {
  const s: Record<string, unknown> = {};
  for (const p of projectionList) s[p.name] = p.initialState();
  return s as States;
}

/** The commands a new single-member cluster's first leader proposes, every projection's in registry order. */
export function bootstrapCommands(ctx: BootstrapContext): Command[] {
  return projectionList.flatMap((p) => p.bootstrap(ctx) as Command[]);
}
