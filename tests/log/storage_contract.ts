// One contract for every LogStorage implementation (log/memory_storage.ts, node/storage_sqlite.ts):
// the same reads after the same writes. Implementations plug in through a small write harness,
// since their write sides differ (the core never writes; drivers do).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CompactedError, type LogStorage, UnavailableError } from "../../log/storage.ts";
import type { ConfState, Entry, HardState } from "../../log/types.ts";

export interface StorageHarness {
  readonly storage: LogStorage;
  append(entries: Entry[]): void;
  setHardState(hs: HardState): void;
  /** Snapshot at i (data given) and then drop entries up to i. */
  snapshotAndCompact(i: number, cs: ConfState, data: Uint8Array): void;
  /** Durable implementations reopen from disk; others return the same storage. */
  reopen(): Promise<LogStorage>;
  close(): void;
}

const ent = (index: number, term: number, fill = index): Entry => ({ index, term, type: 0, data: new Uint8Array([fill, fill]) });

export function runStorageContract(name: string, make: () => Promise<StorageHarness>): void {
  const s = suite(`LogStorage contract: ${name}`);

  s("an empty log has firstIndex 1, lastIndex 0 and term(0) = 0", async () => {
    const h = await make();
    assert.is(h.storage.firstIndex(), 1);
    assert.is(h.storage.lastIndex(), 0);
    assert.is(h.storage.term(0), 0);
    h.close();
  });

  s("entries() returns [lo, hi) and stops at maxBytes, but always gives at least one", async () => {
    const h = await make();
    h.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 3)]);
    assert.equal(h.storage.entries(2, 5, Infinity).map((e) => e.index), [2, 3, 4]);
    assert.equal(h.storage.entries(2, 5, 4).map((e) => e.index), [2, 3]);
    assert.equal(h.storage.entries(2, 5, 1).map((e) => e.index), [2]);
    assert.equal([...h.storage.entries(5, 6, Infinity)[0].data], [5, 5]);
    assert.is(h.storage.term(3), 2);
    assert.is(h.storage.lastIndex(), 5);
    h.close();
  });

  s("append() truncates a conflicting suffix", async () => {
    const h = await make();
    h.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
    h.append([ent(3, 2, 33)]);
    assert.is(h.storage.lastIndex(), 3);
    assert.is(h.storage.term(3), 2);
    assert.equal([...h.storage.entries(3, 4, Infinity)[0].data], [33, 33]);
    assert.throws(() => h.storage.term(4), (e: unknown) => e instanceof UnavailableError);
    h.close();
  });

  s("reads past the end throw UnavailableError", async () => {
    const h = await make();
    h.append([ent(1, 1), ent(2, 1)]);
    assert.throws(() => h.storage.term(3), (e: unknown) => e instanceof UnavailableError);
    assert.throws(() => h.storage.entries(1, 4, Infinity), (e: unknown) => e instanceof UnavailableError);
    h.close();
  });

  s("a snapshot and compaction move firstIndex and keep the boundary term", async () => {
    const h = await make();
    h.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 3)]);
    h.snapshotAndCompact(3, { voters: ["a"], learners: [] }, new Uint8Array([9]));
    assert.is(h.storage.firstIndex(), 4);
    assert.is(h.storage.lastIndex(), 5);
    assert.is(h.storage.term(3), 2);
    assert.throws(() => h.storage.term(2), (e: unknown) => e instanceof CompactedError);
    assert.throws(() => h.storage.entries(3, 5, Infinity), (e: unknown) => e instanceof CompactedError);
    assert.equal(h.storage.entries(4, 6, Infinity).map((e) => e.index), [4, 5]);
    const snap = h.storage.snapshot();
    assert.is(snap.metadata.index, 3);
    assert.is(snap.metadata.term, 2);
    assert.equal([...snap.data], [9]);
    assert.equal(snap.metadata.confState.voters, ["a"]);
    h.close();
  });

  s("the hard state comes back in initialState(), also after a reopen", async () => {
    const h = await make();
    h.append([ent(1, 1), ent(2, 2)]);
    h.setHardState({ term: 2, vote: "ab", commit: 2 });
    assert.equal(h.storage.initialState().hardState, { term: 2, vote: "ab", commit: 2 });
    const again = await h.reopen();
    assert.equal(again.initialState().hardState, { term: 2, vote: "ab", commit: 2 });
    assert.is(again.lastIndex(), 2);
    assert.is(again.term(2), 2);
    h.close();
  });

  s.run();
}
