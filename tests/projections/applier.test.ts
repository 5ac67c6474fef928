// The one apply path (projections/applier.ts): conf change entries fold into the members projection,
// a state restored from a snapshot mid-log continues to the same bytes as a straight apply (what
// `log verify` relies on), subscribers hear results and restores, due() asks each projection, and a
// command no projection owns or an undecodable conf change is handled as documented.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { encodeConfChange } from "../../log/conf_change.ts";
import { ConfChangeType, type Entry, EntryType } from "../../log/types.ts";
import {
  Applier,
  type Command,
  CorruptEntryError,
  decodeSnapshot,
  encodeConfChangeContext,
  encodeEntry,
  encodeSnapshot,
  type KvResult,
  type KvState,
  type ResultFor,
  type StateOf,
} from "../../projections/mod.ts";

const s = suite("projections/applier");
const T0 = Date.UTC(2026, 11, 7);

function confEntry(index: number, type: ConfChangeType, id: string, name = "", peerURLs: string[] = []): Entry {
  const context = type === ConfChangeType.RemoveNode ? new Uint8Array(0) : encodeConfChangeContext({ name, peerURLs });
  return { index, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type, nodeId: id, context }) };
}

function cmdEntry(index: number, command: Command, timeMs = T0 + index * 1000): Entry {
  return { index, term: 2, type: EntryType.Normal, data: encodeEntry({ timeMs, proposer: "a1", requestId: index, command }) };
}

const set = (key: string, value: string, ttlSec: number | null = null): Command => ({
  type: "kv/set",
  path: "/1/" + key,
  value,
  dir: false,
  ttlSec,
  refresh: false,
});

s("apply() folds conf change entries into the members projection (add, update, remove)", () => {
  const a = new Applier();
  a.apply(confEntry(1, ConfChangeType.AddNode, "a1", "one", ["http://127.0.0.1:1"]));
  a.apply(confEntry(2, ConfChangeType.AddNode, "b2", "two", ["http://127.0.0.1:2"]));
  a.apply(cmdEntry(3, { type: "member/attributes", id: "a1", name: "one", clientURLs: ["http://127.0.0.1:11"] }));
  a.apply(confEntry(4, ConfChangeType.UpdateNode, "b2", "two", ["http://127.0.0.1:22"]));
  const removed = a.apply(confEntry(5, ConfChangeType.RemoveNode, "b2"));
  assert.is(removed.kind, "conf-change");
  const m = a.state("members");
  assert.equal([...m.members.keys()], ["a1"]);
  assert.equal(m.members.get("a1")?.clientURLs, ["http://127.0.0.1:11"]);
  assert.ok(m.removed.has("b2"));
  assert.is(a.applied, 5);
});

s("apply() refuses an index out of order and names an undecodable conf change", () => {
  const a = new Applier();
  assert.throws(() => a.apply(cmdEntry(2, set("x", "1"))), /apply 2 after 0/);
  const bad: Entry = { index: 1, term: 1, type: EntryType.ConfChange, data: new Uint8Array([9, 9]) };
  assert.throws(() => a.apply(bad), (e: unknown) => e instanceof CorruptEntryError && (e as CorruptEntryError).index === 1);
});

s("a command no projection owns is an unknown-command result, and the index moves on", () => {
  const a = new Applier();
  const r = a.apply(cmdEntry(1, { type: "later/thing", x: 1 } as unknown as Command));
  assert.equal(r.kind === "command" ? r.result : undefined, { type: "unknown-command", commandType: "later/thing" });
  assert.is(a.applied, 1);
});

s("subscribers hear each result of their projection and each restore", () => {
  const a = new Applier();
  const seen: string[] = [];
  a.subscribe("kv", {
    onResult: (r: KvResult) => seen.push(r.type),
    onRestore: (st: KvState) => seen.push(`restore@${st.index}`),
  });
  a.apply(cmdEntry(1, set("x", "1")));
  a.apply(confEntry(2, ConfChangeType.AddNode, "a1"));
  a.apply(cmdEntry(3, { type: "kv/delete", path: "/1/nope", dir: false, recursive: false }));
  const snap = encodeSnapshot(a.states);
  a.restore(decodeSnapshot(snap), 3);
  assert.equal(seen, ["event", "error", "restore@1"]);
});

