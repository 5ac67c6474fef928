// Given/when/then tests of the watch hub against etcd 3.4.23's watch behaviour: history scans, live notification
// rules, stream vs one-shot watchers, and two behaviours checked on a real etcd 3.4.23 (a stream
// watcher at a deleted key gets the event twice; a watch on a path that never existed under a
// deleted directory gets nothing).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { WatchHub } from "../../../api/etcd_v2/watch_hub.ts";
import type { KvEvent, KvResult } from "../../../projections/mod.ts";
import { capture, Given, internal, T0, wire } from "../../projections/_kv_given.ts";

const s = suite("api/watch_hub");

/** A store whose every applied result goes through the hub, like node/ does. */
class Live extends Given {
  hub = new WatchHub();
  override apply(cmd: Parameters<Given["apply"]>[0]): KvResult {
    const r = super.apply(cmd);
    this.hub?.onKvResult(r); // undefined during the bootstrap writes in super()
    return r;
  }
  watch(key: string, o: { recursive?: boolean; stream?: boolean; waitIndex?: number } = {}) {
    const got: KvEvent[] = [];
    const r = this.hub.watch(this.state, internal(key), o.recursive ?? false, o.stream ?? false, o.waitIndex ?? 0, (e) => got.push(e));
    return { r, got, lines: () => got.map((e) => wire({ type: "event", event: e })) };
  }
}

// ---------------------------------------------------------------------------------------------
// History scans (§6)

s("watch() with a waitIndex in the history returns the first matching event and registers nothing", () => {
  const g = new Live();
  g.put("/k", { value: "1" }); // 4
  g.put("/other", { value: "x" }); // 5
  g.put("/k", { value: "2" }); // 6
  const w = g.watch("/k", { waitIndex: 5, stream: true });
  assert.is(w.r.type, "event");
  assert.is(w.r.type === "event" && w.r.event.node.modifiedIndex, 6);
  assert.is(g.hub.count, 0, "a history hit is never registered live (etcd's quirk)");
  g.put("/k", { value: "3" });
  assert.is(w.got.length, 0, "so an open stream from history gets nothing more");
});

s("history scan: recursive prefix, delete of a directory above the key (plain string prefix), no hidden filter", () => {
  const g = new Live();
  g.put("/d/_h", { value: "1" }); // 4
  g.put("/sd/x", { value: "1" }); // 5
  g.del("/sd", { recursive: true }); // 6
  const hidden = g.watch("/d", { recursive: true, waitIndex: 4 });
  assert.is(hidden.r.type === "event" && hidden.r.event.node.key, "/1/d/_h", "history replay does not hide _ keys");
  const nonRec = g.watch("/d", { waitIndex: 4 });
  assert.is(nonRec.r.type, "watching", "a non-recursive watch does not match a child");
  const below = g.watch("/sd/x/y", { waitIndex: 6 });
  assert.is(below.r.type === "event" && below.r.event.action, "delete");
  const noBoundary = g.watch("/sdx", { waitIndex: 6 });
  assert.is(noBoundary.r.type === "event" && noBoundary.r.event.node.key, "/1/sd", "etcd's prefix check has no slash boundary");
  const future = g.watch("/sd", { waitIndex: 99 });
  assert.is(future.r.type, "watching");
});

s("history scan skips refresh events", () => {
  const g = new Live();
  g.put("/r", { value: "v", ttl: 30 }); // 4
  g.put("/r", { ttl: 60, refresh: true, prevExist: true }); // 5 (refresh)
  const w = g.watch("/r", { waitIndex: 5 });
  assert.is(w.r.type, "watching");
  g.put("/r", { value: "w" }); // 6
  assert.is(w.got[0].index, 6);
});

s("watch() below the oldest history index is error 401 with the current index (§6)", () => {
  const g = new Live().fillTo(1070);
  const w = g.watch("/k", { waitIndex: 5 });
  assert.is(
    w.r.type === "error" && JSON.stringify(w.r.error),
    '{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [71/5]","index":1070}',
  );
  assert.is(g.hub.count, 0);
});

// ---------------------------------------------------------------------------------------------
// Live notification (§6)

s("a one-shot watch fires once with the next event and is removed (captured /w1)", () => {
  const g = new Live().fillTo(43);
  const w = g.watch("/w1");
  assert.is(w.r.type, "watching");
  assert.is(g.hub.count, 1);
  g.put("/w1", { value: "v1" });
  assert.equal(w.lines(), ['{"action":"set","node":{"key":"/w1","value":"v1","modifiedIndex":44,"createdIndex":44}}']);
  assert.is(g.hub.count, 0);
  g.put("/w1", { value: "v2" });
  assert.is(w.got.length, 1);
});

