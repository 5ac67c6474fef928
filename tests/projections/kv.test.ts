// Given/when/then tests of the kv projection against responses captured from a real etcd 3.4.23
// (writes, errors, TTLs; indexes match etcd's: the store is bootstrapped with the three
// internal /0 writes, and fillTo() puts later writes at the captured indexes).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  kvBootstrapCommands,
  kvNextExpirationMs,
  kvNodeCount,
  kvProjection,
  type KvResult,
  kvScanHistory,
} from "../../projections/mod.ts";
import { kvError, kvErrorHttpStatus, kvErrorMessages } from "../../projections/mod.ts";
import { capture, Given, MEMBER_ID, T0, wire } from "./_kv_given.ts";

const s = suite("projections/kv");

function ev(r: KvResult) {
  assert.is(r.type, "event", JSON.stringify(r));
  return (r as Extract<KvResult, { type: "event" }>).event;
}

function err(r: KvResult) {
  assert.is(r.type, "error", JSON.stringify(r));
  return (r as Extract<KvResult, { type: "error" }>).error;
}

// ---------------------------------------------------------------------------------------------
// Bootstrap and index rules (§3.3)

s("kvBootstrapCommands() makes the first user write index 4, like a fresh etcd 3.4", () => {
  const g = new Given();
  assert.is(g.state.index, 3);
  const r = g.get("/");
  assert.is(wire(r), '{"action":"get","node":{"dir":true}}');
  const members = kvBootstrapCommands(MEMBER_ID, "n1", ["http://127.0.0.1:23800"], ["http://127.0.0.1:23790"]);
  assert.equal(members.map((c) => c.type === "kv/set" && [c.path, c.value, c.prevExist]), [
    [`/0/members/${MEMBER_ID}/raftAttributes`, '{"peerURLs":["http://127.0.0.1:23800"]}', false],
    [`/0/members/${MEMBER_ID}/attributes`, '{"name":"n1","clientURLs":["http://127.0.0.1:23790"]}', undefined],
    ["/0/version", "3.4.0", undefined],
  ]);
  const actions = new Given(false);
  assert.equal(members.map((c) => ev(actions.apply(c)).action), ["create", "set", "set"]);
});

s("kvBootstrapCommands() omits an empty name and empty clientURLs like Go's omitempty", () => {
  const [, attrs] = kvBootstrapCommands("a1", "", ["http://h:1"], []);
  assert.is(attrs.type === "kv/set" && attrs.value, "{}");
});

s("apply() takes exactly one index per successful write and none for a failure or a read", () => {
  const g = new Given();
  ev(g.put("/a", { value: "1" }));
  assert.is(g.state.index, 4);
  err(g.put("/a", { value: "2", prevExist: false }));
  err(g.del("/missing"));
  g.get("/a");
  assert.is(g.state.index, 4);
  ev(g.put("/b/c/d", { value: "1" }));
  assert.is(g.state.index, 5);
});

// ---------------------------------------------------------------------------------------------
// §4.3 captured examples

s("set a new key, get it, overwrite it (createdIndex resets), delete it (§4.3)", () => {
  const g = new Given();
  assert.is(
    wire(g.put("/message", { value: "Hello world" })),
    '{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}',
  );
  const got = g.get("/message");
  assert.is(wire(got), '{"action":"get","node":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}');
  assert.is(ev(got).index, 4, "a get reports the store's current index");
  assert.is(
    wire(g.put("/message", { value: "Hello etcd" })),
    '{"action":"set","node":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}',
  );
  assert.is(
    wire(g.del("/message")),
    '{"action":"delete","node":{"key":"/message","modifiedIndex":6,"createdIndex":5},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5}}',
  );
});

