// The wire form of Raft messages between members: a batch of messages is one CBOR array of compact
// arrays, and batches travel as length-prefixed frames (4-byte big-endian length, then the bytes).
// FrameReader reassembles frames from a byte stream split anywhere, reserving each from a budget.
// Pure: node/transport.ts and node/peer_server.ts own the sockets. Must not know about
// connections, peers or retries.

import type { Index, NodeId, Term } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import { decodeCbor, encodeCbor } from "../internal/mod.ts";
import { ConfChangeType, type ConfState, type Entry, EntryType, type Message, MessageType, type Snapshot } from "../log/mod.ts";

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

// ---- validation -------------------------------------------------------------------------------
// Every field of every message from the wire is checked for type and range before anything reads
// it: the Raft core trusts its input (its asserts guard invariants, not bytes from a socket). A
// frame that breaks any rule is refused whole with MessageCodecError, and nothing else is ever
// thrown for any input bytes: the peer port drops the connection, never the member.
// The rules are only ones every correct sender keeps (see raft.ts send() and the transport), so a
// member of the previous version is never refused.

/** Types that only the local node produces (etcd IsLocalMsg); RawNode.step refuses them too. */
const LOCAL_ONLY: ReadonlySet<MessageType> = new Set([
  MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
]);
/**
 * Types relayed on behalf of their origin (forwarded proposals, read requests, transfer requests):
 * their `from` is the origin, which may be the addressee itself after a leadership change. Every
 * other type is sent by `from` to another member (raft.ts send() asserts to !== self).
 */
const RELAYED: ReadonlySet<MessageType> = new Set([MessageType.Prop, MessageType.ReadIndex, MessageType.TransferLeader]);
const ENTRY_TYPES: ReadonlySet<unknown> = new Set(Object.values(EntryType));
/** A member id as node/ids.ts writes it and conf_change.ts accepts it: 1..16 lowercase hex digits. */
const ID_FORM = /^[0-9a-f]{1,16}$/;

const P_MESSAGES_MAX = limits.peerMessagesPerFrameMax;
const P_ENTRIES_MAX = limits.peerEntriesPerMessageMax;
const P_IDS_MAX = limits.peerConfStateIdsMax;
const P_CONTEXT_MAX = limits.peerContextBytesMax;
const P_TERM_MAX = limits.peerTermMax;

/** Whether `v` is a member id in the form the wire carries (lowercase hex, at most 16 digits). */
export function isWireNodeId(v: unknown): v is NodeId {
  return typeof v === "string" && v.length > 0 && v.length <= 16 && ID_FORM.test(v);
}