s("a waitIndex beyond the current index skips earlier live events (captured: at 25, waitIndex=28)", () => {
  const g = new Live().fillTo(25);
  const w = g.watch("/k", { waitIndex: 28 });
  g.put("/k", { value: "26" });
  g.put("/k", { value: "27" });
  assert.is(w.got.length, 0);
  g.put("/k", { value: "28" });
  assert.equal(w.got.map((e) => e.index), [28]);
});

s("a stream stays open, one event per write, and a refresh in the middle produces nothing (captured 51, 52, 54)", () => {
  const g = new Live().fillTo(50);
  const w = g.watch("/st", { stream: true });
  g.put("/st", { value: "a", ttl: 100 }); // 51
  g.put("/st", { value: "b", ttl: 100 }); // 52
  g.put("/st", { ttl: 100, refresh: true, prevExist: true }); // 53
  g.put("/st", { value: "c" }); // 54
  assert.equal(w.got.map((e) => e.index), [51, 52, 54]);
  assert.is(g.hub.count, 1);
  if (w.r.type === "watching") w.r.handle.cancel();
  assert.is(g.hub.count, 0);
  g.put("/st", { value: "d" });
  assert.is(w.got.length, 3);
});

s("ancestors need recursive; a non-recursive watch on a directory ignores child changes (captured /wd)", () => {
  const g = new Live();
  g.put("/wd", { dir: true });
  const flat = g.watch("/wd");
  const rec = g.watch("/wd", { recursive: true });
  const root = g.watch("/", { recursive: true });
  g.put("/wd/x/y", { value: "1" });
  assert.is(flat.got.length, 0);
  assert.equal(rec.got.map((e) => e.node.key), ["/1/wd/x/y"]);
  assert.equal(root.got.map((e) => e.node.key), ["/1/wd/x/y"]);
  g.put("/wd", { dir: true, prevExist: true, ttl: 50 });
  assert.equal(flat.got.map((e) => e.action), ["update"], "the directory's own update fires it");
});

s("deleting a directory notifies watchers on every removed descendant with the directory's event (captured /wd/x/y)", () => {
  const g = new Live();
  g.put("/wd/x/y", { value: "1" });
  const deep = g.watch("/wd/x/y");
  const mid = g.watch("/wd/x");
  const never = g.watch("/wd/x/nonexistent");
  g.del("/wd", { recursive: true });
  const expected = '{"action":"delete","node":{"key":"/wd","dir":true,"modifiedIndex":5,"createdIndex":4},"prevNode":{"key":"/wd","dir":true,"modifiedIndex":4,"createdIndex":4}}';
  assert.equal(deep.lines(), [expected]);
  assert.equal(mid.lines(), [expected]);
  assert.is(never.got.length, 0, "checked on etcd 3.4.23: only nodes that existed are called back");
  assert.is(g.hub.count, 1);
});

s("a stream watcher at a deleted key sees the event twice, as etcd 3.4.23 does (checked)", () => {
  const g = new Live();
  g.put("/sw", { value: "1" });
  g.put("/sd/a/b", { value: "1" });
  const file = g.watch("/sw", { stream: true });
  const dir = g.watch("/sd", { stream: true });
  const child = g.watch("/sd/a/b", { stream: true });
  g.del("/sw");
  g.del("/sd", { recursive: true });
  assert.equal(file.got.map((e) => e.index), [6, 6]);
  assert.equal(dir.got.map((e) => e.index), [7, 7]);
  assert.equal(child.got.map((e) => e.index), [7]);
});

s("expiring a directory notifies a watcher on its child with the directory's expire event (captured /expdir)", () => {
  const g = new Live().fillTo(56);
  g.put("/expdir", { dir: true, ttl: 1 }); // 57
  g.put("/expdir/k", { value: "v" }); // 58
  const w = g.watch("/expdir/k");
  g.at(T0 + 1000).expire(); // 59
  assert.equal(w.lines(), [
    capture('{"action":"expire","node":{"key":"/expdir","dir":true,"modifiedIndex":59,"createdIndex":57},"prevNode":{"key":"/expdir","dir":true,"expiration":"2026-11-23T16:06:28.119527425Z","modifiedIndex":57,"createdIndex":57}}'),
  ]);
});

