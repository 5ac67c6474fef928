// How the offline log tools show each service: one view per projection that has words of its own
// (kv_view.ts: etcd's), looked up by the command's namespace. A projection without a view is shown
// as JSON: its commands as type and fields, its results and state as they are.
// Must not hold a service's words itself: a new service adds its view file and one line in VIEWS.

import { type Command, projectionFor, type ProjectionName, type States, type UnknownCommandResult } from "../../projections/mod.ts";
import { kvView } from "./kv_view.ts";
import { commandFields, quote } from "./show.ts";

/** What a service shows in the offline tools. */
export interface ProjectionView {
  /** A command this projection owns, in one line, its type first. */
  showCommand(command: Command): string;
  /** The result of one of its commands, in one line. */
  showResult(result: unknown): string;
  /** `log replay`'s summary of its state: lines of "  label  value". */
  summary(states: States): string[];
  /** `log replay --json`'s fields for its state: [name, JSON text] pairs. */
  summaryJson(states: States, nowMs: number): [string, string][];
}

const VIEWS: { readonly [N in ProjectionName]?: ProjectionView } = { kv: kvView };

function viewOf(commandType: string): ProjectionView | undefined {
  const p = projectionFor(commandType);
  return p === undefined ? undefined : VIEWS[p.name as ProjectionName];
}

/** A command in one line: in its service's words, or as its type and fields. */
export function showCommand(c: Command): string {
  return viewOf(c.type)?.showCommand(c) ?? commandFields(c);
}

/** The result of command `c` in one line: in its service's words, or as JSON. */
export function showResult(result: unknown, c: Command): string {
  if ((result as UnknownCommandResult | null)?.type === "unknown-command") {
    return `no projection owns ${quote((result as UnknownCommandResult).commandType)}: ignored`;
  }
  return viewOf(c.type)?.showResult(result) ?? JSON.stringify(result);
}

/** Every view's summary lines, in registry order. */
export function summaryLines(states: States): string[] {
  return Object.values(VIEWS).flatMap((v) => v.summary(states));
}

/** Every view's summary fields for `log replay --json`, in registry order. */
export function summaryJson(states: States, nowMs: number): [string, string][] {
  return Object.values(VIEWS).flatMap((v) => v.summaryJson(states, nowMs));
}
