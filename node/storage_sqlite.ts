// The durable Raft log in one SQLite file (WAL, synchronous=FULL): entries, hard state, snapshots
// and metadata. It serves the core's synchronous LogStorage reads from a tail cache backed by SQL,
// and persists each Ready in ONE transaction, so many client writes share one fsync.
// Queries are typed against schema.ts's `Database` and built with kysely (run synchronously by
// QueryRunner), except the two whose count grows with the log (HotStatements), which stay
// prepared SQL.
// Must not interpret entry data (projections/ does) and must not decide when to snapshot or
// compact (node.ts does).

import { statSync } from "node:fs";
import { join } from "node:path";
import { assert, decodeCbor, encodeCbor, type Index, limits, type Term } from "../internal/mod.ts";
import {
  CompactedError,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type InitialState,
  type LogStorage,
  type Snapshot,
  UnavailableError,
} from "../log/mod.ts";
import type { Runtime } from "./runtime.ts";
import { QueryRunner } from "./query_runner.ts";
import { migrate, qb, SchemaError } from "./schema.ts";
import type { SqliteDb, SqliteStatement } from "./sqlite.ts";
import { toStorageError } from "./sqlite.ts";

export const DB_FILE = "coreplane.db";
const EMPTY_CONF: ConfState = { voters: [], learners: [] };
const EMPTY_HARD: HardState = { term: 0, vote: "", commit: 0 };

export interface SaveBatch {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
}

/**
 * The statements run once per ENTRY, prepared once as plain SQL with positional parameters.
 * Built through kysely (build, compile, then the cached prepared statement: query_runner.ts), an
 * execution costs about 6-8 µs more (bench/storage_queries.ts, 100k executions: insert 1.8 -> 7.5 µs
 * on Deno, 1.3 -> 8.5 µs on Node; term lookup 2.0 -> 9.7 and 0.8 -> 6.7 µs): save() would pay it
 * for every entry of a Ready, on the event loop (at 10k PUT/s, 6% of it), and the Raft core's
 * findConflictByTerm walks term() back one index at a time. Statements run once per Ready, per
 * page or per rare event (the hard state, written on a term or vote change; truncation; a page of
 * entries, where reading 4,096 rows dwarfs the compile) are kysely queries.
 */
export interface HotStatements {
  /** (idx, term, type, data): each entry of save(). */
  insertEntry: SqliteStatement;
  /** (idx): term() below the tail cache. */
  termAt: SqliteStatement;
}

/** What a write needs: the connection, its hot statements and its typed query runner. */
export interface Conn {
  readonly db: SqliteDb;
  readonly hot: HotStatements;
  readonly q: QueryRunner;
}

export class SqliteStorage implements LogStorage {
  readonly dir: string;
  readonly #c: Conn;
  #hard: HardState = EMPTY_HARD;
  #conf: ConfState = EMPTY_CONF;
  /** Everything <= compactedIndex is gone from `entries`; its term is kept for the consistency check. */
  #compactedIndex: Index = 0;
  #compactedTerm: Term = 0;
  #last: Index = 0;
  #snapMeta: { index: Index; term: Term; confState: ConfState } = { index: 0, term: 0, confState: EMPTY_CONF };
  /** The newest entries, contiguous, ending at #last. */
  #tail: Entry[] = [];

  private constructor(dir: string, c: Conn) {
    this.dir = dir;
    this.#c = c;
  }

  /**
   * Opens (creating if needed) the log in `dir`, brings its schema up to date (schema.ts), loads
   * the in-memory indexes. Throws SchemaError for a data dir a newer coreplane wrote, StorageError
   * for anything SQLite refuses.
   */
  static open(rt: Runtime, dir: string): Promise<SqliteStorage> {
    const db = rt.openSqlite(join(dir, DB_FILE));
    let c: Conn;
    try {
      configureConnection(db);
      const q = new QueryRunner(db);
      migrate(q, Date.now());
      c = { db, q, hot: prepareHotStatements(db) };
    } catch (e) {
      db.close();
      if (e instanceof SchemaError) return Promise.reject(e);
      return Promise.reject(toStorageError(e, `opening ${join(dir, DB_FILE)}`));
    }
    const st = new SqliteStorage(dir, c);
    st.#load();
    return Promise.resolve(st);
  }

