// The offline replay engine behind `coreplane log dump|replay|history|verify`: folds a log's
// entries, conf changes included, into projection states through projections/applier.ts, the same
// Applier the live member uses, starting from the newest usable snapshot or from empty. Reports
// each entry with its decoded envelope and its result when asked.
// Must not write anything, print anything (commands do), or special-case a command type.

import type { Index } from "../../internal/mod.ts";
import { type ConfChange, decodeConfChange, type Entry, EntryType } from "../../log/mod.ts";
import { Applier, type Command, CorruptEntryError, decodeEntry, type Envelope, type States } from "../../projections/mod.ts";
import type { LogSource } from "./source.ts";

/** The asked index cannot be reached from what the log still holds. */
export class ReplayRangeError extends Error {
  override name = "ReplayRangeError";
  readonly code = "cli/replay-range";
}

/** Where a replay that must know the state after `at` starts: a snapshot, or empty at index 0. */
export interface ReplayStart {
  readonly index: Index;
  readonly snapshot: boolean;
}

/**
 * The newest snapshot S <= at whose following entries are still stored (S >= firstIndex - 1),
 * else index 0 when the log reaches back to 1, else undefined (the state at `at` is lost).
 */
export function replayStartFor(src: LogSource, at: Index): ReplayStart | undefined {
  for (let i = src.snapshots.length - 1; i >= 0; i--) {
    const s = src.snapshots[i];
    if (s.index <= at && s.index >= src.firstIndex - 1) return { index: s.index, snapshot: true };
  }
  if (src.firstIndex <= 1) return { index: 0, snapshot: false };
  return undefined;
}

/** The lowest index whose state can be rebuilt (-1 when none can). */
export function earliestReplayable(src: LogSource): Index {
  if (src.firstIndex <= 1) return 0;
  const usable = src.snapshots.filter((s) => s.index >= src.firstIndex - 1 && s.index <= src.lastIndex);
  return usable.length > 0 ? usable[0].index : -1;
}

/** A person-readable account of what the source holds and what can be replayed. */
export function describeAvailable(src: LogSource): string {
  const held = src.lastIndex >= src.firstIndex ? `entries ${src.firstIndex}..${src.lastIndex}` : "no entries";
  const snaps = src.snapshots.length > 0 ? `snapshots at ${src.snapshots.map((s) => s.index).join(", ")}` : "no snapshot";
  const e = earliestReplayable(src);
  const range = e < 0
    ? "no index can be rebuilt (no snapshot meets the first stored entry)"
    : `states ${e}..${src.lastIndex} can be rebuilt`;
  return `${src.description} holds ${held} and ${snaps}; ${range}`;
}

/** Throws ReplayRangeError when the state after `at` cannot be rebuilt from `src`. */
export function checkReplayable(src: LogSource, at: Index): ReplayStart {
  if (at > src.lastIndex) {
    throw new ReplayRangeError(`index ${at} is beyond the end of the log: ${describeAvailable(src)}`);
  }
  const start = replayStartFor(src, at);
  if (!start) {
    const why = src.snapshots.length === 0
      ? `entries before ${src.firstIndex} were compacted away and no snapshot was kept`
      : `entries before ${src.firstIndex} were compacted away and no snapshot at or below ${at} meets the stored entries`;
    throw new ReplayRangeError(`the state at index ${at} is no longer available: ${why}. ${describeAvailable(src)}`);
  }
  return start;
}

/** One entry as the engine saw it. */
export interface EntryView {
  readonly entry: Entry;
  readonly kind: "command" | "noop" | "conf-change";
  readonly envelope?: Envelope<Command>;
  readonly confChange?: ConfChange;
  /** applyCommand's result; undefined for no-ops, conf changes, and when the state was unknown. */
  readonly result?: unknown;
  /** False when the state before this entry is unknown (compacted, no snapshot reaches it). */
  readonly known: boolean;
}

