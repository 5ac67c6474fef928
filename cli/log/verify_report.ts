// `coreplane log verify` as a function over a LogSource: every entry's CRC and decoding, index
// continuity, terms that never decrease, the hard state against the log, and each snapshot
// against a replay of the entries that led to it (same encoded bytes), where the log still
// reaches that far back. Returns a report; the command prints it.
// Must not write anything or print anything.

import type { Index } from "../../internal/mod.ts";
import { decodeConfChange, EntryType } from "../../log/mod.ts";
import { CorruptEntryError, decodeEntry, decodeSnapshot, encodeSnapshot } from "../../projections/mod.ts";
import type { LogSource } from "./source.ts";
import { walk } from "./walk.ts";

export interface SnapshotCheck {
  readonly index: Index;
  /** The stored bytes pass their CRC and decode. */
  readonly decodes: boolean;
  /** true/false: replay reached it and did/did not give the same bytes; null: could not be checked. */
  readonly matchesReplay: boolean | null;
  readonly note: string;
}

export interface VerifyReport {
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  readonly commitIndex: Index;
  /** Entries whose CRC and decoding were checked. */
  readonly entriesChecked: number;
  readonly snapshots: SnapshotCheck[];
  /** The first damaged or missing entry, if any. */
  readonly badIndex?: Index;
  /** Every problem found, one sentence each. */
  readonly problems: string[];
  /** What was fine, one sentence each. */
  readonly checks: string[];
}

export function verifyLog(src: LogSource, onProgress?: (done: number, total: number, phase: string) => void): VerifyReport {
  const problems: string[] = [];
  const checks: string[] = [];
  const first = src.firstIndex;
  const last = src.lastIndex;
  let badIndex: Index | undefined;

  // 1. Every stored entry: continuity, terms, CRC and decoding.
  let expect = first;
  let prevTerm = 0;
  let n = 0;
  const total = Math.max(0, last - first + 1);
  for (const e of src.entries(first, last)) {
    if (e.index !== expect) {
      badIndex = expect;
      problems.push(`entry ${expect} is missing (the next stored entry is ${e.index})`);
      break;
    }
    if (e.term < prevTerm) {
      badIndex = e.index;
      problems.push(`entry ${e.index} has term ${e.term}, lower than the term ${prevTerm} before it`);
      break;
    }
    try {
      if (e.type === EntryType.ConfChange) {
        try {
          decodeConfChange(e.data);
        } catch (err) {
          throw new CorruptEntryError(e.index, `conf change does not decode (${(err as Error).message})`);
        }
      } else if (e.type !== EntryType.Normal) {
        throw new CorruptEntryError(e.index, `unknown entry type ${e.type}`);
      } else if (e.data.length > 0) {
        decodeEntry(e.data, e.index);
      }
    } catch (err) {
      if (!(err instanceof CorruptEntryError)) throw err;
      badIndex = e.index;
      problems.push(err.message);
      break;
    }
    prevTerm = e.term;
    expect++;
    if (++n % 65536 === 0) onProgress?.(n, total, "checking entries");
  }
  if (badIndex === undefined) {
    if (total === 0) checks.push("the log holds no entries");
    else checks.push(`entries ${first}..${last} (${n}): every CRC verifies, every entry decodes, indexes are continuous, terms never decrease`);
  }
  if (src.commitIndex > last) {
    problems.push(`the hard state's commit index ${src.commitIndex} is beyond the last entry ${last}`);
  } else {
    checks.push(`commit index ${src.commitIndex} is within the log`);
  }

  // 2. Snapshots: their own CRC, then replay from the oldest available point and compare bytes.
  const snaps: SnapshotCheck[] = [];
  const decodable = new Set<Index>();
  for (const s of src.snapshots) {
    try {
      decodeSnapshot(src.snapshotData(s.index));
      decodable.add(s.index);
    } catch (err) {
      problems.push(`snapshot ${s.index} is damaged: ${(err as Error).message}`);
    }
  }
  const goodUpTo = badIndex === undefined ? last : badIndex - 1;
  // The oldest point replay can start from: index 0 when the log reaches back to 1, else the oldest snapshot the entries meet.
  const startAt = first <= 1 ? 0 : src.snapshots.find((s) => s.index >= first - 1 && decodable.has(s.index))?.index;
  const targets = src.snapshots.filter((s) => decodable.has(s.index) && startAt !== undefined && s.index > startAt && s.index <= goodUpTo);
  const matched = new Map<Index, boolean>();
  if (targets.length > 0) {
    const want = new Set(targets.map((s) => s.index));
    const to = targets[targets.length - 1].index;
    walk(src, {
      from: startAt! + 1,
      to,
      stateAt: want,
      onState: (i, states) => {
        const stored = src.snapshotData(i);
        matched.set(i, bytesEqual(encodeSnapshot(states), stored));
      },
      onProgress: (d, t) => onProgress?.(d, t, "replaying to the snapshots"),
    });
  }
  for (const s of src.snapshots) {
    const from = startAt === 0 ? "index 1" : `snapshot ${startAt}`;
    let check: SnapshotCheck;
    if (!decodable.has(s.index)) {
      check = { index: s.index, decodes: false, matchesReplay: null, note: "damaged" };
    } else if (matched.has(s.index)) {
      const ok = matched.get(s.index)!;
      check = {
        index: s.index,
        decodes: true,
        matchesReplay: ok,
        note: ok ? `replaying from ${from} gives the same encoded state` : `replaying from ${from} gives a DIFFERENT encoded state`,
      };
      if (!ok) problems.push(`snapshot ${s.index} differs from the state replayed from ${from}: the member would restore a state its own log does not produce`);
    } else if (s.index === startAt) {
      check = { index: s.index, decodes: true, matchesReplay: null, note: `CRC verifies; it is the oldest point replay can start from (entries before ${first} were compacted), so it cannot be compared` };
    } else if (s.index < first - 1) {
      check = { index: s.index, decodes: true, matchesReplay: null, note: `CRC verifies; the entries after it (before ${first}) were compacted, so it is not used and cannot be compared` };
    } else if (s.index > goodUpTo) {
      check = { index: s.index, decodes: true, matchesReplay: null, note: `CRC verifies; not compared because the log is damaged before it` };
    } else {
      check = { index: s.index, decodes: true, matchesReplay: null, note: "CRC verifies; no earlier starting point to compare from" };
    }
    snaps.push(check);
    if (check.decodes) checks.push(`snapshot ${s.index}: ${check.note}`);
  }
  return { firstIndex: first, lastIndex: last, commitIndex: src.commitIndex, entriesChecked: n, snapshots: snaps, badIndex, problems, checks };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
