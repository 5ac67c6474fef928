// Commands survive their wire form exactly (what live apply uses is what replay decodes), and
// the older map form still decodes.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CorruptEntryError, encodeEnvelope } from "../../projections/mod.ts";
import type { Command } from "../../projections/mod.ts";
import { commandFromWire, commandToWire, decodeEntry, encodeEntry } from "../../projections/mod.ts";

const s = suite("projections/entry");

// Optional fields are absent or set, as api/ builds them (requiredKeys leaves the others out).
const path = fc.string().map((x) => "/1/" + x);
const ttl = fc.oneof(fc.constant(null), fc.nat(1e6));
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant("kv/set" as const), path, value: fc.string(), dir: fc.boolean(), ttlSec: ttl, refresh: fc.boolean(),
    prevExist: fc.boolean(), prevValue: fc.string({ minLength: 1 }), prevIndex: fc.integer({ min: 1, max: 2 ** 40 }),
  }, { requiredKeys: ["type", "path", "value", "dir", "ttlSec", "refresh"], noNullPrototype: true }),
  fc.record({ type: fc.constant("kv/create-in-order" as const), path, value: fc.string(), dir: fc.boolean(), ttlSec: ttl }, { noNullPrototype: true }),
  fc.record({
    type: fc.constant("kv/delete" as const), path, dir: fc.boolean(), recursive: fc.boolean(),
    prevValue: fc.string({ minLength: 1 }), prevIndex: fc.integer({ min: 1, max: 2 ** 40 }),
  }, { requiredKeys: ["type", "path", "dir", "recursive"], noNullPrototype: true }),
  fc.constant({ type: "kv/expire" as const }),
);

s("commandFromWire(commandToWire(c)) equals c for every command", () => {
  fc.assert(fc.property(command, (c) => {
    assert.equal(commandFromWire(commandToWire(c)), c);
  }), { numRuns: 2000 });
});

s("decodeEntry(encodeEntry(env)) equals env, through the CBOR envelope", () => {
  fc.assert(fc.property(command, fc.nat(), (c, t) => {
    const env = { timeMs: t, proposer: "2e1259d415f2a040", requestId: 7, command: c };
    assert.equal(decodeEntry(encodeEntry(env), 1), env);
  }), { numRuns: 500 });
});

s("decodeEntry() reads the older map form", () => {
  const c: Command = { type: "kv/set", path: "/1/a", value: "v", dir: false, ttlSec: null, refresh: false };
  assert.equal(decodeEntry(encodeEnvelope({ timeMs: 1, proposer: "a", requestId: 1, command: c }), 1).command, c);
});

s("decodeEntry() names the index of an entry whose command has no known shape", () => {
  const bad = encodeEnvelope({ timeMs: 1, proposer: "a", requestId: 1, command: 42 });
  assert.throws(() => decodeEntry(bad, 9), (e: unknown) => e instanceof CorruptEntryError && e.index === 9);
});

s.run();
