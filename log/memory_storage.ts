// The in-memory LogStorage twin, with the write side a driver needs (append, applySnapshot,
// createSnapshot, compact, setHardState, setConfState), like etcd-io/raft's MemoryStorage. Used by
// tests and the simulator; the contract suite runs it against node/storage_sqlite.ts.
// Must not be used for durable data, and must not do I/O.

import { assert } from "../internal/mod.ts";
import type { Index, Term } from "../internal/mod.ts";
import {
  CompactedError,
  type InitialState,
  type LogStorage,
  SnapshotOutOfDateError,
  UnavailableError,
} from "./storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "./types.ts";

const EMPTY = new Uint8Array(0);

export class MemoryStorage implements LogStorage {
  #hardState: HardState = { term: 0, vote: "", commit: 0 };
  #snapshot: Snapshot = {
    metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    data: EMPTY,
  };
  /** ents[0] is a dummy standing for the snapshot (its index and term); real entries follow. */
  #ents: Entry[] = [{ term: 0, index: 0, type: 0, data: EMPTY }];

  initialState(): InitialState {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  /** Records the membership (bootstrap, and the result of each applied conf change). */
  setConfState(cs: ConfState): void {
    const m = this.#snapshot.metadata;
    this.#snapshot = { metadata: { index: m.index, term: m.term, confState: cs }, data: this.#snapshot.data };
  }

  entries(lo: Index, hi: Index, maxBytes: number): Entry[] {
    const offset = this.#ents[0].index;
    if (lo <= offset) throw new CompactedError(`entry ${lo} is compacted (snapshot at ${offset})`);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(`entries up to ${hi - 1} beyond last ${this.lastIndex()}`);
    if (this.#ents.length === 1) throw new UnavailableError("no entries");
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo - offset; i < hi - offset; i++) {
      const e = this.#ents[i];
      size += e.data.byteLength;
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: Index): Term {
    const offset = this.#ents[0].index;
    if (i < offset) throw new CompactedError(`term of ${i} is compacted (snapshot at ${offset})`);
    if (i - offset >= this.#ents.length) throw new UnavailableError(`term of ${i} beyond last ${this.lastIndex()}`);
    return this.#ents[i - offset].term;
  }

  firstIndex(): Index {
    return this.#ents[0].index + 1;
  }

  lastIndex(): Index {
    return this.#ents[0].index + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Replaces the whole log by the snapshot (a follower catching up). */
  applySnapshot(snap: Snapshot): void {
    if (this.#snapshot.metadata.index >= snap.metadata.index) {
      throw new SnapshotOutOfDateError(`snapshot ${snap.metadata.index} is older than ${this.#snapshot.metadata.index}`);
    }
    this.#snapshot = snap;
    this.#ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 0, data: EMPTY }];
  }

  /** Makes a snapshot of the state at applied index i (the caller supplies the data). */
  createSnapshot(i: Index, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.#snapshot.metadata.index) {
      throw new SnapshotOutOfDateError(`snapshot ${i} is not newer than ${this.#snapshot.metadata.index}`);
    }
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    const offset = this.#ents[0].index;
    this.#snapshot = {
      metadata: { index: i, term: this.#ents[i - offset].term, confState: cs ?? this.#snapshot.metadata.confState },
      data,
    };
    return this.#snapshot;
  }

  /** Drops entries before compactIndex; the entry at compactIndex becomes the new dummy. */
  compact(compactIndex: Index): void {
    const offset = this.#ents[0].index;
    if (compactIndex <= offset) throw new CompactedError(`already compacted to ${offset}`);
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const dummy: Entry = { term: this.#ents[i].term, index: this.#ents[i].index, type: 0, data: EMPTY };
    this.#ents = [dummy, ...this.#ents.slice(i + 1)];
  }

  /**
   * Appends entries, overwriting any stored suffix from entries[0].index on (a follower's log
   * truncation arrives this way). Entries must be contiguous with the log.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return;
    let start = 0;
    if (first > entries[0].index) start = first - entries[0].index;
    const offset = entries[start].index - this.#ents[0].index;
    assert(offset <= this.#ents.length, `missing log entry [last: ${this.lastIndex()}, append at: ${entries[start].index}]`);
    if (offset < this.#ents.length) this.#ents.length = offset;
    for (let i = start; i < entries.length; i++) this.#ents.push(entries[i]);
  }
}