  #load(): void {
    const { q } = this.#c;
    const h = q.first(qb.selectFrom("hard_state").select(["term", "vote", "commit_index"]).where("id", "=", 1));
    if (h) this.#hard = { term: Number(h.term), vote: String(h.vote), commit: Number(h.commit_index) };
    const conf = this.getMeta("conf_state");
    if (conf) this.#conf = JSON.parse(conf) as ConfState;
    this.#compactedIndex = Number(this.getMeta("compacted_index") ?? 0);
    this.#compactedTerm = Number(this.getMeta("compacted_term") ?? 0);
    const snap = q.first(qb.selectFrom("snapshots").select(["idx", "term", "conf_state"]).orderBy("idx", "desc").limit(1));
    if (snap) {
      this.#snapMeta = { index: Number(snap.idx), term: Number(snap.term), confState: decodeCbor<ConfState>(snap.conf_state) };
    }
    const last = q.first(qb.selectFrom("entries").select((eb) => eb.fn.max<number | null>("idx").as("m")));
    this.#last = last?.m == null ? this.#compactedIndex : Number(last.m);
    const from = Math.max(this.#compactedIndex + 1, this.#last - limits.tailCacheEntries + 1);
    this.#tail = this.#readRange(from, this.#last + 1, Infinity);
    assert(this.#tail.length === this.#last - from + 1, `log has a gap between ${from} and ${this.#last}`);
  }

  #readRange(lo: Index, hi: Index, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    const q = qb.selectFrom("entries").select(["idx", "term", "type", "data"]).where("idx", ">=", lo).where("idx", "<", hi).orderBy("idx");
    for (const r of this.#c.q.iterate(q)) {
      const data = r.data;
      if (out.length > 0 && bytes + data.length > maxBytes) break;
      bytes += data.length;
      out.push({ index: Number(r.idx), term: Number(r.term), type: Number(r.type) as EntryType, data });
    }
    return out;
  }

  // ---- LogStorage (read side, synchronous) ----

