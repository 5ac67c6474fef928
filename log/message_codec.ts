// The wire form of Raft messages between members: a batch of messages is one CBOR array of compact
// arrays, and batches travel as length-prefixed frames (4-byte big-endian length, then the bytes).
// FrameReader reassembles frames from a byte stream split anywhere. Pure: node/transport.ts owns
// the sockets. Must not know about connections, peers or retries.

import type { Index, NodeId, Term } from "../internal/brand.ts";
import { decodeCbor, encodeCbor } from "./codec.ts";
import { type ConfState, type Entry, type EntryType, type Message, MessageType, type Snapshot } from "./types.ts";

/** Stable small numbers for message types on the wire (the type strings are for humans). */
const TYPE_CODES: readonly MessageType[] = [
  MessageType.Hup, MessageType.Beat, MessageType.Prop, MessageType.App, MessageType.AppResp, MessageType.Vote,
  MessageType.VoteResp, MessageType.PreVote, MessageType.PreVoteResp, MessageType.Snap, MessageType.Heartbeat,
  MessageType.HeartbeatResp, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
  MessageType.TransferLeader, MessageType.TimeoutNow, MessageType.ReadIndex, MessageType.ReadIndexResp,
];
const CODE_OF = new Map<MessageType, number>(TYPE_CODES.map((t, i) => [t, i]));

/** A peer sent bytes that do not decode: the connection is dropped, never the member. */
export class MessageCodecError extends Error {
  override name = "MessageCodecError";
  readonly code = "peer/bad-frame";
}

/** Largest frame accepted, in bytes: a full append message (1 MiB of entries) plus headroom. */
export const frameBytesMax = 64 * 1024 * 1024;

type WireEntry = [Term, Index, EntryType, Uint8Array];
type WireSnapshot = [Index, Term, NodeId[], NodeId[], Uint8Array];
type WireMessage = [
  number, NodeId, NodeId, Term, Term, Index, WireEntry[], Index, boolean, Index, WireSnapshot | null, Uint8Array | null,
];

const NO_DATA = new Uint8Array(0);

function toWire(m: Message, withSnapshotData: boolean): WireMessage {
  const code = CODE_OF.get(m.type);
  if (code === undefined) throw new MessageCodecError(`unknown message type ${m.type}`);
  const s = m.snapshot;
  return [
    code, m.to, m.from, m.term, m.logTerm, m.index,
    m.entries.map((e) => [e.term, e.index, e.type, e.data] as WireEntry),
    m.commit, m.reject, m.rejectHint,
    s ? [s.metadata.index, s.metadata.term, [...s.metadata.confState.voters], [...s.metadata.confState.learners], withSnapshotData ? s.data : NO_DATA] : null,
    m.context ?? null,
  ];
}

function bytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new MessageCodecError(`${what} is not a byte string`);
}

function fromWire(w: unknown): Message {
  if (!Array.isArray(w) || w.length !== 12) throw new MessageCodecError("a message is not a 12-field array");
  const type = TYPE_CODES[w[0] as number];
  if (type === undefined) throw new MessageCodecError(`unknown message type code ${w[0]}`);
  const ents = w[6];
  if (!Array.isArray(ents)) throw new MessageCodecError("entries is not an array");
  const entries: Entry[] = ents.map((e: unknown) => {
    if (!Array.isArray(e) || e.length !== 4) throw new MessageCodecError("an entry is not [term, index, type, data]");
    return { term: e[0] as Term, index: e[1] as Index, type: e[2] as EntryType, data: bytes(e[3], "entry data") };
  });
  let snapshot: Snapshot | undefined;
  const s = w[10];
  if (s !== null && s !== undefined) {
    if (!Array.isArray(s) || s.length !== 5) throw new MessageCodecError("a snapshot is not [index, term, voters, learners, data]");
    const confState: ConfState = { voters: (s[2] as NodeId[]).map(String), learners: (s[3] as NodeId[]).map(String) };
    snapshot = { metadata: { index: s[0] as Index, term: s[1] as Term, confState }, data: bytes(s[4], "snapshot data") };
  }
  const ctx = w[11];
  return {
    type, to: String(w[1]), from: String(w[2]), term: w[3] as Term, logTerm: w[4] as Term, index: w[5] as Index,
    entries, commit: w[7] as Index, reject: w[8] === true, rejectHint: w[9] as Index, snapshot,
    context: ctx === null || ctx === undefined ? undefined : bytes(ctx, "context"),
  };
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** One frame holding a batch of messages (snapshot data travels separately, see encodeSnapshotHeader). */
export function encodeMessages(msgs: readonly Message[]): Uint8Array {
  return frame(encodeCbor(msgs.map((m) => toWire(m, true))));
}

export function decodeMessages(body: Uint8Array): Message[] {
  let w: unknown;
  try {
    w = decodeCbor(body);
  } catch (e) {
    throw new MessageCodecError(`a frame does not decode as CBOR (${(e as Error).message})`);
  }
  if (!Array.isArray(w)) throw new MessageCodecError("a frame is not an array of messages");
  return w.map(fromWire);
}

/** The first frame of a snapshot stream: the MsgSnap without its data, and the data's length. */
export function encodeSnapshotHeader(m: Message): Uint8Array {
  if (!m.snapshot) throw new MessageCodecError("encodeSnapshotHeader needs a MsgSnap");
  return frame(encodeCbor([toWire(m, false), m.snapshot.data.length]));
}

export function decodeSnapshotHeader(body: Uint8Array): { message: Message; dataBytes: number } {
  let w: unknown;
  try {
    w = decodeCbor(body);
  } catch (e) {
    throw new MessageCodecError(`a snapshot header does not decode (${(e as Error).message})`);
  }
  if (!Array.isArray(w) || w.length !== 2 || typeof w[1] !== "number") throw new MessageCodecError("bad snapshot header");
  const message = fromWire(w[0]);
  if (!message.snapshot) throw new MessageCodecError("snapshot header without a snapshot");
  return { message, dataBytes: w[1] };
}

/** A raw chunk frame of snapshot data. */
export function encodeChunk(data: Uint8Array): Uint8Array {
  return frame(data);
}

/** Reassembles length-prefixed frames from chunks of a byte stream. */
export class FrameReader {
  #buf = new Uint8Array(64 * 1024);
  #len = 0;

  /** Adds bytes; returns every frame body now complete. Throws MessageCodecError on an oversized frame. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#buf.length - this.#len < chunk.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + chunk.length));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    // Copied in: the caller's chunk may be reused once this returns.
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
    const out: Uint8Array[] = [];
    const b = this.#buf;
    let off = 0;
    while (this.#len - off >= 4) {
      const n = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
      if (n > frameBytesMax) throw new MessageCodecError(`a frame of ${n} bytes exceeds ${frameBytesMax}`);
      if (this.#len - off - 4 < n) break;
      // A copy: entries decoded from the body outlive this buffer.
      out.push(b.slice(off + 4, off + 4 + n));
      off += 4 + n;
    }
    if (off > 0) {
      b.copyWithin(0, off, this.#len);
      this.#len -= off;
    }
    return out;
  }

  /** Bytes buffered towards an incomplete frame. */
  get pendingBytes(): number {
    return this.#len;
  }
}