s("ttl=5 gives ttl 5, counts down on get, refresh with prevExist is an update keeping createdIndex (§4.3)", () => {
  const g = new Given().fillTo(6);
  const set = g.put("/foo", { value: "bar", ttl: 5 });
  assert.is(
    wire(set),
    capture('{"action":"set","node":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:37.058048107Z","ttl":5,"modifiedIndex":7,"createdIndex":7}}'),
  );
  assert.is(ev(set).node.expirationMs, T0 + 5000);
  g.at(T0 + 1500);
  assert.is(ev(g.get("/foo")).node.ttl, 4);
  assert.is(ev(g.get("/foo")).node.expirationMs, T0 + 5000, "same expiration");
  g.at(T0 + 2500);
  const refresh = g.put("/foo", { ttl: 20, refresh: true, prevExist: true });
  assert.is(
    wire(refresh),
    capture('{"action":"update","node":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:54.104026883Z","ttl":20,"modifiedIndex":8,"createdIndex":7},"prevNode":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:37.058048107Z","ttl":3,"modifiedIndex":7,"createdIndex":7}}'),
  );
  assert.is(ev(refresh).refresh, true);
  assert.is(ev(refresh).node.expirationMs, T0 + 2500 + 20000);
  // An absent ttl on a set makes the node permanent (it is a new node).
  assert.is(
    wire(g.put("/foo", { value: "bar" })),
    '{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":9,"createdIndex":9},"prevNode":{"key":"/foo","value":"bar","expiration":"E","ttl":20,"modifiedIndex":8,"createdIndex":7}}',
  );
  assert.is(kvNextExpirationMs(g.state), undefined, "the TTL left the heap with the old node");
});

s("refresh without prevExist is a set that recreates the node; with prevValue a compareAndSwap; ttl=0 expires at the next tick (§4.3, §7)", () => {
  const g = new Given().fillTo(11);
  ev(g.put("/r1", { value: "v", ttl: 30 }));
  const r = g.put("/r1", { ttl: 60, refresh: true });
  assert.is(
    wire(r),
    '{"action":"set","node":{"key":"/r1","value":"v","expiration":"E","ttl":60,"modifiedIndex":13,"createdIndex":13},"prevNode":{"key":"/r1","value":"v","expiration":"E","ttl":30,"modifiedIndex":12,"createdIndex":12}}',
  );
  assert.is(ev(r).refresh, true);
  const cas = g.put("/r1", { ttl: 60, refresh: true, prevValue: "v" });
  assert.is(
    wire(cas),
    '{"action":"compareAndSwap","node":{"key":"/r1","value":"v","expiration":"E","ttl":60,"modifiedIndex":14,"createdIndex":13},"prevNode":{"key":"/r1","value":"v","expiration":"E","ttl":60,"modifiedIndex":13,"createdIndex":13}}',
  );
  assert.is(ev(cas).refresh, true);
  const zero = g.put("/r1", { ttl: 0, value: "1" });
  assert.is(
    wire(zero),
    '{"action":"set","node":{"key":"/r1","value":"1","expiration":"E","modifiedIndex":15,"createdIndex":15},"prevNode":{"key":"/r1","value":"v","expiration":"E","ttl":60,"modifiedIndex":14,"createdIndex":13}}',
  );
  assert.is(ev(zero).node.expirationMs, T0, "ttl=0 expires at the write's own time");
  assert.is(kvNextExpirationMs(g.state), T0);
  // Between expiry and reaping a get shows the expiration and no ttl.
  assert.is(wire(g.get("/r1")), '{"action":"get","node":{"key":"/r1","value":"1","expiration":"E","modifiedIndex":15,"createdIndex":15}}');
  g.at(T0 + 500);
  assert.is(
    wire(g.expire()),
    '{"action":"expire","node":{"key":"/r1","modifiedIndex":16,"createdIndex":15},"prevNode":{"key":"/r1","value":"1","expiration":"E","modifiedIndex":15,"createdIndex":15}}',
  );
  assert.is(wire(g.get("/r1")), '{"errorCode":100,"message":"Key not found","cause":"/r1","index":16}');
});

s("refresh on a missing key gives 100 and takes no index (§7)", () => {
  const g = new Given();
  assert.is(wire(g.put("/nokey", { ttl: 5, refresh: true })), '{"errorCode":100,"message":"Key not found","cause":"/nokey","index":3}');
  assert.is(wire(g.put("/nokey", { ttl: 5, refresh: true, prevExist: true })), '{"errorCode":100,"message":"Key not found","cause":"/nokey","index":3}');
  assert.is(g.state.index, 3);
});