  initialState(): InitialState {
    return { hardState: this.#hard, confState: this.#conf };
  }

  firstIndex(): Index {
    return this.#compactedIndex + 1;
  }

  lastIndex(): Index {
    return this.#last;
  }

  term(i: Index): Term {
    if (i === this.#compactedIndex) return this.#compactedTerm;
    if (i < this.#compactedIndex) throw new CompactedError(`term(${i}): compacted up to ${this.#compactedIndex}`);
    if (i > this.#last) throw new UnavailableError(`term(${i}): last index is ${this.#last}`);
    const t0 = this.#tail.length > 0 ? this.#tail[0].index : this.#last + 1;
    if (i >= t0) return this.#tail[i - t0].term;
    const r = this.#c.hot.termAt.get(i);
    assert(r, `entry ${i} missing between first ${this.firstIndex()} and last ${this.#last}`);
    return Number(r.term);
  }

  entries(lo: Index, hi: Index, maxBytes: number): Entry[] {
    if (lo <= this.#compactedIndex) throw new CompactedError(`entries(${lo}): compacted up to ${this.#compactedIndex}`);
    if (hi > this.#last + 1) throw new UnavailableError(`entries(${lo}, ${hi}): last index is ${this.#last}`);
    if (lo >= hi) return [];
    const t0 = this.#tail.length > 0 ? this.#tail[0].index : this.#last + 1;
    if (lo >= t0) {
      const out: Entry[] = [];
      let bytes = 0;
      for (let i = lo; i < hi; i++) {
        const e = this.#tail[i - t0];
        if (out.length > 0 && bytes + e.data.length > maxBytes) break;
        bytes += e.data.length;
        out.push(e);
      }
      return out;
    }
    return this.#readRange(lo, hi, maxBytes);
  }

  snapshot(): Snapshot {
    const r = this.#c.q.first(qb.selectFrom("snapshots").select(["idx", "term", "conf_state", "data"]).orderBy("idx", "desc").limit(1));
    if (!r) return { metadata: { index: 0, term: 0, confState: EMPTY_CONF }, data: new Uint8Array(0) };
    return {
      metadata: { index: Number(r.idx), term: Number(r.term), confState: decodeCbor<ConfState>(r.conf_state) },
      data: r.data,
    };
  }

  /** Index and term of the newest snapshot, without reading its data. */
  snapshotMeta(): { index: Index; term: Term; confState: ConfState } {
    return this.#snapMeta;
  }

  hardState(): HardState {
    return this.#hard;
  }

  // ---- write side ----

  /**
   * Persists one Ready in one transaction (one fsync). Throws StorageError (diskFull on ENOSPC /
   * SQLITE_FULL) after rolling back: then nothing of the batch is on disk and the in-memory view
   * is unchanged, so the caller may retry the same batch.
   */
  save(b: SaveBatch): void {
    if (!b.hardState && b.entries.length === 0 && !b.snapshot) return;
    writeBatch(this.#c, b, this.#last);
    this.#applySaved(b);
  }

  /** Moves the in-memory view once a batch is durable. */
  #applySaved(b: SaveBatch): void {
    if (b.snapshot) {
      const m = b.snapshot.metadata;
      this.#compactedIndex = m.index;
      this.#compactedTerm = m.term;
      this.#conf = m.confState;
      this.#snapMeta = { index: m.index, term: m.term, confState: m.confState };
      this.#tail = [];
      this.#last = m.index;
    }
    if (b.entries.length > 0) {
      this.#appendTail(b.entries);
      this.#last = b.entries[b.entries.length - 1].index;
    }
    if (b.hardState) this.#hard = b.hardState;
  }

  #appendTail(entries: readonly Entry[]): void {
    const first = entries[0].index;
    const t0 = this.#tail.length > 0 ? this.#tail[0].index : first;
    if (this.#tail.length > 0 && first <= this.#last) this.#tail.length = Math.max(0, first - t0);
    if (this.#tail.length === 0 || this.#tail[0].index + this.#tail.length === first) {
      for (const e of entries) this.#tail.push(e);
    } else {
      this.#tail = entries.slice();
    }
    const over = this.#tail.length - limits.tailCacheEntries;
    if (over > limits.tailCacheEntries / 4) this.#tail = this.#tail.slice(over);
  }

  /**
   * Stores a snapshot of the applied state at `index` (durably), keeping the newest few. With
   * `opts`, the same transaction (one fsync, not three: a snapshot blocks the member's loop while it
   * is written) also saves the hard state (its commit must cover the snapshot) and drops entries up
   * to `compactTo`.
   */
  createSnapshot(
    index: Index,
    confState: ConfState,
    data: Uint8Array,
    createdMs: number,
    opts: { hardState?: HardState; compactTo?: Index } = {},
  ): void {
    assert(index <= this.#last && index > this.#compactedIndex, `snapshot at ${index} outside the log`);
    const term = this.term(index);
    const hard = opts.hardState;
    if (hard) assert(hard.commit >= index && hard.commit <= this.#last, `commit ${hard.commit} does not cover the snapshot at ${index}`);
    const compactTo = opts.compactTo !== undefined && opts.compactTo > this.#compactedIndex ? Math.min(opts.compactTo, index) : 0;
    const compactTerm = compactTo > 0 ? this.term(compactTo) : 0;
    const { q } = this.#c;
    try {
      q.transaction(() => {
        if (hard) putHardState(q, hard);
        putSnapshot(q, index, term, confState, data, createdMs);
        if (compactTo > 0) this.#writeCompaction(compactTo, compactTerm);
      });
    } catch (e) {
      throw toStorageError(e, `saving the snapshot at ${index}`);
    }
    if (hard) this.#hard = hard;
    this.#snapMeta = { index, term, confState };
    if (compactTo > 0) this.#dropThrough(compactTo, compactTerm);
  }

  /** Drops entries up to `index` (which must be covered by a snapshot). */
  compact(index: Index): void {
    if (index <= this.#compactedIndex) return;
    assert(index <= this.#snapMeta.index, `compact(${index}) beyond the snapshot at ${this.#snapMeta.index}`);
    const term = this.term(index);
    try {
      this.#c.q.transaction(() => this.#writeCompaction(index, term));
    } catch (e) {
      throw toStorageError(e, `compacting the log up to ${index}`);
    }
    this.#dropThrough(index, term);
  }

  /** The SQL side of a compaction up to `index`, inside the caller's transaction. */
  #writeCompaction(index: Index, term: Term): void {
    const { q } = this.#c;
    q.run(qb.deleteFrom("entries").where("idx", "<=", index));
    putMetaRow(q, "compacted_index", String(index));
    putMetaRow(q, "compacted_term", String(term));
  }

  /** The in-memory side of a durable compaction up to `index`. */
  #dropThrough(index: Index, term: Term): void {
    this.#compactedIndex = index;
    this.#compactedTerm = term;
    const t0 = this.#tail.length > 0 ? this.#tail[0].index : index + 1;
    if (index >= t0) this.#tail = this.#tail.slice(index - t0 + 1);
  }

  /**
   * Raises the in-memory commit index (written with the next hard-state write). Used when the core
   * restarts in-process: everything applied is known committed even if the disk has an older value.
   */
  noteCommit(commit: Index): void {
    assert(commit <= this.#last, `commit ${commit} beyond the last stored entry ${this.#last}`);
    if (commit > this.#hard.commit) this.#hard = { ...this.#hard, commit };
  }

  setConfState(cs: ConfState): void {
    this.putMeta("conf_state", JSON.stringify(cs));
    this.#conf = cs;
  }

  getMeta(key: string): string | undefined {
    const r = this.#c.q.first(qb.selectFrom("meta").select("value").where("key", "=", key));
    return r ? String(r.value) : undefined;
  }

  putMeta(key: string, value: string): void {
    try {
      putMetaRow(this.#c.q, key, value);
    } catch (e) {
      throw toStorageError(e, `writing metadata ${key}`);
    }
  }

  /** Entries in [lo, hi] in order, read in pages: for replay, dump and verify. */
  *iterate(lo: Index, hi: Index, pageEntries = 4096): Generator<Entry> {
    for (let from = Math.max(lo, this.firstIndex()); from <= hi;) {
      const page = this.#readRange(from, Math.min(hi, from + pageEntries - 1) + 1, Infinity);
      if (page.length === 0) return;
      for (const e of page) yield e;
      from = page[page.length - 1].index + 1;
    }
  }

  /** Bytes of the database and its WAL on disk. */
  bytesOnDisk(): number {
    let n = 0;
    for (const f of [DB_FILE, `${DB_FILE}-wal`]) {
      try {
        n += statSync(join(this.dir, f)).size;
      } catch { /* absent */ }
    }
    return n;
  }

  /**
   * Deletes every snapshot after `index` (operator repair: `log repair --force` truncating below
   * the newest snapshot); returns how many went. Call it before truncateAfter(index), so no
   * snapshot is ever left beyond the log. A compacted log must keep a snapshot that its stored
   * entries follow: the caller checks that first, and this asserts it.
   */
  deleteSnapshotsAfter(index: Index): number {
    const { q } = this.#c;
    const kept = q.first(qb.selectFrom("snapshots").select(["idx", "term", "conf_state"]).where("idx", "<=", index).orderBy("idx", "desc").limit(1));
    assert(
      this.#compactedIndex === 0 || (kept !== undefined && kept.idx >= this.#compactedIndex),
      `deleting the snapshots after ${index} leaves none the log, compacted up to ${this.#compactedIndex}, can start from`,
    );
    let removed: number;
    try {
      removed = q.transaction(() => q.run(qb.deleteFrom("snapshots").where("idx", ">", index)));
    } catch (e) {
      throw toStorageError(e, `deleting the snapshots after ${index}`);
    }
    this.#snapMeta = kept
      ? { index: Number(kept.idx), term: Number(kept.term), confState: decodeCbor<ConfState>(kept.conf_state) }
      : { index: 0, term: 0, confState: EMPTY_CONF };
    return removed;
  }

  /** Deletes every entry after `index` (operator repair of a torn tail). */
  truncateAfter(index: Index): number {
    const before = this.#last;
    const { q } = this.#c;
    try {
      q.transaction(() => {
        q.run(qb.deleteFrom("entries").where("idx", ">", index));
        if (this.#hard.commit > index) putHardState(q, { ...this.#hard, commit: index });
      });
    } catch (e) {
      throw toStorageError(e, `truncating after ${index}`);
    }
    if (this.#hard.commit > index) this.#hard = { ...this.#hard, commit: index };
    this.#last = Math.min(this.#last, index);
    const t0 = this.#tail.length > 0 ? this.#tail[0].index : index + 1;
    this.#tail.length = Math.max(0, Math.min(this.#tail.length, index - t0 + 1));
    return Math.max(0, before - this.#last);
  }

  close(): void {
    try {
      this.#c.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch { /* closing anyway */ }
    this.#c.db.close();
  }
}


/**
 * WAL, and an fsync of the WAL at every commit (synchronous=FULL): a write is acknowledged only
 * once it is on disk. (Replacing SQLite's fsync with our own fdatasync of the WAL file was tried:
 * no measurable difference on this disk, so SQLite keeps ownership of durability.)
 */
export function configureConnection(db: SqliteDb): void {
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA cache_size = -16384");
}

export function prepareHotStatements(db: SqliteDb): HotStatements {
  return {
    insertEntry: db.prepare("INSERT INTO entries (idx, term, type, data) VALUES (?, ?, ?, ?)"),
    termAt: db.prepare("SELECT term FROM entries WHERE idx = ?"),
  };
}

function putHardState(q: QueryRunner, h: HardState): void {
  q.run(
    qb.insertInto("hard_state").values({ id: 1, term: h.term, vote: h.vote, commit_index: h.commit })
      .onConflict((oc) =>
        oc.column("id").doUpdateSet((eb) => ({
          term: eb.ref("excluded.term"),
          vote: eb.ref("excluded.vote"),
          commit_index: eb.ref("excluded.commit_index"),
        }))
      ),
  );
}

function putMetaRow(q: QueryRunner, key: string, value: string): void {
  q.run(qb.insertInto("meta").values({ key, value }).onConflict((oc) => oc.column("key").doUpdateSet((eb) => ({ value: eb.ref("excluded.value") }))));
}

/** Stores a snapshot (replacing one at the same index) and drops all but the newest `limits.snapshotsKeptSnapshots`. */
function putSnapshot(q: QueryRunner, index: Index, term: Term, confState: ConfState, data: Uint8Array, createdMs: number): void {
  q.run(qb.insertInto("snapshots").orReplace().values({ idx: index, term, conf_state: encodeCbor(confState), data, created_ms: createdMs }));
  q.run(
    qb.deleteFrom("snapshots").where("idx", "not in", (eb) => eb.selectFrom("snapshots").select("idx").orderBy("idx", "desc").limit(limits.snapshotsKeptSnapshots)),
  );
}

/**
 * One batch in one transaction (one fsync). On failure it rolls back and throws StorageError
 * (diskFull for ENOSPC / SQLITE_FULL): nothing of the batch is on disk. `lastBefore` is the last
 * stored index the batch must follow.
 */
export function writeBatch(c: Conn, b: SaveBatch, lastBefore: Index): void {
  const { db, hot, q } = c;
  let last = lastBefore;
  try {
    db.exec("BEGIN IMMEDIATE");
    if (b.snapshot) {
      // A snapshot from the leader: rare (a lagging or new member), so built with kysely.
      const m = b.snapshot.metadata;
      putSnapshot(q, m.index, m.term, m.confState, b.snapshot.data, 0);
      q.run(qb.deleteFrom("entries")); // a received snapshot replaces the whole log
      putMetaRow(q, "compacted_index", String(m.index));
      putMetaRow(q, "compacted_term", String(m.term));
      putMetaRow(q, "conf_state", JSON.stringify(m.confState));
      last = m.index;
    }
    if (b.entries.length > 0) {
      const first = b.entries[0].index;
      assert(first <= last + 1, `append at ${first} leaves a gap after ${last}`);
      if (first <= last) q.run(qb.deleteFrom("entries").where("idx", ">=", first)); // a new leader's entries replace ours
      const ins = hot.insertEntry;
      for (const e of b.entries) ins.run(e.index, e.term, e.type, e.data);
    }
    if (b.hardState) putHardState(q, b.hardState);
    db.exec("COMMIT");
  } catch (e) {
    try {
      db.exec("ROLLBACK");
    } catch { /* no transaction left to roll back */ }
    // SQLite can report a failure from work done after the commit itself (the WAL checkpoint
    // that follows it on a full disk). Then the batch IS durable, and calling it lost would
    // drop acknowledged-to-be data: look before answering.
    if (batchIsStored(hot, b)) return;
    throw toStorageError(e, "saving the log");
  }
}

function batchIsStored(hot: HotStatements, b: SaveBatch): boolean {
  try {
    if (b.entries.length > 0) {
      const last = b.entries[b.entries.length - 1];
      const first = b.entries[0];
      const a = hot.termAt.get(first.index);
      const z = hot.termAt.get(last.index);
      return a !== undefined && z !== undefined && Number(a.term) === first.term && Number(z.term) === last.term;
    }
    return false;
  } catch {
    return false;
  }
}
