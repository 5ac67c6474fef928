import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Inflights, Progress, ProgressState } from "../../log/progress.ts";

const s = suite("log/progress");

s("Inflights.add() fills the window by count and full() reports it", () => {
  const inf = new Inflights(10, 0);
  for (let i = 0; i < 10; i++) {
    assert.not.ok(inf.full());
    inf.add(i, 100);
  }
  assert.ok(inf.full());
  assert.is(inf.count, 10);
  assert.is(inf.bytes, 1000);
  assert.throws(() => inf.add(10, 1));
});

s("Inflights.full() also trips on the byte budget", () => {
  const inf = new Inflights(10, 250);
  inf.add(1, 100);
  inf.add(2, 100);
  assert.not.ok(inf.full());
  inf.add(3, 100);
  assert.ok(inf.full());
  inf.freeLE(1);
  assert.not.ok(inf.full());
  assert.is(inf.bytes, 200);
});

s("Inflights.freeLE() frees acknowledged messages across the ring's wrap-around", () => {
  const inf = new Inflights(10, 0);
  for (let i = 0; i < 10; i++) inf.add(i, 1);
  inf.freeLE(4);
  assert.is(inf.count, 5);
  inf.freeLE(8);
  assert.is(inf.count, 1);
  for (let i = 10; i < 15; i++) inf.add(i, 1); // wraps around
  assert.is(inf.count, 6);
  inf.freeLE(12);
  assert.is(inf.count, 2);
  inf.freeLE(11); // stale: nothing
  assert.is(inf.count, 2);
  inf.freeLE(14);
  assert.is(inf.count, 0);
  assert.is(inf.bytes, 0);
});

s("Progress.maybeUpdate() moves match and next, ignoring stale acks", () => {
  const pr = new Progress(5, new Inflights(4, 0), false);
  pr.match = 3;
  assert.not.ok(pr.maybeUpdate(2));
  assert.is(pr.match, 3);
  assert.ok(pr.maybeUpdate(4));
  assert.is(pr.next, 5);
  assert.ok(pr.maybeUpdate(6));
  assert.is(pr.match, 6);
  assert.is(pr.next, 7);
});

s("Progress.maybeDecrTo() in replicate falls back to match+1, ignoring stale rejections", () => {
  const pr = new Progress(10, new Inflights(4, 0), false);
  pr.match = 5;
  pr.state = ProgressState.Replicate;
  assert.not.ok(pr.maybeDecrTo(5, 5));
  assert.not.ok(pr.maybeDecrTo(4, 4));
  assert.ok(pr.maybeDecrTo(9, 9));
  assert.is(pr.next, 6);
});

s("Progress.maybeDecrTo() in probe only honours the latest probe and uses the hint", () => {
  const table: Array<[number, number, number, number, boolean, number]> = [
    // match, next, rejected, hint, ok, wnext
    [0, 0, 0, 0, false, 0],
    [0, 10, 5, 5, false, 10],
    [0, 10, 9, 9, true, 9],
    [0, 2, 1, 1, true, 1],
    [0, 1, 0, 0, true, 1],
    [0, 10, 9, 2, true, 3],
    [0, 10, 9, 0, true, 1],
  ];
  for (const [match, next, rejected, hint, ok, wnext] of table) {
    const pr = new Progress(next, new Inflights(4, 0), false);
    pr.match = match;
    assert.is(pr.maybeDecrTo(rejected, hint), ok);
    assert.is(pr.next, wnext);
  }
});

s("Progress.isPaused() by state: probe pauses after one send, replicate on a full window, snapshot always", () => {
  const pr = new Progress(1, new Inflights(2, 0), false);
  assert.not.ok(pr.isPaused());
  pr.sentEntries(1, 10);
  assert.ok(pr.isPaused());
  pr.becomeReplicate();
  assert.not.ok(pr.isPaused());
  pr.sentEntries(1, 10);
  assert.not.ok(pr.isPaused());
  pr.sentEntries(2, 10);
  assert.ok(pr.isPaused());
  assert.is(pr.next, 4);
  pr.becomeSnapshot(10);
  assert.ok(pr.isPaused());
});

s("Progress.becomeProbe() after a snapshot resumes past the snapshot index", () => {
  const pr = new Progress(1, new Inflights(2, 0), false);
  pr.match = 1;
  pr.becomeSnapshot(10);
  assert.is(pr.state, ProgressState.Snapshot);
  pr.becomeProbe();
  assert.is(pr.state, ProgressState.Probe);
  assert.is(pr.next, 11);
  const pr2 = new Progress(5, new Inflights(2, 0), false);
  pr2.match = 3;
  pr2.becomeReplicate();
  pr2.becomeProbe();
  assert.is(pr2.next, 4);
});

s.run();