s("directories: set, 102 on re-set, listings hide _ children, recursive sorted, empty dir has no nodes (§4.3)", () => {
  const g = new Given().fillTo(16);
  assert.is(wire(g.put("/dir", { dir: true })), '{"action":"set","node":{"key":"/dir","dir":true,"modifiedIndex":17,"createdIndex":17}}');
  assert.is(wire(g.put("/dir", { dir: true })), '{"errorCode":102,"message":"Not a file","cause":"/dir","index":17}');
  ev(g.put("/dir/a", { value: "1" }));
  ev(g.put("/dir/sub/b", { value: "2" }));
  ev(g.put("/dir/_hidden", { value: "h" }));
  assert.is(
    wire(g.get("/dir")),
    '{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":18,"createdIndex":18},{"key":"/dir/sub","dir":true,"modifiedIndex":19,"createdIndex":19}],"modifiedIndex":17,"createdIndex":17}}',
  );
  assert.is(
    wire(g.get("/dir", { recursive: true, sorted: true })),
    '{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":18,"createdIndex":18},{"key":"/dir/sub","dir":true,"nodes":[{"key":"/dir/sub/b","value":"2","modifiedIndex":19,"createdIndex":19}],"modifiedIndex":19,"createdIndex":19}],"modifiedIndex":17,"createdIndex":17}}',
  );
  assert.is(wire(g.get("/dir/_hidden")), '{"action":"get","node":{"key":"/dir/_hidden","value":"h","modifiedIndex":20,"createdIndex":20}}');
  ev(g.put("/emptydir", { dir: true }));
  assert.is(wire(g.get("/emptydir")), '{"action":"get","node":{"key":"/emptydir","dir":true,"modifiedIndex":21,"createdIndex":21}}');
  // dir=true on an existing file turns it into a directory.
  ev(g.put("/f1", { value: "file" }));
  assert.is(
    wire(g.put("/f1", { dir: true })),
    '{"action":"set","node":{"key":"/f1","dir":true,"modifiedIndex":23,"createdIndex":23},"prevNode":{"key":"/f1","value":"file","modifiedIndex":22,"createdIndex":22}}',
  );
  g.fillTo(24);
  ev(g.put("/f2", { value: "file" }));
  assert.is(wire(g.put("/f2/x", { value: "1" })), '{"errorCode":104,"message":"Not a directory","cause":"/f2","index":25}');
  assert.is(wire(g.get("/f2/x/y")), '{"errorCode":104,"message":"Not a directory","cause":"/f2","index":25}');
  // A TTL update on a directory shows the new index in its event; the directory keeps its own.
  const upd = ev(g.put("/dir", { dir: true, prevExist: true, ttl: 100 }));
  assert.is(upd.node.modifiedIndex, 26);
  assert.is(upd.node.createdIndex, 17);
  assert.is(ev(g.get("/dir")).node.modifiedIndex, 17);
});

s("a directory whose only children are hidden is listed without nodes (§3.1)", () => {
  const g = new Given();
  ev(g.put("/hd/_only", { value: "x" }));
  assert.is(wire(g.get("/hd")), '{"action":"get","node":{"key":"/hd","dir":true,"modifiedIndex":4,"createdIndex":4}}');
  assert.is(ev(g.get("/", { recursive: true })).node.nodes!.length, 1);
});

s("a directory with a TTL lists its ttl; updatedir with ttl updates it (§4.3)", () => {
  const g = new Given().fillTo(31);
  ev(g.put("/td", { dir: true, ttl: 100 }));
  ev(g.put("/td/k", { value: "1" }));
  assert.is(
    wire(g.get("/td")),
    capture('{"action":"get","node":{"key":"/td","dir":true,"expiration":"2026-11-23T16:41:05.189864938Z","ttl":100,"nodes":[{"key":"/td/k","value":"1","modifiedIndex":33,"createdIndex":33}],"modifiedIndex":32,"createdIndex":32}}'),
  );
  assert.is(
    wire(g.put("/td", { dir: true, prevExist: true, ttl: 200 })),
    '{"action":"update","node":{"key":"/td","dir":true,"expiration":"E","ttl":200,"modifiedIndex":34,"createdIndex":32},"prevNode":{"key":"/td","dir":true,"expiration":"E","ttl":100,"modifiedIndex":32,"createdIndex":32}}',
  );
  // updatedir without ttl clears the TTL.
  const clear = ev(g.put("/td", { dir: true, prevExist: true }));
  assert.is(clear.node.expirationMs, undefined);
  assert.is(kvNextExpirationMs(g.state), undefined);
});