s("a recursive watch does not see _hidden keys below it, a direct watch does (captured /hd)", () => {
  const g = new Live();
  const rec = g.watch("/hd", { recursive: true });
  const top = g.watch("/", { recursive: true, stream: true });
  const direct = g.watch("/hd/_h");
  const underHidden = g.watch("/hd/_h", { recursive: true, stream: true });
  g.put("/hd/_h", { value: "1" });
  g.put("/hd/_h/x", { value: "1" }).type === "error" || assert.unreachable("a file is in the way");
  g.put("/hd/_d/x", { value: "1" });
  g.put("/hd/v", { value: "1" });
  assert.equal(rec.got.map((e) => e.node.key), ["/1/hd/v"]);
  assert.equal(top.got.map((e) => e.node.key), ["/1/hd/v"]);
  assert.equal(direct.got.map((e) => e.node.key), ["/1/hd/_h"]);
  assert.equal(underHidden.got.map((e) => e.node.key), ["/1/hd/_h"]);
});

s("errors and gets notify no one; a watch is only notified by events at or after its since index", () => {
  const g = new Live();
  const w = g.watch("/k", { stream: true, waitIndex: 6 });
  g.put("/k", { value: "x", prevExist: true }); // error
  g.get("/k");
  g.put("/k", { value: "4" }); // 4
  g.put("/k", { value: "5" }); // 5
  g.put("/k", { value: "6" }); // 6
  assert.equal(w.got.map((e) => e.index), [6]);
});

s("cancel() is idempotent, counts stay exact, and a deliver that cancels another watcher stops its delivery", () => {
  const g = new Live();
  const hub = g.hub;
  const got: string[] = [];
  let second: { cancel(): void } | undefined;
  const a = hub.watch(g.state, "/1/k", false, true, 0, () => {
    got.push("a");
    second?.cancel();
  });
  const b = hub.watch(g.state, "/1/k", false, true, 0, () => got.push("b"));
  assert.is(a.type === "watching" && b.type === "watching", true);
  if (b.type === "watching") second = b.handle;
  assert.is(hub.count, 2);
  g.put("/k", { value: "1" });
  assert.equal(got, ["a"]);
  assert.is(hub.count, 1);
  second!.cancel();
  assert.is(hub.count, 1);
  if (a.type === "watching") {
    a.handle.cancel();
    a.handle.cancel();
  }
  assert.is(hub.count, 0);
});

s("watchersMax bounds live watchers with a 300 error", () => {
  const g = new Live();
  g.hub = new WatchHub(1);
  assert.is(g.watch("/a").r.type, "watching");
  const r = g.watch("/b").r;
  assert.is(r.type === "error" && r.error.errorCode, 300);
});

// ---------------------------------------------------------------------------------------------
// A snapshot replaces the state (a member catching up from the leader's snapshot)

s("onKvRestore: waiting watchers get what the new history holds from their index; a cleared index ends the watch", () => {
  const g = new Live(); // this member: bootstrap only
  const leader = new Given(); // the leader went on without it
  for (let i = 0; i < 5; i++) leader.put(`/k${i % 2}`, { value: `v${i}` });
  const since = g.state.index + 2; // the second write on the leader
  const endedA: string[] = [];
  const once: KvEvent[] = [], stream: KvEvent[] = [], cleared: KvEvent[] = [];
  assert.is(g.hub.watch(g.state, internal("/k1"), false, false, since, (e) => once.push(e), () => endedA.push("once")).type, "watching");
  assert.is(g.hub.watch(g.state, internal("/"), true, true, since, (e) => stream.push(e), () => endedA.push("stream")).type, "watching");
  g.state = leader.state;
  g.hub.onKvRestore(g.state);
  assert.equal(once.map((e) => [e.node.key, e.node.value]), [["/1/k1", "v1"]], "a long-poll gets its first match");
  assert.equal(stream.map((e) => e.node.value), ["v1", "v2", "v3", "v4"], "a stream gets every match, in order");
  assert.is(g.hub.count, 1, "the stream stays; the long-poll is done");
  g.apply({ type: "kv/set", path: internal("/k0"), value: "v5", dir: false, ttlSec: null, refresh: false });
  assert.equal(stream.map((e) => e.node.value), ["v1", "v2", "v3", "v4", "v5"], "then live events, none twice");
  assert.equal(endedA, []);

  // A history that no longer reaches the watcher's index: the watch ends with no event, so its
  // client asks again and gets 401 "event index cleared" rather than silently skipping events.
  const g2 = new Live();
  const far = new Given();
  for (let i = 0; i < 1100; i++) far.put("/x", { value: String(i) });
  const ended: string[] = [];
  assert.is(g2.hub.watch(g2.state, internal("/x"), false, false, g2.state.index + 1, (e) => cleared.push(e), () => ended.push("x")).type, "watching");
  g2.state = far.state;
  g2.hub.onKvRestore(g2.state);
  assert.equal(cleared, []);
  assert.equal(ended, ["x"]);
  assert.is(g2.hub.count, 0);
  const again = g2.watch("/x", { waitIndex: 3 }).r;
  assert.is(again.type === "error" && again.error.errorCode, 401);
});

s.run();
