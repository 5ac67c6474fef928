// Property tests of the kv projection: replay determinism across a snapshot. Random command
// sequences applied live must give the same results and the same final state as the same
// sequence applied with an encodeState -> CBOR -> decodeState round trip at a random point.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
// The "encode"/"decode" entry points are cbor-x in plain JavaScript: its main entry loads the
// native cbor-extract addon, which Deno cannot load (the process dies with a symbol error).
import { Encoder } from "cbor-x/encode";
import { Decoder } from "cbor-x/decode";
import type { KvCommand } from "../../projections/mod.ts";
import { kvGet, kvNextExpirationMs, kvNodeCount, kvProjection, type KvState } from "../../projections/mod.ts";
import { kvBootstrapCommands } from "../../projections/mod.ts";
import { T0 } from "./_kv_given.ts";

const s = suite("projections/kv replay");

// The same options as internal/cbor.ts, so the snapshot survives real CBOR.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

const component = fc.constantFrom("a", "b", "_h", "c");
const path = fc.array(component, { minLength: 0, maxLength: 3 }).map((cs) => "/1" + cs.map((c) => "/" + c).join(""));
const value = fc.constantFrom("v0", "v1", "v2", "");
const ttl = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 2 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

const setCmd: fc.Arbitrary<KvCommand> = fc.record({
  type: fc.constant("kv/set" as const),
  path,
  value,
  dir: fc.boolean(),
  ttlSec: ttl,
  refresh: fc.boolean(),
  prevExist: maybe(fc.boolean()),
  prevValue: maybe(fc.constantFrom("v0", "v1")),
  prevIndex: maybe(fc.integer({ min: 0, max: 40 })),
}).map((c) => JSON.parse(JSON.stringify(c)) as KvCommand); // drop undefined fields like a decoded entry

const postCmd: fc.Arbitrary<KvCommand> = fc.record({
  type: fc.constant("kv/create-in-order" as const),
  path,
  value,
  dir: fc.boolean(),
  ttlSec: ttl,
});

const delCmd: fc.Arbitrary<KvCommand> = fc.record({
  type: fc.constant("kv/delete" as const),
  path,
  dir: fc.boolean(),
  recursive: fc.boolean(),
  prevValue: maybe(fc.constantFrom("v0", "v1")),
  prevIndex: maybe(fc.integer({ min: 0, max: 40 })),
}).map((c) => JSON.parse(JSON.stringify(c)) as KvCommand);

const expireCmd: fc.Arbitrary<KvCommand> = fc.constant({ type: "kv/expire" as const });

const step = fc.record({
  cmd: fc.oneof({ weight: 5, arbitrary: setCmd }, { weight: 1, arbitrary: postCmd }, { weight: 2, arbitrary: delCmd }, {
    weight: 2,
    arbitrary: expireCmd,
  }),
  dtMs: fc.integer({ min: 0, max: 1500 }),
});

function fresh(): KvState {
  const st = kvProjection.initialState();
  for (const c of kvBootstrapCommands("a1", "n1", ["http://h:2380"], ["http://h:2379"])) {
    kvProjection.apply(st, c, { index: 0, term: 1, timeMs: T0 });
  }
  return st;
}

function run(st: KvState, steps: { cmd: KvCommand; dtMs: number }[], t0: number): { results: string[]; t: number } {
  let t = t0;
  const results: string[] = [];
  for (const { cmd, dtMs } of steps) {
    t += dtMs;
    results.push(JSON.stringify(kvProjection.apply(st, cmd, { index: 0, term: 1, timeMs: t })));
  }
  return { results, t };
}

function snapshotRoundTrip(st: KvState): KvState {
  const bytes = encoder.encode(kvProjection.encodeState(st));
  return kvProjection.decodeState(decoder.decode(bytes), kvProjection.version);
}

function checkInvariants(st: KvState): void {
  const [, , tree] = kvProjection.encodeState(st) as [number, number, [number, string, Int32Array, ...unknown[]]];
  const kinds = tree[2];
  const ttls = tree[7] as Float64Array;
  assert.is(kvNodeCount(st), kinds.length, "nodeCount matches the tree");
  let minExp: number | undefined;
  for (let i = 0; i < ttls.length; i += 3) if (minExp === undefined || ttls[i + 1] < minExp) minExp = ttls[i + 1];
  assert.is(kvNextExpirationMs(st), minExp, "the heap top is the earliest expiration in the tree");
}

s("apply() after decodeState(encodeState()) at any point equals live apply (replay determinism)", () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.nat(), (steps, cut) => {
      const k = cut % (steps.length + 1);
      const live = fresh();
      const all = run(live, steps, T0);
      checkInvariants(live);

      let replay = fresh();
      const head = run(replay, steps.slice(0, k), T0);
      const before = kvProjection.encodeState(replay);
      replay = snapshotRoundTrip(replay);
      assert.equal(kvProjection.encodeState(replay), before, "the round trip is exact");
      const tail = run(replay, steps.slice(k), head.t);

      assert.equal([...head.results, ...tail.results], all.results);
      assert.equal(kvProjection.encodeState(replay), kvProjection.encodeState(live));
      assert.is(replay.index, live.index);
      checkInvariants(replay);
      const view = (st: KvState) => JSON.stringify(kvGet(st, "/", { recursive: true, sorted: false }, all.t));
      assert.is(view(replay), view(live), "listings keep insertion order across the round trip");
    }),
    { numRuns: 300 },
  );
});

s("every failed command leaves the index and the encoded state unchanged", () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
      const st = fresh();
      let t = T0;
      for (const { cmd, dtMs } of steps) {
        t += dtMs;
        const before = kvProjection.encodeState(st);
        const r = kvProjection.apply(st, cmd, { index: 0, term: 1, timeMs: t });
        if (r.type === "error") assert.equal(kvProjection.encodeState(st), before);
        else if (r.type === "event") assert.is(r.event.index, st.index);
      }
    }),
    { numRuns: 200 },
  );
});

s.run();