function isIndex(v: unknown): v is Index {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isTerm(v: unknown): v is Term {
  return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= P_TERM_MAX;
}

/** A short, throw-free description of an untrusted value for an error message (never its toString). */
function what(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `a string of ${v.length}`;
  return typeof v;
}

function bad(why: string): never {
  throw new MessageCodecError(why);
}

function ids(v: unknown, what_: string): NodeId[] {
  if (!Array.isArray(v)) bad(`${what_} is ${what(v)}, not an array`);
  if (v.length > P_IDS_MAX) bad(`${what_} has ${v.length} ids (max ${P_IDS_MAX})`);
  for (let i = 0; i < v.length; i++) if (!isWireNodeId(v[i])) bad(`${what_}[${i}] is not a member id (${what(v[i])})`);
  if (new Set(v).size !== v.length) bad(`${what_} lists an id twice`);
  return v as NodeId[];
}

/**
 * Whether `data` has the layout of a conf change entry (log/conf_change.ts: version 1, type, id
 * length, lowercase-hex id, context). Applying a committed one that does not decode trips an
 * assert on every member (etcd panics the same way), so one may not even be proposed.
 */
function isConfChangeData(data: Uint8Array): boolean {
  if (data.length < 4 || data[0] !== 1 || data[1] > ConfChangeType.AddLearnerNode) return false;
  const n = data[2];
  if (n < 1 || n > 16 || data.length < 3 + n) return false;
  for (let i = 3; i < 3 + n; i++) {
    const c = data[i];
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function snapshotOf(s: unknown): Snapshot {
  if (!Array.isArray(s) || s.length !== 5) bad("a snapshot is not [index, term, voters, learners, data]");
  const [index, term, v, l, data] = s;
  if (!isIndex(index) || index === 0) bad(`snapshot index is ${what(index)}`);
  if (!isTerm(term) || term === 0) bad(`snapshot term is ${what(term)}`);
  const voters = ids(v, "snapshot voters");
  const learners = ids(l, "snapshot learners");
  // A snapshot always has a voter (raft refuses to restore one that does not name it anyway).
  if (voters.length === 0) bad("snapshot has no voters");
  for (const id of learners) if (voters.includes(id)) bad(`snapshot lists ${id} as voter and learner`);
  if (!(data instanceof Uint8Array)) bad(`snapshot data is ${what(data)}, not bytes`);
  const confState: ConfState = { voters, learners };
  return { metadata: { index, term, confState }, data };
}

function fromWire(w: unknown): Message {
  if (!Array.isArray(w) || w.length !== 12) bad(`a message is ${what(w)}, not a 12-field array`);
  const code = w[0];
  const type = Number.isInteger(code) ? TYPE_CODES[code as number] : undefined;
  if (type === undefined) bad(`unknown message type code ${what(code)}`);
  if (LOCAL_ONLY.has(type)) bad(`${type} is local only and never comes from a peer`);
  const to = w[1];
  const from = w[2];
  if (!isWireNodeId(to)) bad(`${type} to is not a member id (${what(to)})`);
  if (!isWireNodeId(from)) bad(`${type} from is not a member id (${what(from)})`);
  if (to === from && !RELAYED.has(type)) bad(`${type} from ${from} to itself`);
  const term = w[3];
  const logTerm = w[4];
  const index = w[5];
  const commit = w[7];
  const reject = w[8];
  const rejectHint = w[9];
  if (!isTerm(term)) bad(`${type} term is ${what(term)}`);
  // Term 0 means "local" to raft.ts step(), which then skips every term check: only the relayed
  // proposals and read requests carry it (raft.ts send() stamps the sender's term on the rest).
  if ((term === 0) !== (type === MessageType.Prop || type === MessageType.ReadIndex)) {
    bad(`${type} with term ${term}`);
  }
  if (!isTerm(logTerm)) bad(`${type} logTerm is ${what(logTerm)}`);
  if (!isIndex(index)) bad(`${type} index is ${what(index)}`);
  if (!isIndex(commit)) bad(`${type} commit is ${what(commit)}`);
  if (typeof reject !== "boolean") bad(`${type} reject is ${what(reject)}, not a boolean`);
  if (!isIndex(rejectHint)) bad(`${type} rejectHint is ${what(rejectHint)}`);

  const ents = w[6];
  if (!Array.isArray(ents)) bad(`${type} entries is ${what(ents)}, not an array`);
  const n = ents.length;
  if (n > P_ENTRIES_MAX) bad(`${type} has ${n} entries (max ${P_ENTRIES_MAX})`);
  // An append's entries follow `index` without a gap, in non-decreasing terms from `logTerm` up to
  // the leader's term: raft_log.ts findConflict/maybeAppend rely on it (a gap trips an assert).
  const isApp = type === MessageType.App;
  let prevTerm = logTerm;
  const entries: Entry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e = ents[i];
    if (!Array.isArray(e) || e.length !== 4) bad(`${type} entry ${i} is not [term, index, type, data]`);
    const et = e[0];
    const ei = e[1];
    const ety = e[2];
    const data = e[3];
    if (!isTerm(et)) bad(`${type} entry ${i} term is ${what(et)}`);
    if (!isIndex(ei)) bad(`${type} entry ${i} index is ${what(ei)}`);
    if (!ENTRY_TYPES.has(ety)) bad(`${type} entry ${i} type is ${what(ety)}`);
    if (!(data instanceof Uint8Array)) bad(`${type} entry ${i} data is ${what(data)}, not bytes`);
    if (ety === EntryType.ConfChange && !isConfChangeData(data)) bad(`${type} entry ${i} is not a conf change`);
    if (isApp) {
      if (ei !== index + 1 + i) bad(`MsgApp entry ${i} has index ${ei}, expected ${index + 1 + i}`);
      if (et < prevTerm || et > term) bad(`MsgApp entry ${ei} has term ${et} outside [${prevTerm}, ${term}]`);
      prevTerm = et;
    }
    entries[i] = { term: et, index: ei, type: ety as EntryType, data };
  }
  // An empty proposal trips the leader's assert (etcd panics on it too): a follower never forwards one.
  if (type === MessageType.Prop && n === 0) bad("MsgProp without entries");

  const s = w[10];
  let snapshot: Snapshot | undefined;
  if (s !== null) snapshot = snapshotOf(s);
  // Only raft.ts maybeSendSnapshot attaches a snapshot, and always to a MsgSnap.
  if ((snapshot !== undefined) !== (type === MessageType.Snap)) bad(`${type} ${snapshot ? "with" : "without"} a snapshot`);

  const ctx = w[11];
  let context: Uint8Array | undefined;
  if (ctx !== null) {
    if (!(ctx instanceof Uint8Array)) bad(`${type} context is ${what(ctx)}, not bytes or null`);
    if (ctx.length > P_CONTEXT_MAX) bad(`${type} context of ${ctx.length} bytes (max ${P_CONTEXT_MAX})`);
    context = ctx;
  }
  return { type, to, from, term, logTerm, index, entries, commit, reject, rejectHint, snapshot, context };
}

/**
 * For the peer port, after decodeMessages: every message a member sends on its own behalf names it
 * as `from`; only relayed ones (forwarded proposals, read and transfer requests) may name another.
 * `sender` is the member the connection's handshake announced. Throws MessageCodecError.
 */
export function checkSender(msgs: readonly Message[], sender: NodeId): void {
  for (const m of msgs) {
    if (m.from !== sender && !RELAYED.has(m.type)) bad(`${m.type} from ${m.from} on a connection from ${sender}`);
  }
}

/** Runs a decoding step so that only MessageCodecError ever leaves it, whatever the bytes. */
function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MessageCodecError) throw e;
    // A validator bug must still cost a connection, not the member (the fuzz tests look for these).
    throw new MessageCodecError(`internal: ${e instanceof Error ? e.message : "a non-error was thrown"}`);
  }
}

