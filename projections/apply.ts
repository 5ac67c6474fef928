// The one apply path: routes a decoded command to the projection that owns its namespace. Used by
// the live node and by offline replay alike, so both reach the same state. Must not do I/O, read
// a clock, or special-case replay.

import { assert } from "../internal/assert.ts";
import type { ApplyContext, Projection } from "./projection.ts";
import { kvProjection } from "./kv.ts";
import { membersProjection } from "./members.ts";
import type { Command } from "./command.ts";
import { commandNamespace } from "./command.ts";

// deno-lint-ignore no-explicit-any
type AnyProjection = Projection<any, any, any>;

/** Every projection, in a fixed order (the snapshot order). Later issues append here. */
export const projections: readonly AnyProjection[] = [kvProjection, membersProjection];

const byNamespace = new Map<string, AnyProjection>(projections.map((p) => [p.namespace, p]));
assert(byNamespace.size === projections.length, "two projections claim one namespace");

/** The state of every projection, keyed by projection name. */
export type States = Record<string, unknown>;

export function createStates(): States {
  const s: States = {};
  for (const p of projections) s[p.name] = p.initialState();
  return s;
}

/** The result of a command that no projection owns: recorded, never thrown, so replay matches. */
export interface UnknownCommandResult {
  readonly type: "unknown-command";
  readonly commandType: string;
}

export function applyCommand(states: States, command: Command, ctx: ApplyContext): unknown {
  const type = typeof (command as { type?: unknown })?.type === "string" ? (command as { type: string }).type : "";
  const p = byNamespace.get(commandNamespace(type));
  if (!p) return { type: "unknown-command", commandType: type } satisfies UnknownCommandResult;
  return p.apply(states[p.name], command, ctx);
}
