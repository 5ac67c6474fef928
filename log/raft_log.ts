// The Raft core's view of the log: stable entries in LogStorage plus the unstable tail (and
// possibly an unstable snapshot) not yet persisted by the driver, with the committed / applying /
// applied cursors. Port of etcd-io/raft log.go and log_unstable.go. Must not write to storage:
// the driver persists what Ready hands it and reports back through advance().

import { assert } from "../internal/mod.ts";
import type { Index, Term } from "../internal/mod.ts";
import { CompactedError, type LogStorage, UnavailableError } from "./storage.ts";
import type { Entry, Snapshot } from "./types.ts";

/** term() results that are not terms. Sentinels instead of exceptions: term lookups are hot. */
export const TERM_COMPACTED = -1;
export const TERM_UNAVAILABLE = -2;

/** Payload bytes of an entry, the unit of every byte limit in the core. */
export function entryBytes(e: Entry): number {
  return e.data.byteLength;
}

export function entriesBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < ents.length; i++) n += ents[i].data.byteLength;
  return n;
}

/** The longest prefix of `ents` within `maxBytes` of payload, but at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = ents[0].data.byteLength;
  let n = 1;
  for (; n < ents.length; n++) {
    size += ents[n].data.byteLength;
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * Entries and a snapshot that the driver has not yet persisted. `offset` is the index of
 * entries[0]; entries from `offsetInProgress` on have not been handed out in a Ready yet.
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: Index;
  snapshotInProgress = false;
  offsetInProgress: Index;

  constructor(offset: Index) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** First index if the unstable part holds a snapshot, else -1. */
  maybeFirstIndex(): Index {
    return this.snapshot !== undefined ? this.snapshot.metadata.index + 1 : -1;
  }

  /** Last index if there are unstable entries or a snapshot, else -1. */
  maybeLastIndex(): Index {
    const l = this.entries.length;
    if (l !== 0) return this.offset + l - 1;
    if (this.snapshot !== undefined) return this.snapshot.metadata.index;
    return -1;
  }

  /** Term of entry i if the unstable part knows it, else -1. */
  maybeTerm(i: Index): Term {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== undefined && s.metadata.index === i ? s.metadata.term : -1;
    }
    const k = i - this.offset;
    return k < this.entries.length ? this.entries[k].term : -1;
  }

  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (this.entries.length === inProgress) return [];
    return this.entries.slice(inProgress);
  }

  hasNextEntries(): boolean {
    return this.entries.length > this.offsetInProgress - this.offset;
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshot === undefined || this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything handed out so far as being persisted, so the next Ready skips it. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.entries[this.entries.length - 1].index + 1;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * Entries up to (index, term) are durable. Ignored when the entry was overwritten in the
   * meantime (term mismatch) or is not in the unstable part: the driver's write raced a truncation.
   */
  stableTo(index: Index, term: Term): void {
    const t = this.maybeTerm(index);
    if (t < 0 || index < this.offset || t !== term) return;
    const num = index + 1 - this.offset;
    this.entries = num === this.entries.length ? [] : this.entries.slice(num);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(index: Index): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0].index;
    if (from === this.offset + this.entries.length) {
      // The common case: a plain append. Push in place, no new array.
      for (let i = 0; i < ents.length; i++) this.entries.push(ents[i]);
    } else if (from <= this.offset) {
      // Replaces the whole unstable part (and possibly some stable entries, which the driver
      // must then overwrite: Ready entries always win over what is stored at the same index).
      this.entries = ents.slice();
      this.offset = from;
      this.offsetInProgress = from;
    } else {
      // Truncate to from - 1, then append.
      const kept = this.entries.slice(0, from - this.offset);
      for (let i = 0; i < ents.length; i++) kept.push(ents[i]);
      this.entries = kept;
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
    }
  }

  slice(lo: Index, hi: Index): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi,
      `unstable.slice[${lo},${hi}) out of bounds [${this.offset},${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  /** Highest index known to be durable on a quorum. */
  committed: Index;
  /** Highest index handed to the driver for application (in a Ready not yet advanced). */
  applying: Index;
  /** Highest index the driver has applied (advance() after the Ready that carried it). */
  applied: Index;
  /** Byte budget of committedEntries in one Ready. */
  readonly maxApplyingBytes: number;

  constructor(storage: LogStorage, maxApplyingBytes: number) {
    this.storage = storage;
    this.maxApplyingBytes = maxApplyingBytes;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): Index {
    const i = this.unstable.maybeFirstIndex();
    return i >= 0 ? i : this.storage.firstIndex();
  }

  lastIndex(): Index {
    const i = this.unstable.maybeLastIndex();
    return i >= 0 ? i : this.storage.lastIndex();
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    assert(t >= 0, `unexpected error getting the last term (${t})`);
    return t;
  }

  /** Term of entry i, or TERM_COMPACTED / TERM_UNAVAILABLE. i = firstIndex-1 (snapshot) is valid. */
  term(i: Index): Term {
    const t = this.unstable.maybeTerm(i);
    if (t >= 0) return t;
    if (i + 1 < this.firstIndex()) return TERM_COMPACTED;
    if (i > this.lastIndex()) return TERM_UNAVAILABLE;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError) return TERM_COMPACTED;
      if (err instanceof UnavailableError) return TERM_UNAVAILABLE;
      throw err;
    }
  }

  /** Term of entry i, or 0 when it is out of bounds. */
  termOrZero(i: Index): Term {
    const t = this.term(i);
    return t < 0 ? 0 : t;
  }

  matchTerm(i: Index, t: Term): boolean {
    return this.term(i) === t;
  }

  /**
   * A leader's append: if our entry at `index` has `logTerm`, drops any conflicting suffix,
   * appends what is new and advances commit to min(committed, last new index).
   * Returns the last index of the appended slice, or -1 when the consistency check fails.
   */
  maybeAppend(index: Index, logTerm: Term, committed: Index, ents: readonly Entry[]): Index {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      const offset = index + 1;
      assert(ci - offset <= ents.length, `index ${ci - offset} out of range [${ents.length}]`);
      this.append(ci === offset ? ents : ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends (truncating any suffix from ents[0].index). Returns the new last index. */
  append(ents: readonly Entry[]): Index {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    assert(after >= this.committed, `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry in `ents` that is not in our log with the same term (0 if all
   * match). Entries must be contiguous.
   */
  findConflict(ents: readonly Entry[]): Index {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i];
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest (index, term) with index <= `index` and term <= `term` in our log: where a
   * leader whose log has `term` at `index` can match us at best. On an unknown term (compacted)
   * returns (index, 0), a possible match.
   */
  findConflictByTerm(index: Index, term: Term): [Index, Term] {
    for (; index > 0; index--) {
      const ours = this.term(index);
      if (ours < 0) return [index, 0];
      if (ours <= term) return [index, ours];
    }
    return [0, 0];
  }

  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== undefined;
  }

  /** A snapshot is waiting to be persisted (handed out or not): nothing may be applied meanwhile. */
  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Highest index that may be applied: committed, or only the stable part of it. */
  maxAppliableIndex(allowUnstable: boolean): Index {
    return allowUnstable ? this.committed : Math.min(this.committed, this.unstable.offset - 1);
  }

  /** Committed entries not yet handed out for application, within the per-Ready byte budget. */
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyingBytes);
  }

  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying < this.maxAppliableIndex(allowUnstable);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  acceptApplying(index: Index): void {
    assert(index <= this.committed, `applying(${index}) is out of range [committed(${this.committed})]`);
    this.applying = Math.max(this.applying, index);
  }

  appliedTo(index: Index): void {
    if (index === 0) return;
    assert(index <= this.committed && index >= this.applied,
      `applied(${index}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = index;
    this.applying = Math.max(this.applying, index);
  }

  stableTo(index: Index, term: Term): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: Index): void {
    this.unstable.stableSnapTo(index);
  }

  commitTo(toCommit: Index): void {
    // Never decrease commit.
    if (this.committed < toCommit) {
      assert(this.lastIndex() >= toCommit,
        `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`);
      this.committed = toCommit;
    }
  }

  /** Leader commit: only an entry of the leader's own term commits by counting (Figure 8). */
  maybeCommit(maxIndex: Index, term: Term): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries from i to the end, at most maxBytes (at least one). Throws CompactedError. */
  entries(i: Index, maxBytes: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxBytes);
  }

  /** Whether a candidate whose log ends at (lastIndex, term) is at least as up to date as us. */
  isUpToDate(lastIndex: Index, term: Term): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) within maxBytes (at least one). Throws CompactedError below firstIndex. */
  slice(lo: Index, hi: Index, maxBytes: number): Entry[] {
    assert(lo <= hi, `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError(`entries from ${lo} are compacted (first index ${fi})`);
    assert(hi <= this.lastIndex() + 1, `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    if (lo >= off) return limitSize(this.unstable.slice(lo, hi), maxBytes);
    const cut = Math.min(hi, off);
    let ents: Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxBytes);
    } catch (err) {
      if (err instanceof UnavailableError) assert(false, `entries[${lo}:${cut}) is unavailable from storage`);
      throw err;
    }
    if (hi <= off || ents.length < cut - lo) return ents;
    const size = entriesBytes(ents);
    if (size >= maxBytes) return ents;
    const rest = limitSize(this.unstable.slice(off, hi), maxBytes - size);
    if (rest.length === 1 && size + entryBytes(rest[0]) > maxBytes) return ents;
    // concat, not push: the storage may hand out an array it keeps.
    return ents.concat(rest);
  }

  /** Every entry from firstIndex (tests and debugging). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Infinity);
  }
}
