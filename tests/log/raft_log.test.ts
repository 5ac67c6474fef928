import { suite } from "uvu";
import * as assert from "uvu/assert";
import { MemoryStorage } from "../../log/memory_storage.ts";
import { RaftLog, TERM_COMPACTED, TERM_UNAVAILABLE } from "../../log/raft_log.ts";
import { CompactedError } from "../../log/storage.ts";
import type { Entry } from "../../log/types.ts";
import { entry } from "./helpers.ts";

const s = suite("log/raft_log");

const ents = (...pairs: Array<[number, number]>): Entry[] => pairs.map(([t, i]) => entry(t, i));
const ids = (es: readonly Entry[]): string => es.map((e) => `${e.term}/${e.index}`).join(" ");

function logWith(stored: Entry[], maxBytes = Infinity): RaftLog {
  const st = new MemoryStorage();
  st.append(stored);
  return new RaftLog(st, maxBytes);
}

s("append() truncates a conflicting suffix and appends", () => {
  const table: Array<[Entry[], number, string]> = [
    [[], 2, "1/1 2/2"],
    [ents([2, 3]), 3, "1/1 2/2 2/3"],
    [ents([2, 1]), 1, "2/1"],
    [ents([3, 2], [3, 3]), 3, "1/1 3/2 3/3"],
  ];
  for (const [add, wlast, want] of table) {
    const l = logWith(ents([1, 1], [2, 2]));
    assert.is(l.append(add), wlast);
    assert.is(ids(l.allEntries()), want);
  }
});

s("maybeAppend() checks (index, term), appends only what is new and commits up to the last new entry", () => {
  const base = () => {
    const l = logWith([]);
    l.append(ents([1, 1], [2, 2], [3, 3]));
    l.committed = 1;
    return l;
  };
  const table: Array<[number, number, number, Entry[], number, number, string]> = [
    // index, logTerm, committed, ents, wlast(-1 = reject), wcommit, wlog
    [3, 2, 3, ents([4, 4]), -1, 1, "1/1 2/2 3/3"], // term mismatch
    [4, 3, 3, ents([4, 5]), -1, 1, "1/1 2/2 3/3"], // index past the end
    [3, 3, 3, [], 3, 3, "1/1 2/2 3/3"],
    [3, 3, 4, ents([4, 4]), 4, 4, "1/1 2/2 3/3 4/4"],
    [3, 3, 2, ents([4, 4]), 4, 2, "1/1 2/2 3/3 4/4"],
    [2, 2, 3, ents([3, 3]), 3, 3, "1/1 2/2 3/3"], // already there: nothing truncated
    [1, 1, 2, ents([4, 2]), 2, 2, "1/1 4/2"], // conflict at 2
    [2, 2, 3, ents([4, 3], [4, 4]), 4, 3, "1/1 2/2 4/3 4/4"],
  ];
  for (const [index, logTerm, committed, add, wlast, wcommit, wlog] of table) {
    const l = base();
    assert.is(l.maybeAppend(index, logTerm, committed, add), wlast, `${index}/${logTerm}`);
    assert.is(l.committed, wcommit);
    assert.is(ids(l.allEntries()), wlog);
  }
});

s("maybeAppend() refuses to truncate a committed entry", () => {
  const l = logWith([]);
  l.append(ents([1, 1], [2, 2], [3, 3]));
  l.committed = 3;
  assert.throws(() => l.maybeAppend(1, 1, 3, ents([4, 2])));
});

s("term() answers from unstable, storage and the snapshot boundary, with sentinels out of range", () => {
  const st = new MemoryStorage();
  st.append(ents([1, 1], [1, 2], [2, 3], [3, 4], [3, 5]));
  st.createSnapshot(2, undefined, new Uint8Array(0));
  st.compact(2);
  const l = new RaftLog(st, Infinity);
  l.append(ents([4, 6]));
  assert.is(l.firstIndex(), 3);
  assert.is(l.lastIndex(), 6);
  assert.is(l.term(1), TERM_COMPACTED);
  assert.is(l.term(2), 1); // snapshot index
  assert.is(l.term(3), 2);
  assert.is(l.term(5), 3);
  assert.is(l.term(6), 4);
  assert.is(l.term(7), TERM_UNAVAILABLE);
  assert.throws(() => l.slice(2, 4, Infinity), (e: unknown) => e instanceof CompactedError);
  assert.is(ids(l.slice(3, 7, Infinity)), "2/3 3/4 3/5 4/6");
});

s("slice() honours the byte limit across storage and unstable, with at least one entry", () => {
  const st = new MemoryStorage();
  st.append([entry(1, 1, "aaaa"), entry(1, 2, "bbbb")]);
  const l = new RaftLog(st, Infinity);
  l.append([entry(1, 3, "cccc"), entry(1, 4, "dddd")]);
  assert.is(l.slice(1, 5, 0).length, 1);
  assert.is(l.slice(1, 5, 8).length, 2);
  assert.is(l.slice(1, 5, 12).length, 3);
  assert.is(l.slice(1, 5, 11).length, 2);
  assert.is(l.slice(3, 5, 5).length, 1);
});

