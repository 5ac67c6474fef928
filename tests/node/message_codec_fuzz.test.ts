// Structure-aware fuzzing of the peer decoders, the quick CI version (a few seconds): random CBOR,
// wire-shaped arrays with wrong field types, mutated and split frames, and exact round trips of
// valid batches (tests/node/message_codec_arb.ts). Also the regressions found by it and by issue 12.
// The long seeded run is message_codec_fuzz.abuse.ts.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encodeCbor } from "../../internal/cbor.ts";
import { decodeMessages, decodeSnapshotHeader, encodeMessages, MessageCodecError } from "../../node/message_codec.ts";
import { encodeConfChange } from "../../log/conf_change.ts";
import { ConfChangeType, type Message, MessageType } from "../../log/types.ts";
import { CODE_OF, LOCAL_TYPES, properties } from "./message_codec_arb.ts";

const s = suite("node/message_codec fuzz");
const isCodecError = (e: unknown) => e instanceof MessageCodecError && e.code === "peer/bad-frame";
const ID = "8e9e05c52164694d";

s("issue 12: a MsgSnap whose voters field is not an array is a MessageCodecError", () => {
  const body = new Uint8Array(Buffer.concat([
    Buffer.from([0x81, 0x8c, 9, 0x70]),
    Buffer.from(ID),
    Buffer.from([0x61, 0x31, 0, 0, 0, 0x80, 0, 0xf4, 0, 0x85, 1, 1, 0xf6, 0xf6, 0x40, 0xf6]),
  ]));
  assert.is(body.length, 36);
  assert.throws(() => decodeMessages(body), isCodecError);
  // The same message as a snapshot stream's header.
  const m = [9, ID, "1", 0, 0, 0, [], 0, false, 0, [1, 1, null, null, new Uint8Array(0)], null];
  assert.throws(() => decodeSnapshotHeader(encodeCbor([m, 0])), isCodecError);
});

const base: Message = {
  type: MessageType.Heartbeat, to: "2", from: "1", term: 3, logTerm: 0, index: 0, entries: [], commit: 1,
  reject: false, rejectHint: 0, snapshot: undefined, context: undefined,
};
const wire = (m: Message, patch: Record<number, unknown>) => {
  const w: unknown[] = [CODE_OF.get(m.type), m.to, m.from, m.term, m.logTerm, m.index, [], m.commit, m.reject, m.rejectHint, null, null];
  for (const [k, v] of Object.entries(patch)) w[Number(k)] = v;
  return encodeCbor([w]);
};

s("local-only types are refused from the wire (etcd RawNode.Step: ErrStepLocalMsg)", () => {
  for (const t of LOCAL_TYPES) {
    assert.throws(() => decodeMessages(encodeMessages([{ ...base, type: t }]).subarray(4)), isCodecError, t);
  }
});

