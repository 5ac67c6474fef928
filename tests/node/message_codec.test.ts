// The peer wire form: messages survive encode/decode exactly, frames reassemble from a stream
// split at every byte, and bad bytes are a typed error, never a crash.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeMessages,
  decodeSnapshotHeader,
  encodeChunk,
  encodeMessages,
  encodeSnapshotHeader,
  FrameReader,
  MessageCodecError,
} from "../../node/message_codec.ts";
import { encodeConfChange } from "../../log/conf_change.ts";
import { ConfChangeType, EntryType, type Message, MessageType } from "../../log/types.ts";

const s = suite("node/message_codec");

const base: Message = {
  type: MessageType.App, to: "2", from: "1", term: 5, logTerm: 4, index: 10,
  entries: [
    { term: 4, index: 11, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
    { term: 5, index: 12, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: "3", context: new Uint8Array([9]) }) },
  ],
  commit: 9, reject: false, rejectHint: 0, snapshot: undefined, context: undefined,
};

const plain = (m: Message) => ({ ...m, entries: m.entries.map((e) => ({ ...e, data: [...e.data] })), context: m.context ? [...m.context] : undefined, snapshot: m.snapshot ? { ...m.snapshot, data: [...m.snapshot.data] } : undefined });

// The local-only types (MsgHup, MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum) never travel:
// decodeMessages refuses them (message_codec_fuzz.test.ts). A MsgSnap always carries a snapshot.
const LOCAL = new Set<string>([MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum]);
const snap = { metadata: { index: 7, term: 3, confState: { voters: ["1", "2"], learners: ["3"] } }, data: new Uint8Array([4, 2]) };

s("a batch of every message type that travels between members round-trips", () => {
  const msgs: Message[] = Object.values(MessageType).filter((t) => !LOCAL.has(t)).map((type, i) => ({ ...base, type, term: type === MessageType.Prop || type === MessageType.ReadIndex ? 0 : 5 + i, reject: i % 2 === 0, rejectHint: i, context: i % 3 === 0 ? new Uint8Array([i]) : undefined, snapshot: type === MessageType.Snap ? snap : undefined }));
  const f = encodeMessages(msgs);
  const r = new FrameReader();
  const bodies = r.push(f);
  assert.is(bodies.length, 1);
  assert.equal(decodeMessages(bodies[0]).map(plain), msgs.map(plain));
});

s("frames reassemble when the stream is split at every byte", () => {
  const a = encodeMessages([base]);
  const b = encodeMessages([{ ...base, type: MessageType.Heartbeat, entries: [] }]);
  const all = new Uint8Array([...a, ...b]);
  const r = new FrameReader();
  const got: Message[] = [];
  for (let i = 0; i < all.length; i++) for (const body of r.push(all.subarray(i, i + 1))) got.push(...decodeMessages(body));
  assert.equal(got.map((m) => m.type), [MessageType.App, MessageType.Heartbeat]);
  assert.is(r.pendingBytes, 0);
});

s("a snapshot travels as a header and raw chunks", () => {
  const data = new Uint8Array(3000).map((_, i) => i & 0xff);
  const m: Message = { ...base, type: MessageType.Snap, entries: [], snapshot: { metadata: { index: 7, term: 3, confState: { voters: ["1", "2"], learners: [] } }, data } };
  const r = new FrameReader();
  const [h] = r.push(encodeSnapshotHeader(m));
  const { message, dataBytes } = decodeSnapshotHeader(h);
  assert.is(dataBytes, 3000);
  assert.equal(message.snapshot!.metadata, m.snapshot!.metadata);
  assert.is(message.snapshot!.data.length, 0);
  const chunks = [...r.push(encodeChunk(data.subarray(0, 1000))), ...r.push(encodeChunk(data.subarray(1000)))];
  assert.equal([...chunks[0], ...chunks[1]], [...data]);
});

s("garbage is a MessageCodecError", () => {
  assert.throws(() => decodeMessages(new Uint8Array([0xff, 0x00])), (e: unknown) => e instanceof MessageCodecError);
  assert.throws(() => decodeMessages(new Uint8Array([0x01])), (e: unknown) => e instanceof MessageCodecError);
  const r = new FrameReader();
  assert.throws(() => r.push(new Uint8Array([0x7f, 0xff, 0xff, 0xff])), (e: unknown) => e instanceof MessageCodecError);
});

s.run();