s("update with dir=true on a file sets its value to empty; update of a dir with a value gives 102 (§4.2)", () => {
  const g = new Given();
  ev(g.put("/uf", { value: "x" }));
  assert.is(
    wire(g.put("/uf", { dir: true, prevExist: true })),
    '{"action":"update","node":{"key":"/uf","value":"","modifiedIndex":5,"createdIndex":4},"prevNode":{"key":"/uf","value":"x","modifiedIndex":4,"createdIndex":4}}',
  );
  ev(g.put("/ud", { dir: true }));
  assert.is(wire(g.put("/ud", { value: "v", prevExist: true })), '{"errorCode":102,"message":"Not a file","cause":"/ud","index":6}');
});

s("create, 105 on an existing key, update, compareAndSwap and its three 101 causes (§4.3)", () => {
  const g = new Given().fillTo(28);
  assert.is(
    wire(g.put("/c", { value: "one", prevExist: false })),
    '{"action":"create","node":{"key":"/c","value":"one","modifiedIndex":29,"createdIndex":29}}',
  );
  assert.is(wire(g.put("/c", { value: "one", prevExist: false })), '{"errorCode":105,"message":"Key already exists","cause":"/c","index":29}');
  assert.is(
    wire(g.put("/c", { value: "two", prevExist: true })),
    '{"action":"update","node":{"key":"/c","value":"two","modifiedIndex":30,"createdIndex":29},"prevNode":{"key":"/c","value":"one","modifiedIndex":29,"createdIndex":29}}',
  );
  assert.is(
    wire(g.put("/c", { value: "three", prevValue: "two" })),
    '{"action":"compareAndSwap","node":{"key":"/c","value":"three","modifiedIndex":31,"createdIndex":29},"prevNode":{"key":"/c","value":"two","modifiedIndex":30,"createdIndex":29}}',
  );
  assert.is(wire(g.put("/c", { value: "three", prevValue: "wrong" })), '{"errorCode":101,"message":"Compare failed","cause":"[wrong != three]","index":31}');
  assert.is(wire(g.put("/c", { value: "four", prevIndex: 1 })), '{"errorCode":101,"message":"Compare failed","cause":"[1 != 31]","index":31}');
  assert.is(
    wire(g.put("/c", { value: "four", prevIndex: 1, prevValue: "wrong" })),
    '{"errorCode":101,"message":"Compare failed","cause":"[wrong != three] [1 != 31]","index":31}',
  );
  // prevExist=true with a compare field is a compareAndSwap; prevExist=false ignores them.
  assert.is(ev(g.put("/c", { value: "five", prevExist: true, prevIndex: 31 })).action, "compareAndSwap");
  assert.is(err(g.put("/c", { value: "x", prevExist: false, prevValue: "five" })).errorCode, 105);
});

s("compareAndSwap on a missing key is 100, on a directory 102, on the root 107 (§4.2)", () => {
  const g = new Given();
  assert.is(wire(g.put("/nope", { value: "x", prevValue: "y" })), '{"errorCode":100,"message":"Key not found","cause":"/nope","index":3}');
  ev(g.put("/d", { dir: true }));
  assert.is(wire(g.put("/d", { value: "x", prevValue: "y" })), '{"errorCode":102,"message":"Not a file","cause":"/d","index":4}');
  assert.is(wire(g.put("/", { value: "x", prevValue: "y" })), '{"errorCode":107,"message":"Root is read only","cause":"/","index":4}');
  assert.is(wire(g.put("/", { value: "x" })), '{"errorCode":107,"message":"Root is read only","cause":"/","index":4}');
  assert.is(wire(g.put("/", { value: "x", prevExist: true })), '{"errorCode":107,"message":"Root is read only","cause":"/","index":4}');
  assert.is(wire(g.put("/", { dir: true, prevExist: false })), '{"errorCode":107,"message":"Root is read only","cause":"/","index":4}');
});