export interface WalkOptions {
  /** First entry to visit; entries before it (from the start point) are applied silently. */
  readonly from: Index;
  /** Last entry applied and visited. */
  readonly to: Index;
  readonly visit?: (v: EntryView) => void;
  /** Called after every page of a few thousand entries with entries applied so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called when the states become known (at the start point or at a snapshot met on the way), before the next entry. */
  readonly onKnown?: (states: States, index: Index) => void;
  /** Indexes after whose entry `onState` is called with the states (verify compares snapshots there). */
  readonly stateAt?: ReadonlySet<Index>;
  readonly onState?: (index: Index, states: States) => void;
}

export interface WalkResult {
  /** The states after `applied`; undefined if they never became known. */
  readonly states: States | undefined;
  readonly applied: Index;
  /** Where applying started: the snapshot loaded first (or 0 for empty), or undefined when not known. */
  readonly start: ReplayStart | undefined;
  /** Entries read and decoded (including the silent ones before `from`). */
  readonly entries: number;
}

/**
 * Applies entries from the best start for `from - 1` through `to`. A missing index or a corrupt
 * entry throws CorruptEntryError naming it. When the state before `from` is unknown, entries are
 * still visited (without results) until one follows a stored snapshot, which is loaded then.
 */
export function walk(src: LogSource, opts: WalkOptions): WalkResult {
  const { from, to, visit, onProgress, stateAt, onState } = opts;
  let start = replayStartFor(src, from - 1);
  let applier: Applier | undefined;
  let pos: Index;
  if (start) {
    applier = start.snapshot ? Applier.fromSnapshot(src.snapshotData(start.index), start.index) : new Applier();
    pos = start.index + 1;
    opts.onKnown?.(applier.states, start.index);
  } else {
    pos = Math.max(from, src.firstIndex);
  }
  const snapAt = new Set(src.snapshots.map((s) => s.index));
  const total = Math.max(0, to - pos + 1);
  let expect = pos;
  let n = 0;
  for (const page of src.pages(pos, to)) {
    for (let k = 0; k < page.length; k++) {
      const e = page[k];
      if (e.index !== expect) throw new CorruptEntryError(expect, `missing (the next stored entry is ${e.index})`);
      if (applier === undefined && snapAt.has(e.index - 1)) {
        applier = Applier.fromSnapshot(src.snapshotData(e.index - 1), e.index - 1);
        start = { index: e.index - 1, snapshot: true };
        opts.onKnown?.(applier.states, start.index);
      }
      const show = visit !== undefined && e.index >= from;
      if (applier !== undefined) {
        // The same path as the live member: conf changes fold into the members projection too.
        const a = applier.apply(e);
        if (show) {
          if (a.kind === "conf-change") visit({ entry: e, kind: "conf-change", confChange: a.confChange, known: true });
          else if (a.kind === "noop") visit({ entry: e, kind: "noop", known: true });
          else visit({ entry: e, kind: "command", envelope: a.envelope, result: a.result, known: true });
        }
        if (stateAt?.has(e.index)) onState?.(e.index, applier.states);
      } else if (e.type === EntryType.ConfChange) {
        let cc: ConfChange;
        try {
          cc = decodeConfChange(e.data);
        } catch (err) {
          throw new CorruptEntryError(e.index, `conf change does not decode (${(err as Error).message})`);
        }
        if (show) visit({ entry: e, kind: "conf-change", confChange: cc, known: false });
      } else if (e.data.length === 0) {
        if (show) visit({ entry: e, kind: "noop", known: false });
      } else {
        const env = decodeEntry(e.data, e.index);
        if (show) visit({ entry: e, kind: "command", envelope: env, known: false });
      }
      expect++;
    }
    n += page.length;
    onProgress?.(n, total);
  }
  onProgress?.(n, total);
  if (expect <= to && to <= src.lastIndex) throw new CorruptEntryError(expect, "missing (the log has a gap here)");
  return { states: applier?.states, applied: expect - 1, start, entries: n };
}