s("each field is checked for type and range", () => {
  assert.equal(decodeMessages(wire(base, {})).length, 1);
  const bad: Array<[string, Record<number, unknown>]> = [
    ["type code out of range", { 0: 99 }], ["type code not an integer", { 0: 3.5 }], ["type code a string", { 0: "3" }],
    ["to not an id", { 1: "XYZ" }], ["to too long", { 1: "1".repeat(17) }], ["to a number", { 1: 2 }], ["from empty", { 2: "" }],
    ["self-addressed heartbeat", { 1: "1" }], ["negative term", { 3: -1 }], ["term 0 on a heartbeat", { 3: 0 }],
    ["fractional term", { 3: 1.5 }], ["term above peerTermMax", { 3: 2 ** 53 - 1 }], ["unsafe index", { 5: 2 ** 53 }],
    ["commit a bigint", { 7: 2n ** 64n - 1n }], ["reject a number", { 8: 1 }], ["rejectHint null", { 9: null }],
    ["entries null", { 6: null }], ["entry of 3 fields", { 6: [[1, 1, 0]] }], ["entry type 7", { 6: [[1, 1, 7, new Uint8Array(0)]] }],
    ["entry data a string", { 6: [[1, 1, 0, "x"]] }], ["snapshot on a heartbeat", { 10: [1, 1, ["1"], [], new Uint8Array(0)] }],
    ["context a string", { 11: "ctx" }], ["context undefined", { 11: undefined }],
  ];
  for (const [name, patch] of bad) assert.throws(() => decodeMessages(wire(base, patch)), isCodecError, name);
  const app = { ...base, type: MessageType.App, index: 5, logTerm: 2 };
  assert.equal(decodeMessages(wire(app, { 6: [[2, 6, 0, new Uint8Array(0)], [3, 7, 1, encodeConfChange({ type: ConfChangeType.AddNode, nodeId: "3", context: new Uint8Array(0) })]] }))[0].entries.length, 2);
  assert.throws(() => decodeMessages(wire(app, { 6: [[2, 6, 0, new Uint8Array(0)], [3, 9, 0, new Uint8Array(0)]] })), isCodecError, "gap");
  assert.throws(() => decodeMessages(wire(app, { 6: [[1, 6, 0, new Uint8Array(0)]] })), isCodecError, "term below logTerm");
  assert.throws(() => decodeMessages(wire(app, { 6: [[4, 6, 0, new Uint8Array(0)]] })), isCodecError, "term above the leader's");
  for (const [name, d] of [["empty", []], ["version 2", [2, 0, 1, 0x31]], ["type 4", [1, 4, 1, 0x31]], ["id length 0", [1, 0, 0]],
    ["id length 17", [1, 0, 17, ...new Array(17).fill(0x31)]], ["truncated id", [1, 0, 3, 0x31]], ["uppercase id", [1, 0, 1, 0x41]]] as const) {
    assert.throws(() => decodeMessages(wire(app, { 6: [[2, 6, 1, new Uint8Array(d)]] })), isCodecError, `conf change ${name}`);
  }
  const prop = { ...base, type: MessageType.Prop, term: 0 };
  assert.throws(() => decodeMessages(wire(prop, {})), isCodecError, "empty MsgProp");
  assert.equal(decodeMessages(wire(prop, { 1: "1", 6: [[0, 0, 0, new Uint8Array(0)]] }))[0].to, "1", "a relayed proposal may come back");
  const snap = { ...base, type: MessageType.Snap };
  for (const [name, s10] of [
    ["no snapshot", null], ["no voters", [1, 1, [], [], new Uint8Array(0)]], ["voters a map", [1, 1, { a: 1 }, [], new Uint8Array(0)]],
    ["index 0", [0, 1, ["1"], [], new Uint8Array(0)]], ["duplicate voter", [1, 1, ["1", "1"], [], new Uint8Array(0)]],
    ["voter and learner", [1, 1, ["1"], ["1"], new Uint8Array(0)]], ["bad learner", [1, 1, ["1"], [7], new Uint8Array(0)]],
  ] as const) {
    assert.throws(() => decodeMessages(wire(snap, { 10: s10 })), isCodecError, name);
  }
});

s("counts are bounded", () => {
  const ids = Array.from({ length: 4097 }, (_, i) => (i + 1).toString(16));
  assert.throws(() => decodeMessages(wire({ ...base, type: MessageType.Snap }, { 10: [1, 1, ids, [], new Uint8Array(0)] })), isCodecError);
  assert.throws(() => decodeMessages(encodeCbor(new Array(65_537).fill(0))), isCodecError);
  assert.throws(() => decodeMessages(wire(base, { 11: new Uint8Array(64 * 1024 + 1) })), isCodecError);
});

s("snapshot header: dataBytes must be a non-negative safe integer", () => {
  const m = [CODE_OF.get(MessageType.Snap), "2", "1", 3, 0, 0, [], 0, false, 0, [5, 2, ["1"], [], new Uint8Array(0)], null];
  assert.is(decodeSnapshotHeader(encodeCbor([m, 10])).dataBytes, 10);
  for (const n of [-1, 1.5, 2 ** 53, "10", null]) assert.throws(() => decodeSnapshotHeader(encodeCbor([m, n])), isCodecError, String(n));
  assert.throws(() => decodeSnapshotHeader(encodeCbor([[...m.slice(0, 10), null, null], 10])), isCodecError, "no snapshot");
});

s("deeply nested and oversized CBOR is a MessageCodecError", () => {
  const deep = new Uint8Array(200_000).fill(0x81);
  assert.throws(() => decodeMessages(deep), isCodecError);
  // An array announcing 2^32 - 1 items in 5 bytes.
  assert.throws(() => decodeMessages(new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff])), isCodecError);
  assert.throws(() => decodeMessages(new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), isCodecError);
  assert.throws(() => decodeMessages(new Uint8Array(0)), isCodecError);
});

for (const [name, run] of properties(600)) s(`property ${name}`, run);

s.run();