s("POST creates %020d children, implicit parent at the first index, honours dir and ttl, 104 into a file (§4.3)", () => {
  const g = new Given();
  ev(g.put("/c", { value: "x" }));
  g.fillTo(32);
  assert.is(
    wire(g.post("/queue", { value: "Job1" })),
    '{"action":"create","node":{"key":"/queue/00000000000000000033","value":"Job1","modifiedIndex":33,"createdIndex":33}}',
  );
  assert.is(ev(g.post("/queue", { value: "Job2" })).node.key, "/1/queue/00000000000000000034");
  assert.is(
    wire(g.post("/queue", { dir: true })),
    '{"action":"create","node":{"key":"/queue/00000000000000000035","dir":true,"modifiedIndex":35,"createdIndex":35}}',
  );
  assert.is(
    wire(g.post("/queue", { value: "Job3", ttl: 100 })),
    capture('{"action":"create","node":{"key":"/queue/00000000000000000036","value":"Job3","expiration":"2026-11-23T16:07:36.155556637Z","ttl":100,"modifiedIndex":36,"createdIndex":36}}'),
  );
  assert.is(wire(g.post("/c", { value: "x" })), '{"errorCode":104,"message":"Not a directory","cause":"/c","index":36}');
  const q = ev(g.get("/queue"));
  assert.is(q.node.createdIndex, 33);
  assert.is(q.node.modifiedIndex, 33);
  // POST on the root creates an in-order child of it.
  assert.is(ev(g.post("/", { value: "r" })).node.key, "/1/00000000000000000037");
});

s("deletes: 102 without dir, 108 non-empty, 107 root, empty dir, recursive, compareAndDelete, dir=true on a file (§4.3)", () => {
  const g = new Given().fillTo(16);
  ev(g.put("/dir", { dir: true }));
  ev(g.put("/dir/a", { value: "1" }));
  g.fillTo(20);
  ev(g.put("/emptydir", { dir: true }));
  g.fillTo(28);
  ev(g.put("/c", { value: "one", prevExist: false }));
  g.fillTo(31);
  ev(g.put("/c", { value: "five", prevExist: true }));
  g.fillTo(37);
  ev(g.put("/f2", { value: "file" }));
  assert.is(wire(g.del("/dir")), '{"errorCode":102,"message":"Not a file","cause":"/dir","index":38}');
  assert.is(wire(g.del("/dir", { dir: true })), '{"errorCode":108,"message":"Directory not empty","cause":"/dir","index":38}');
  assert.is(wire(g.del("/")), '{"errorCode":107,"message":"Root is read only","cause":"/","index":38}');
  assert.is(
    wire(g.del("/emptydir", { dir: true })),
    '{"action":"delete","node":{"key":"/emptydir","dir":true,"modifiedIndex":39,"createdIndex":21},"prevNode":{"key":"/emptydir","dir":true,"modifiedIndex":21,"createdIndex":21}}',
  );
  assert.is(
    wire(g.del("/dir", { recursive: true })),
    '{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":40,"createdIndex":17},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":17,"createdIndex":17}}',
  );
  assert.is(
    wire(g.del("/c", { prevValue: "five" })),
    '{"action":"compareAndDelete","node":{"key":"/c","modifiedIndex":41,"createdIndex":29},"prevNode":{"key":"/c","value":"five","modifiedIndex":32,"createdIndex":29}}',
  );
  assert.is(ev(g.del("/f2", { dir: true })).action, "delete");
  // Deleting the root by compare gives 102 with no cause (internally "/1", which api/ strips).
  const root = err(g.del("/", { prevValue: "x" }));
  assert.is(wireRootError(root), '{"errorCode":102,"message":"Not a file","index":42}');
  assert.is(root.cause, "/1");
  assert.is(wire(g.get("/dir/a")), '{"errorCode":100,"message":"Key not found","cause":"/dir","index":42}');
});

function wireRootError(e: { errorCode: number; message: string; cause?: string; index: number }): string {
  return wire({ type: "error", error: e });
}

