// The SQLite log under the shared LogStorage contract (a real SQLite file in a temp dir), plus
// what only a durable store has: atomic batches and reopening.
import { rmSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { loadRuntime } from "../../node/runtime.ts";
import { SqliteStorage } from "../../node/storage_sqlite.ts";
import { runStorageContract } from "../log/storage_contract.ts";
import { tempDir } from "../helpers/procs.ts";

const rt = await loadRuntime();

runStorageContract("sqlite", async () => {
  const dir = tempDir("storage");
  let st = await SqliteStorage.open(rt, dir);
  return {
    get storage() {
      return st;
    },
    append: (es) => st.save({ entries: es }),
    setHardState: (hs) => st.save({ hardState: hs, entries: [] }),
    snapshotAndCompact: (i, cs, data) => {
      st.createSnapshot(i, cs, data, 0);
      st.compact(i);
    },
    reopen: async () => {
      st.close();
      st = await SqliteStorage.open(rt, dir);
      return st;
    },
    close: () => {
      st.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const s = suite("SqliteStorage");

s("save() writes entries and hard state in one transaction, visible after reopen", async () => {
  const dir = tempDir("storage");
  const st = await SqliteStorage.open(rt, dir);
  const e = (index: number) => ({ index, term: 1, type: 0 as const, data: new Uint8Array([index]) });
  st.save({ entries: [e(1), e(2), e(3)], hardState: { term: 1, vote: "a", commit: 2 } });
  st.close();
  const again = await SqliteStorage.open(rt, dir);
  assert.is(again.lastIndex(), 3);
  assert.equal(again.hardState(), { term: 1, vote: "a", commit: 2 });
  assert.equal([...again.iterate(1, 3)].map((x) => x.data[0]), [1, 2, 3]);
  again.close();
  rmSync(dir, { recursive: true, force: true });
});

s("createSnapshot() with a hard state and a compaction point writes all three in one transaction", async () => {
  const dir = tempDir("storage");
  const st = await SqliteStorage.open(rt, dir);
  const e = (index: number) => ({ index, term: 1, type: 0 as const, data: new Uint8Array([index]) });
  st.save({ entries: [1, 2, 3, 4, 5, 6].map(e), hardState: { term: 1, vote: "a", commit: 2 } });
  const cs = { voters: ["a"], learners: [] };
  st.createSnapshot(5, cs, new Uint8Array([9]), 0, { hardState: { term: 1, vote: "a", commit: 5 }, compactTo: 3 });
  const check = (x: SqliteStorage) => {
    assert.equal(x.hardState(), { term: 1, vote: "a", commit: 5 });
    assert.is(x.snapshotMeta().index, 5);
    assert.is(x.firstIndex(), 4);
    assert.is(x.lastIndex(), 6);
    assert.equal([...x.iterate(4, 6)].map((y) => y.data[0]), [4, 5, 6]);
  };
  check(st);
  // A commit that does not cover the snapshot is a bug in the caller, not a state to store.
  assert.throws(() => st.createSnapshot(6, cs, new Uint8Array([9]), 0, { hardState: { term: 1, vote: "a", commit: 5 } }), /cover/);
  st.close();
  const again = await SqliteStorage.open(rt, dir);
  check(again);
  again.close();
  rmSync(dir, { recursive: true, force: true });
});

s("truncateAfter() drops the tail and pulls the commit index back", async () => {
  const dir = tempDir("storage");
  const st = await SqliteStorage.open(rt, dir);
  const e = (index: number) => ({ index, term: 1, type: 0 as const, data: new Uint8Array([index]) });
  st.save({ entries: [e(1), e(2), e(3), e(4)], hardState: { term: 1, vote: "a", commit: 4 } });
  assert.is(st.truncateAfter(2), 2);
  assert.is(st.lastIndex(), 2);
  assert.is(st.hardState().commit, 2);
  st.save({ entries: [e(3)] });
  assert.is(st.lastIndex(), 3);
  st.close();
  rmSync(dir, { recursive: true, force: true });
});

s("deleteSnapshotsAfter() drops the newer snapshots durably and refuses to leave a compacted log none to start from", async () => {
  const dir = tempDir("storage");
  const st = await SqliteStorage.open(rt, dir);
  const e = (index: number) => ({ index, term: 1, type: 0 as const, data: new Uint8Array([index]) });
  st.save({ entries: [1, 2, 3, 4, 5, 6].map(e), hardState: { term: 1, vote: "a", commit: 6 } });
  const cs = { voters: ["a"], learners: [] };
  st.createSnapshot(3, cs, new Uint8Array([3]), 0, { compactTo: 2 });
  st.createSnapshot(5, cs, new Uint8Array([5]), 0);
  assert.throws(() => st.deleteSnapshotsAfter(1), /leaves none/);
  assert.is(st.snapshotMeta().index, 5, "a refused deletion changes nothing");
  assert.is(st.deleteSnapshotsAfter(4), 1);
  assert.is(st.snapshotMeta().index, 3);
  assert.equal([...st.snapshot().data], [3]);
  st.close();
  const again = await SqliteStorage.open(rt, dir);
  assert.is(again.snapshotMeta().index, 3);
  assert.is(again.deleteSnapshotsAfter(4), 0);
  again.close();
  rmSync(dir, { recursive: true, force: true });
});

s.run();