s("due() asks every projection with the leader's clock: kv/expire once a TTL is due", () => {
  const a = new Applier();
  a.apply(cmdEntry(1, set("t", "v", 5), T0));
  assert.equal(a.due(T0 + 4_999), []);
  assert.equal(a.due(T0 + 5_000), [{ projection: "kv", commands: [{ type: "kv/expire" }] }]);
});

s("the registry's types: a state and a command's result come out typed", () => {
  const a = new Applier();
  // Compile-time checks: these assignments fail `deno check` if the registry loses its types.
  const kv: StateOf<"kv"> = a.state("kv");
  const r: ResultFor<{ type: "kv/expire" }> = { type: "expire", events: [] } satisfies KvResult;
  assert.is(kv.index, 0);
  assert.is(r.type, "expire");
});

// Random logs of kv writes (TTLs and expiry included) and membership changes: a replay that starts
// from a snapshot taken anywhere ends at the same snapshot bytes as the straight replay.
const arbStep = fc.oneof(
  fc.record({ k: fc.constant("set"), key: fc.constantFrom("a", "b", "d/c"), v: fc.string({ maxLength: 4 }), ttl: fc.option(fc.integer({ min: 1, max: 3 })) }),
  fc.record({ k: fc.constant("del"), key: fc.constantFrom("a", "b", "d") }),
  fc.record({ k: fc.constant("expire") }),
  fc.record({ k: fc.constant("add"), id: fc.constantFrom("b1", "c2", "d3") }),
  fc.record({ k: fc.constant("remove"), id: fc.constantFrom("b1", "c2", "d3") }),
  fc.record({ k: fc.constant("noop") }),
);

function entriesOf(steps: { k: string; [f: string]: unknown }[]): Entry[] {
  const out: Entry[] = [confEntry(1, ConfChangeType.AddNode, "a1", "one", ["http://127.0.0.1:1"])];
  for (const st of steps) {
    const i = out.length + 1;
    switch (st.k) {
      case "set":
        out.push(cmdEntry(i, set(st.key as string, st.v as string, (st.ttl as number | null) ?? null)));
        break;
      case "del":
        out.push(cmdEntry(i, { type: "kv/delete", path: "/1/" + st.key, dir: true, recursive: true }));
        break;
      case "expire":
        out.push(cmdEntry(i, { type: "kv/expire" }));
        break;
      case "add":
        out.push(confEntry(i, ConfChangeType.AddNode, st.id as string, "n", ["http://127.0.0.1:9"]));
        break;
      case "remove":
        out.push(confEntry(i, ConfChangeType.RemoveNode, st.id as string));
        break;
      default:
        out.push({ index: i, term: 2, type: EntryType.Normal, data: new Uint8Array(0) });
    }
  }
  return out;
}

s("restoring a snapshot taken at any index and applying the rest gives the straight apply's bytes", () => {
  fc.assert(
    fc.property(fc.array(arbStep, { minLength: 1, maxLength: 40 }), fc.nat(), (steps, cut) => {
      const entries = entriesOf(steps);
      const at = 1 + (cut % entries.length);
      const straight = new Applier();
      let snap: Uint8Array | undefined;
      for (const e of entries) {
        straight.apply(e);
        if (e.index === at) snap = encodeSnapshot(straight.states);
      }
      const resumed = Applier.fromSnapshot(snap!, at);
      for (const e of entries.slice(at)) resumed.apply(e);
      assert.equal(encodeSnapshot(resumed.states), encodeSnapshot(straight.states));
    }),
    { numRuns: 200 },
  );
});

s.run();
