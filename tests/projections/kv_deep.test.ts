// Issue 12, attack 5: a key 100,000 segments deep. Every pure function that walks the tree
// (create, recursive and sorted get, the JSON of a listing, recursive delete, TTL expiry of a
// directory, the watch hub's walk of a removed subtree, snapshot encode/decode through real CBOR)
// must work without recursion proportional to the depth: a stack overflow here is a 500 on every
// listing above the key, or a member that cannot restart.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { KvCommand } from "../../projections/mod.ts";
import { kvGet, kvGetInto, kvNodeCount, kvProjection, type KvResult, type KvState } from "../../projections/mod.ts";
import { createStates } from "../../projections/mod.ts";
import { decodeSnapshot, encodeSnapshot } from "../../projections/mod.ts";
import { eventJson, kvListingJson } from "../../api/etcd_v2/json.ts";
import { WatchHub } from "../../api/etcd_v2/watch_hub.ts";
import type { EpochMs, Index, Term } from "../../internal/brand.ts";
import { T0 } from "./_kv_given.ts";

const s = suite("projections/kv deep keys");

const DEPTH = 100_000;
const deepPath = "/1" + "/a".repeat(DEPTH);

function apply(st: KvState, cmd: KvCommand, timeMs = T0): KvResult {
  return kvProjection.apply(st, cmd, { index: 1 as Index, term: 1 as Term, timeMs: timeMs as EpochMs });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function deepState(ttlSec: number | null = null): KvState {
  const st = kvProjection.initialState();
  // The top directory carries the TTL, so expiry removes the whole deep subtree.
  assert.is(apply(st, { type: "kv/set", path: "/1/a", dir: true, ttlSec, refresh: false }).type, "event");
  const r = apply(st, { type: "kv/set", path: deepPath, value: "deep", ttlSec: null, refresh: false });
  assert.is(r.type, "event");
  return st;
}

s("a 100,000-deep key: recursive and sorted gets, as KvNode trees and through a listing sink", () => {
  const st = deepState();
  assert.is(kvNodeCount(st), 2 + DEPTH);
  for (const sorted of [false, true]) {
    const r = kvGet(st, "/1", { recursive: true, sorted }, T0);
    assert.is(r.type, "event");
    if (r.type !== "event") return;
    let depth = 0;
    for (let n = r.event.node; n.nodes !== undefined; n = n.nodes[0]) depth++;
    assert.is(depth, DEPTH);
    // The sink walk: the same nodes in pre-order, one close() per opened directory.
    let nodes = 0, opened = 0, closed = 0, deepest = "";
    const err = kvGetInto(st, "/1", { recursive: true, sorted }, T0, {
      node(key, value, _dir, _exp, _ttl, _m, _c, opens) {
        nodes++;
        if (opens) opened++;
        if (value !== undefined) deepest = key!;
      },
      close() {
        closed++;
      },
    });
    assert.is(err, undefined);
    assert.is(nodes, 1 + DEPTH);
    assert.is(opened, DEPTH);
    assert.is(closed, DEPTH);
    assert.is(deepest, deepPath);
  }
});

s("the JSON of a 2,000-deep listing: written from the store, and from a KvNode tree, alike", () => {
  // The JSON repeats each node's full key, so it grows with depth squared (100,000 deep would be
  // 10 GB); api/json.test.ts checks the encoders at depth 100,000 with short keys.
  const st = kvProjection.initialState();
  const path = "/1" + "/a".repeat(2000);
  apply(st, { type: "kv/set", path, value: "deep", ttlSec: null, refresh: false });
  for (const sorted of [false, true]) {
    const r = kvGet(st, "/1", { recursive: true, sorted }, T0);
    if (r.type !== "event") throw new Error(r.type);
    const json = eventJson(r.event);
    assert.ok(json.includes(`{"key":"${"/a".repeat(2000)}","value":"deep","modifiedIndex":1,"createdIndex":1}`));
    const direct = kvListingJson(st, "/1", true, sorted, T0, 4096);
    if (!("chunks" in direct)) throw new Error("error");
    assert.ok(direct.chunks.length > 1);
    assert.is(new TextDecoder().decode(concat(direct.chunks)), json);
  }
});

s("a 100,000-deep key: recursive delete, and the watch hub's walk of the removed subtree", () => {
  const st = deepState();
  const hub = new WatchHub();
  const got: string[] = [];
  const w = hub.watch(st, deepPath, false, false, 0, (e) => got.push(e.action), () => {});
  assert.is(w.type, "watching");
  // A recursive watcher at the top sees the delete too.
  hub.watch(st, "/1", true, false, 0, (e) => got.push("top:" + e.action), () => {});
  const r = apply(st, { type: "kv/delete", path: "/1/a", recursive: true });
  assert.is(r.type, "event");
  hub.onKvResult(r);
  assert.equal(got.sort(), ["delete", "top:delete"]);
  assert.is(kvNodeCount(st), 2);
});

s("a 100,000-deep key under a TTL directory: expiry removes it", () => {
  const st = deepState(1);
  const r = apply(st, { type: "kv/expire" }, T0 + 5000);
  assert.is(r.type, "expire");
  if (r.type === "expire") assert.equal(r.events.map((e) => e.node.key), ["/1/a"]);
  assert.is(kvNodeCount(st), 2);
});

s("a 100,000-deep key survives a snapshot through real CBOR", () => {
  const st = deepState();
  const states = createStates();
  states.kv = st;
  const back = decodeSnapshot(encodeSnapshot(states)).kv as KvState;
  assert.is(kvNodeCount(back), kvNodeCount(st));
  const a = kvGet(st, deepPath, { recursive: false, sorted: false }, T0);
  const b = kvGet(back, deepPath, { recursive: false, sorted: false }, T0);
  assert.equal(b, a);
});

s.run();