function decodeBody(body: Uint8Array, what_: string): unknown {
  try {
    return decodeCbor(body);
  } catch (e) {
    // Anything: cbor-x throws Errors, RangeErrors (deep nesting, huge lengths) and may throw non-errors.
    throw new MessageCodecError(`${what_} does not decode as CBOR (${e instanceof Error ? e.message : "?"})`);
  }
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

/**
 * The messages of one frame body, every field validated (see above). Throws MessageCodecError, and
 * nothing else, for any bytes that are not such a batch.
 */
export function decodeMessages(body: Uint8Array): Message[] {
  return guarded(() => {
    const w = decodeBody(body, "a frame");
    if (!Array.isArray(w)) bad(`a frame is ${what(w)}, not an array of messages`);
    if (w.length > P_MESSAGES_MAX) bad(`a frame of ${w.length} messages (max ${P_MESSAGES_MAX})`);
    const out: Message[] = new Array(w.length);
    for (let i = 0; i < w.length; i++) out[i] = fromWire(w[i]);
    return out;
  });
}

/** The first frame of a snapshot stream: the MsgSnap without its data, and the data's length. */
export function encodeSnapshotHeader(m: Message): Uint8Array {
  if (!m.snapshot) throw new MessageCodecError("encodeSnapshotHeader needs a MsgSnap");
  return frame(encodeCbor([toWire(m, false), m.snapshot.data.length]));
}

/**
 * The first frame of a snapshot stream: a valid MsgSnap (its snapshot data empty: it follows in
 * chunks) and the data's length. Throws MessageCodecError, and nothing else, for any other bytes.
 */
export function decodeSnapshotHeader(body: Uint8Array): { message: Message; dataBytes: number } {
  return guarded(() => {
    const w = decodeBody(body, "a snapshot header");
    if (!Array.isArray(w) || w.length !== 2) bad(`a snapshot header is ${what(w)}, not [message, dataBytes]`);
    const dataBytes = w[1];
    if (!isIndex(dataBytes)) bad(`snapshot header dataBytes is ${what(dataBytes)}`);
    const message = fromWire(w[0]);
    if (message.type !== MessageType.Snap) bad(`a snapshot header carries ${message.type}`);
    if (message.snapshot!.data.length !== 0) bad("a snapshot header carries snapshot data");
    return { message, dataBytes };
  });
}

/** A raw chunk frame of snapshot data. */
export function encodeChunk(data: Uint8Array): Uint8Array {
  return frame(data);
}

/**
 * Where a FrameReader reserves each frame's announced length before it buffers a byte of it
 * (node/peer_server.ts: one budget across every peer connection), and gives it back when the
 * frame is handed over. `reserve` refuses by throwing.
 */
export interface FrameBudget {
  reserve(bytes: number): void;
  release(bytes: number): void;
}

/** The first buffer of a frame in reassembly; it doubles as bytes arrive, up to the announced length. */
const FRAME_FIRST_BYTES = 64 * 1024;

/**
 * Reassembles length-prefixed frames from chunks of a byte stream split anywhere. A frame's
 * announced length must pass the size cap and the budget before a byte of it is kept, and its
 * buffer grows with the bytes that arrive: a peer that announces much and sends little holds
 * little memory, and only what the budget let it announce.
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #budget: FrameBudget | undefined;
  readonly #len = new Uint8Array(4);
  #lenGot = 0;
  /** The announced length of the frame in reassembly (0: none), and what has arrived of it. */
  #want = 0;
  #body: Uint8Array = new Uint8Array(0);
  #bodyGot = 0;

  /** maxFrameBytes: a frame announcing more is refused (MessageCodecError) before any of it is buffered. */
  constructor(maxFrameBytes: number = limits.peerFrameBytesMax, budget?: FrameBudget) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#budget = budget;
  }

  /** Adds bytes; returns every frame body now complete. Throws MessageCodecError, or what the budget throws. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      const r = this.next(chunk, off);
      off = r.off;
      if (r.body) out.push(r.body);
    }
    return out;
  }

  /** Reads from `d` at `off` until one frame completes or `d` ends; returns the frame, if any, and where it stopped. */
  next(d: Uint8Array, off: number): { body?: Uint8Array; off: number } {
    if (this.#want === 0) {
      while (this.#lenGot < 4 && off < d.length) this.#len[this.#lenGot++] = d[off++];
      if (this.#lenGot < 4) return { off };
      const n = ((this.#len[0] << 24) | (this.#len[1] << 16) | (this.#len[2] << 8) | this.#len[3]) >>> 0;
      this.#lenGot = 0;
      if (n > this.#maxFrameBytes) throw new MessageCodecError(`a frame of ${n} bytes exceeds ${this.#maxFrameBytes}`);
      if (n === 0) return { body: new Uint8Array(0), off };
      this.#budget?.reserve(n);
      this.#want = n;
      // The buffer grows as bytes arrive (up to the announced length): an announcement alone
      // allocates little, whatever it claims.
      this.#body = new Uint8Array(Math.min(n, FRAME_FIRST_BYTES));
      this.#bodyGot = 0;
    }
    // Copied in: the caller's chunk may be reused once this returns, and decoded entries outlive it.
    const take = Math.min(this.#want - this.#bodyGot, d.length - off);
    if (this.#bodyGot + take > this.#body.length) {
      const grown = new Uint8Array(Math.min(this.#want, Math.max(this.#bodyGot + take, this.#body.length * 2)));
      grown.set(this.#body.subarray(0, this.#bodyGot));
      this.#body = grown;
    }
    this.#body.set(d.subarray(off, off + take), this.#bodyGot);
    this.#bodyGot += take;
    off += take;
    if (this.#bodyGot < this.#want) return { off };
    const body = this.#body;
    const n = this.#want;
    this.#want = 0;
    this.#body = new Uint8Array(0);
    this.#budget?.release(n);
    return { body, off };
  }

  /** Bytes taken towards an incomplete frame (its length prefix included). */
  get pendingBytes(): number {
    return this.#want > 0 ? 4 + this.#bodyGot : this.#lenGot;
  }
}