s("maybeCommit() commits only an entry of the given term (Figure 8 rule)", () => {
  const l = logWith(ents([1, 1], [2, 2]));
  assert.not.ok(l.maybeCommit(1, 2));
  assert.not.ok(l.maybeCommit(2, 1));
  assert.ok(l.maybeCommit(2, 2));
  assert.is(l.committed, 2);
  assert.not.ok(l.maybeCommit(1, 1)); // never goes back
  assert.is(l.committed, 2);
});

s("findConflict() and findConflictByTerm() locate where logs diverge", () => {
  const l = logWith(ents([1, 1], [1, 2], [2, 3], [2, 4], [3, 5]));
  assert.is(l.findConflict(ents([1, 1], [1, 2])), 0);
  assert.is(l.findConflict(ents([2, 3], [3, 4])), 4);
  assert.is(l.findConflict(ents([3, 5], [3, 6])), 6);
  assert.equal(l.findConflictByTerm(5, 2), [4, 2]);
  assert.equal(l.findConflictByTerm(5, 1), [2, 1]);
  assert.equal(l.findConflictByTerm(5, 0), [0, 0]);
  assert.equal(l.findConflictByTerm(5, 9), [5, 3]);
});

s("isUpToDate() compares last term, then last index", () => {
  const l = logWith(ents([1, 1], [2, 2], [3, 3]));
  assert.ok(l.isUpToDate(2, 4));
  assert.not.ok(l.isUpToDate(5, 2));
  assert.ok(l.isUpToDate(3, 3));
  assert.ok(l.isUpToDate(4, 3));
  assert.not.ok(l.isUpToDate(2, 3));
});

s("unstable entries are handed out once, then dropped when stable", () => {
  const l = logWith(ents([1, 1]));
  l.append(ents([1, 2], [1, 3]));
  assert.is(ids(l.nextUnstableEnts()), "1/2 1/3");
  l.acceptUnstable();
  assert.is(l.nextUnstableEnts().length, 0);
  l.append(ents([1, 4]));
  assert.is(ids(l.nextUnstableEnts()), "1/4");
  l.stableTo(3, 1);
  assert.is(l.unstable.offset, 4);
  assert.is(ids(l.nextUnstableEnts()), "1/4");
});

s("stableTo() ignores an ack for an entry that was overwritten meanwhile", () => {
  const l = logWith([]);
  l.append(ents([1, 1], [1, 2]));
  l.acceptUnstable();
  l.append(ents([2, 2])); // truncation while the first write is in flight
  l.stableTo(2, 1); // the write of 1/2 completes: must not mark 2/2 stable
  assert.is(l.unstable.offset, 1);
  assert.is(ids(l.nextUnstableEnts()), "2/2");
});

s("nextCommittedEnts() is bounded by the per-Ready byte budget and the applying cursor", () => {
  const st = new MemoryStorage();
  st.append([entry(1, 1, "aa"), entry(1, 2, "bb"), entry(1, 3, "cc")]);
  const l = new RaftLog(st, 4);
  l.commitTo(3);
  assert.is(ids(l.nextCommittedEnts(true)), "1/1 1/2");
  l.acceptApplying(2);
  assert.is(ids(l.nextCommittedEnts(true)), "1/3");
  l.appliedTo(2);
  assert.ok(l.hasNextCommittedEnts(true));
  l.acceptApplying(3);
  assert.not.ok(l.hasNextCommittedEnts(true));
});

s("restore() replaces the log by a snapshot and commits up to it", () => {
  const l = logWith(ents([1, 1], [1, 2]));
  l.restore({ metadata: { index: 10, term: 3, confState: { voters: ["1"], learners: [] } }, data: new Uint8Array() });
  assert.is(l.committed, 10);
  assert.is(l.firstIndex(), 11);
  assert.is(l.lastIndex(), 10);
  assert.is(l.term(10), 3);
  assert.ok(l.hasNextOrInProgressSnapshot());
  assert.not.ok(l.hasNextCommittedEnts(true));
});

s("MemoryStorage.append() overwrites a suffix and compact() keeps the boundary term", () => {
  const st = new MemoryStorage();
  st.append(ents([1, 1], [1, 2], [1, 3]));
  st.append(ents([2, 2]));
  assert.is(st.lastIndex(), 2);
  assert.is(st.term(2), 2);
  st.append(ents([2, 3], [2, 4]));
  st.compact(3);
  assert.is(st.firstIndex(), 4);
  assert.is(st.term(3), 2);
  assert.throws(() => st.term(2), (e: unknown) => e instanceof CompactedError);
  assert.is(ids(st.entries(4, 5, Infinity)), "2/4");
  st.append(ents([1, 1], [1, 2])); // entirely before first index: ignored
  assert.is(st.lastIndex(), 4);
});

s.run();
