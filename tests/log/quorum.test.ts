import { suite } from "uvu";
import * as assert from "uvu/assert";
import { committedIndex, compareNodeIds, voteResult, VoteResult } from "../../log/quorum.ts";

const s = suite("log/quorum");

s("committedIndex() is the index a majority has acked (table from etcd quorum/testdata)", () => {
  const table: Array<[number[], number]> = [
    [[], Infinity],
    [[12], 12],
    [[12, 5], 5],
    [[12, 5, 4], 5],
    [[12, 5, 0], 5],
    [[0, 0, 0], 0],
    [[100, 101, 102, 103], 101],
    [[1, 2, 3, 4, 5], 3],
    [[5, 5, 1, 1, 1], 1],
    [[9, 8, 7, 6, 5, 4, 3], 6],
  ];
  for (const [idx, want] of table) {
    const ids = idx.map((_, i) => (i + 1).toString(16));
    const got = committedIndex(ids, (id) => idx[parseInt(id, 16) - 1]);
    assert.is(got, want, `idx=${JSON.stringify(idx)}`);
  }
});

s("committedIndex() treats unknown voters as 0", () => {
  assert.is(committedIndex(["1", "2", "3"], (id) => (id === "1" ? 7 : 0)), 0);
  assert.is(committedIndex(["1", "2", "3"], (id) => (id === "3" ? 0 : 7)), 7);
});

s("voteResult() is won, lost or pending by majority", () => {
  const V = VoteResult;
  const table: Array<[number, Array<[string, boolean]>, VoteResult]> = [
    [0, [], V.Won],
    [1, [], V.Pending],
    [1, [["1", true]], V.Won],
    [1, [["1", false]], V.Lost],
    [3, [["1", true]], V.Pending],
    [3, [["1", true], ["2", true]], V.Won],
    [3, [["1", true], ["2", false]], V.Pending],
    [3, [["1", false], ["2", false]], V.Lost],
    [4, [["1", true], ["2", true]], V.Pending],
    [4, [["1", true], ["2", true], ["3", true]], V.Won],
    [4, [["1", false], ["2", false]], V.Lost],
    [5, [["1", true], ["2", true], ["3", false], ["4", false]], V.Pending],
    [5, [["1", true], ["2", false], ["3", false], ["4", false]], V.Lost],
  ];
  for (const [n, votes, want] of table) {
    const ids = Array.from({ length: n }, (_, i) => (i + 1).toString(16));
    assert.is(voteResult(ids, new Map(votes)), want, `n=${n} votes=${JSON.stringify(votes)}`);
  }
});

s("voteResult() ignores votes from non-voters", () => {
  assert.is(voteResult(["1", "2", "3"], new Map([["1", true], ["9", true]])), VoteResult.Pending);
});

s("compareNodeIds() orders hex ids numerically", () => {
  const ids = ["a", "10", "2", "ff", "1", "100"].sort(compareNodeIds);
  assert.equal(ids, ["1", "2", "a", "10", "ff", "100"]);
});

s.run();