s("compareAndDelete: 101 on mismatch, 102 on a directory, prevIndex alone works", () => {
  const g = new Given();
  ev(g.put("/k", { value: "v" }));
  assert.is(wire(g.del("/k", { prevValue: "w" })), '{"errorCode":101,"message":"Compare failed","cause":"[w != v]","index":4}');
  assert.is(wire(g.del("/k", { prevIndex: 9 })), '{"errorCode":101,"message":"Compare failed","cause":"[9 != 4]","index":4}');
  ev(g.put("/d", { dir: true }));
  assert.is(wire(g.del("/d", { prevIndex: 5 })), '{"errorCode":102,"message":"Not a file","cause":"/d","index":5}');
  assert.is(ev(g.del("/k", { prevIndex: 4 })).action, "compareAndDelete");
});

// ---------------------------------------------------------------------------------------------
// §5 errors

s("100's cause is the first missing path component (§5)", () => {
  const g = new Given();
  assert.is(wire(g.get("/_etcd/machines")), '{"errorCode":100,"message":"Key not found","cause":"/_etcd","index":3}');
  ev(g.put("/expdir", { dir: true, ttl: 1 }));
  ev(g.put("/expdir/k", { value: "v" }));
  g.at(T0 + 1000);
  assert.is(g.expire().type, "expire");
  assert.is(wire(g.get("/expdir/k")), '{"errorCode":100,"message":"Key not found","cause":"/expdir","index":6}');
});

s("kvScanHistory() gives 401 with the oldest index and the current index (§5, §9.2 captures)", () => {
  const g = new Given().fillTo(1070);
  assert.is(
    JSON.stringify(kvScanHistory(g.state, "/1/x", false, 5)),
    '{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [71/5]","index":1070}',
  );
  const h = new Given().fillTo(1014);
  const e = kvScanHistory(h.state, "/1/ne/w", true, 1) as { cause: string; index: number };
  assert.is(e.cause, "the requested history has been cleared [15/1]");
  assert.is(e.index, 1014);
  assert.is(kvScanHistory(h.state, "/1/ne/w", true, 15), undefined, "the oldest index itself is still held");
});

s("kv errors: exact messages and HTTP statuses (§5)", () => {
  assert.is(kvErrorMessages.size, 32);
  assert.is(kvErrorMessages.get(212), "A TTL must be provided on refresh");
  assert.is(kvErrorMessages.get(401), "The event in requested index is outdated and cleared");
  assert.equal(kvError(212, "No TTL value set", 0), { errorCode: 212, message: "A TTL must be provided on refresh", cause: "No TTL value set", index: 0 });
  assert.is(JSON.stringify(kvError(102, "", 43)), '{"errorCode":102,"message":"Not a file","index":43}');
  assert.equal([100, 101, 102, 104, 105, 107, 108, 110, 209, 300, 301, 401].map(kvErrorHttpStatus), [
    404, 412, 403, 400, 412, 400, 403, 401, 400, 500, 500, 400,
  ]);
});

// ---------------------------------------------------------------------------------------------
// §7 TTL and expiry

s("kv/expire removes every node due, in expiration order, one index and one event each; a dir goes as one event (§7)", () => {
  const g = new Given().fillTo(54);
  ev(g.put("/exp", { value: "soon", ttl: 2 }));
  g.fillTo(56);
  ev(g.put("/expdir", { dir: true, ttl: 3 }));
  ev(g.put("/expdir/k", { value: "v", ttl: 100 }));
  ev(g.put("/later", { value: "x", ttl: 10 }));
  assert.is(kvNextExpirationMs(g.state), T0 + 2000);
  g.at(T0 + 1999);
  assert.equal((g.expire() as { events: unknown[] }).events, []);
  assert.is(g.state.index, 59);
  g.at(T0 + 3000);
  const r = g.expire();
  assert.is(
    wire(r),
    capture(
      '{"action":"expire","node":{"key":"/exp","modifiedIndex":60,"createdIndex":55},"prevNode":{"key":"/exp","value":"soon","expiration":"2026-11-23T16:06:26.896812744Z","modifiedIndex":55,"createdIndex":55}}\n' +
        '{"action":"expire","node":{"key":"/expdir","dir":true,"modifiedIndex":61,"createdIndex":57},"prevNode":{"key":"/expdir","dir":true,"expiration":"2026-11-23T16:06:28.119527425Z","modifiedIndex":57,"createdIndex":57}}',
    ),
  );
  assert.is(kvNextExpirationMs(g.state), T0 + 10000, "the child's TTL left the heap with its directory");
  assert.is(g.state.index, 61);
});

s("expiry ties break by the writing index, so replay pops in the same order", () => {
  const g = new Given();
  ev(g.put("/b", { value: "1", ttl: 1 }));
  ev(g.put("/a", { value: "1", ttl: 1 }));
  ev(g.put("/b", { value: "2", ttl: 1, prevExist: true }));
  g.at(T0 + 1000);
  const r = g.expire() as { events: { node: { key?: string } }[] };
  assert.equal(r.events.map((e) => e.node.key), ["/1/a", "/1/b"]);
});

s("update and compareAndSwap without ttl remove an existing TTL (§7)", () => {
  const g = new Given();
  ev(g.put("/k", { value: "1", ttl: 5 }));
  assert.is(ev(g.put("/k", { value: "2", prevExist: true })).node.expirationMs, undefined);
  ev(g.put("/k", { value: "3", ttl: 5, prevExist: true }));
  assert.is(kvNextExpirationMs(g.state), T0 + 5000);
  assert.is(ev(g.put("/k", { value: "4", prevValue: "3" })).node.expirationMs, undefined);
  assert.is(kvNextExpirationMs(g.state), undefined);
});

s("a ttl that is not a finite non-negative number is a 202 result, never a throw", () => {
  const g = new Given();
  assert.is(err(g.put("/k", { value: "1", ttl: -1 })).errorCode, 202);
  assert.is(err(g.post("/q", { ttl: Number.NaN })).errorCode, 202);
  assert.is(g.state.index, 3);
});

// ---------------------------------------------------------------------------------------------
// Hidden nodes, sorting, paths, counts

s("kvGet() sorts children as UTF-8 bytes when sorted=true", () => {
  const g = new Given();
  for (const k of ["b", "a", "\u{1F600}", "\uFF21", "B"]) ev(g.put("/s/" + k, { value: "1" }));
  const keys = ev(g.get("/s", { sorted: true })).node.nodes!.map((n) => n.key!.slice(5));
  assert.equal(keys, ["B", "a", "b", "\uFF21", "\u{1F600}"]);
  const unsorted = ev(g.get("/s")).node.nodes!.map((n) => n.key!.slice(5));
  assert.equal(unsorted, ["b", "a", "\u{1F600}", "\uFF21", "B"], "insertion order without sorted");
});

s("apply() cleans unclean paths like Go's path.Clean", () => {
  const g = new Given();
  assert.is(ev(g.apply({ type: "kv/set", path: "/1//x/./y/", value: "v", dir: false, ttlSec: null, refresh: false })).node.key, "/1/x/y");
  assert.is(wire(g.get("/x/y/")), '{"action":"get","node":{"key":"/x/y","value":"v","modifiedIndex":4,"createdIndex":4}}');
});

s("kvNodeCount() counts nodes below the root, implicit directories included, and drops removed subtrees", () => {
  const g = new Given();
  const base = kvNodeCount(g.state); // /0, /1, /0/members, /0/members/<id>, two attribute files, /0/version
  assert.is(base, 7);
  ev(g.put("/a/b/c", { value: "1" }));
  assert.is(kvNodeCount(g.state), base + 3);
  ev(g.del("/a", { recursive: true }));
  assert.is(kvNodeCount(g.state), base);
});

s("decodeState(encodeState()) is exact: tree, TTLs, history and listing order", () => {
  const g = new Given();
  ev(g.put("/z", { value: "1", ttl: 5 }));
  ev(g.put("/a/_h", { value: "2" }));
  ev(g.put("/a/b", { dir: true, ttl: 7 }));
  ev(g.put("/z", { ttl: 9, refresh: true, prevExist: true }));
  ev(g.del("/a/_h"));
  const enc = kvProjection.encodeState(g.state);
  const copy = kvProjection.decodeState(structuredClone(enc), 1);
  assert.equal(kvProjection.encodeState(copy), enc);
  assert.is(copy.index, g.state.index);
  assert.is(kvNodeCount(copy), kvNodeCount(g.state));
  assert.is(kvNextExpirationMs(copy), kvNextExpirationMs(g.state));
  assert.equal(kvScanHistory(copy, "/1/z", false, 4), kvScanHistory(g.state, "/1/z", false, 4));
});

s.run();
