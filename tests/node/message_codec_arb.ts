// Structure-aware fuzzing of the peer decoders (node/message_codec.ts), shared by the quick CI suite
// (message_codec_fuzz.test.ts) and the long run (message_codec_fuzz.abuse.ts): fast-check
// arbitraries for valid messages, for wire-shaped arrays with random field types, for random CBOR
// values and for mutated frames, and the one property they all check: a decoder returns messages
// that a separate, spec-level checker accepts, or throws MessageCodecError, never anything else.
// Must not hold uvu suites (the two test files do).

import fc from "fast-check";
import { encodeCbor } from "../../internal/cbor.ts";
import { encodeConfChange } from "../../log/conf_change.ts";
import {
  decodeMessages,
  decodeSnapshotHeader,
  encodeMessages,
  encodeSnapshotHeader,
  FrameReader,
  MessageCodecError,
} from "../../node/message_codec.ts";
import { ConfChangeType, EntryType, type Entry, type Message, MessageType, type Snapshot } from "../../log/types.ts";
import { limits } from "../../internal/limits.ts";

export const LOCAL_TYPES: readonly MessageType[] = [
  MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
];
export const WIRE_TYPES: readonly MessageType[] = Object.values(MessageType).filter((t) => !LOCAL_TYPES.includes(t));
/** The wire's type codes (node/message_codec.ts TYPE_CODES order: Object.values(MessageType)). */
const CODE = new Map<MessageType, number>(Object.values(MessageType).map((t, i) => [t, i]));
const RELAYED = new Set<MessageType>([MessageType.Prop, MessageType.ReadIndex, MessageType.TransferLeader]);
const TERM_ZERO = new Set<MessageType>([MessageType.Prop, MessageType.ReadIndex]);

// ---- valid messages -----------------------------------------------------------------------------

export const arbId: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("1", "2", "3", "a", "8e9e05c52164694d"),
  fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).map((n) => n.toString(16)),
);
const arbCount = fc.oneof(fc.nat(20), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const arbTerm = fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: limits.peerTermMax }));
const arbBytes = fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 300 }));

function arbSnapshot(withData: boolean): fc.Arbitrary<Snapshot> {
  return fc.record({
    index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    term: arbTerm,
    ids: fc.uniqueArray(arbId, { minLength: 1, maxLength: 7 }),
    split: fc.nat(6),
    data: withData ? arbBytes : fc.constant(new Uint8Array(0)),
  }).map(({ index, term, ids, split, data }) => {
    const k = Math.max(1, ids.length - split);
    return { metadata: { index, term, confState: { voters: ids.slice(0, k), learners: ids.slice(k) } }, data };
  });
}

/** A message every correct member could send (the rules of node/message_codec.ts fromWire). */
export function arbMessage(opts: { snapshotData?: boolean; type?: fc.Arbitrary<MessageType> } = {}): fc.Arbitrary<Message> {
  return fc.record({
    type: opts.type ?? fc.constantFrom(...WIRE_TYPES),
    ids: fc.uniqueArray(arbId, { minLength: 2, maxLength: 2 }),
    self: fc.boolean(),
    term: arbTerm,
    logTerm: fc.nat(20),
    index: fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 100 })),
    nEntries: fc.nat(5),
    entryData: fc.array(arbBytes, { minLength: 5, maxLength: 5 }),
    entryTypes: fc.array(fc.constantFrom(EntryType.Normal, EntryType.ConfChange), { minLength: 5, maxLength: 5 }),
    confChanges: fc.array(
      fc.record({ type: fc.constantFrom(...Object.values(ConfChangeType)), nodeId: arbId, context: fc.uint8Array({ maxLength: 40 }) })
        .map((cc) => encodeConfChange(cc)),
      { minLength: 5, maxLength: 5 },
    ),
    termSteps: fc.array(fc.nat(2), { minLength: 5, maxLength: 5 }),
    loose: fc.array(fc.tuple(fc.oneof(fc.nat(20), fc.integer({ min: 0, max: limits.peerTermMax })), arbCount), { minLength: 5, maxLength: 5 }),
    commit: arbCount,
    reject: fc.boolean(),
    rejectHint: arbCount,
    snapshot: arbSnapshot(opts.snapshotData ?? true),
    context: fc.option(arbBytes, { nil: undefined }),
  }).map((r): Message => {
    const type = r.type;
    const term = TERM_ZERO.has(type) ? 0 : r.term;
    const to = r.ids[0];
    const from = r.self && RELAYED.has(type) ? to : r.ids[1];
    const n = type === MessageType.Prop ? Math.max(1, r.nEntries) : r.nEntries;
    const isApp = type === MessageType.App;
    const logTerm = isApp ? Math.min(r.logTerm, term) : r.logTerm;
    let t = logTerm;
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) {
      if (isApp) t = Math.min(term, t + r.termSteps[i]);
      entries.push({
        term: isApp ? t : r.loose[i][0],
        index: isApp ? r.index + 1 + i : r.loose[i][1],
        type: r.entryTypes[i],
        data: r.entryTypes[i] === EntryType.ConfChange ? r.confChanges[i] : r.entryData[i],
      });
    }
    return {
      type, to, from, term, logTerm, index: r.index, entries, commit: r.commit, reject: r.reject,
      rejectHint: r.rejectHint, snapshot: type === MessageType.Snap ? r.snapshot : undefined, context: r.context,
    };
  });
}

export const arbBatch: fc.Arbitrary<Message[]> = fc.array(arbMessage(), { minLength: 0, maxLength: 6 });

// ---- wire-shaped junk ----------------------------------------------------------------------------

/** Random values of every kind cbor-x can carry, nested. */
export const arbAnything: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 3,
  maxKeys: 4,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withNullPrototype: true,
  withObjectString: true,
  withBoxedValues: true,
});

/** A field that is usually the right shape, often a wrong one. */
function field<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: arbAnything }, {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      null, undefined, -1, 0.5, NaN, Infinity, -0, 2 ** 53, 2 ** 64, "", "1", "G", "0".repeat(17), true, [], {},
      new Uint8Array(0), Number.MAX_SAFE_INTEGER,
    ),
  });
}

const arbWireEntry = fc.oneof(
  fc.tuple(field(fc.nat(30)), field(fc.nat(30)), field(fc.constantFrom(0, 1, 2)), field(arbBytes)),
  field(fc.constant([])),
);
const arbWireSnapshot = fc.oneof(
  fc.constant(null),
  fc.tuple(field(fc.nat(30)), field(fc.nat(30)), field(fc.array(field(arbId), { maxLength: 4 })),
    field(fc.array(field(arbId), { maxLength: 4 })), field(arbBytes)),
);

/** 12-field arrays shaped like wire messages, each field right or randomly wrong. */
export const arbWireMessage: fc.Arbitrary<unknown> = fc.tuple(
  field(fc.integer({ min: -1, max: 20 })), field(arbId), field(arbId), field(fc.nat(30)), field(fc.nat(30)),
  field(fc.nat(30)), field(fc.array(arbWireEntry, { maxLength: 4 })), field(fc.nat(30)), field(fc.boolean()),
  field(fc.nat(30)), field(arbWireSnapshot), field(fc.option(arbBytes, { nil: null })),
).chain((t) =>
  // Sometimes one field short or long.
  fc.constantFrom(0, 0, 0, 1, 2).map((k) => (k === 1 ? t.slice(0, 11) : k === 2 ? [...t, 0] : t))
);

/** The CBOR bytes of `v`, or undefined when cbor-x cannot encode it. */
export function cbor(v: unknown): Uint8Array | undefined {
  try {
    return encodeCbor(v);
  } catch {
    return undefined;
  }
}

// ---- mutations -----------------------------------------------------------------------------------

export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; byte: number }
  | { kind: "truncate"; at: number }
  | { kind: "extend"; bytes: Uint8Array }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; n: number };

export const arbMutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.constantFrom(0, 0xff, 0xf6, 0xf7, 0x1b, 0x5b, 0x9f, 0xbf, 0x80, 0x40, 0x60) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("extend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
  ),
  { minLength: 1, maxLength: 4 },
);

export function mutate(b: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let out = b.slice();
  for (const m of ms) {
    const at = out.length === 0 ? 0 : m.kind === "extend" ? 0 : ("at" in m ? m.at % (out.length + 1) : 0);
    switch (m.kind) {
      case "flip":
        if (out.length > 0) out[at % out.length] ^= 1 << m.bit;
        break;
      case "set":
        if (out.length > 0) out[at % out.length] = m.byte;
        break;
      case "truncate":
        out = out.slice(0, at);
        break;
      case "extend":
        out = new Uint8Array([...out, ...m.bytes]);
        break;
      case "insert":
        out = new Uint8Array([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]);
        break;
      case "delete":
        out = new Uint8Array([...out.subarray(0, at), ...out.subarray(at + m.n)]);
        break;
    }
  }
  return out;
}

// ---- the property ----------------------------------------------------------------------------------

const ID = /^[0-9a-f]{1,16}$/;
const safe = (n: unknown, min = 0) => Number.isSafeInteger(n) && (n as number) >= min;

/** A spec-level check of a decoded message, written apart from the codec: why it is invalid, or "". */
export function invalidReason(m: Message): string {
  if (!WIRE_TYPES.includes(m.type)) return `type ${m.type}`;
  if (typeof m.to !== "string" || !ID.test(m.to)) return "to";
  if (typeof m.from !== "string" || !ID.test(m.from)) return "from";
  if (m.to === m.from && !RELAYED.has(m.type)) return "self-addressed";
  for (const k of ["term", "logTerm", "index", "commit", "rejectHint"] as const) if (!safe(m[k])) return k;
  if (m.term > limits.peerTermMax || m.logTerm > limits.peerTermMax) return "term too big";
  if (m.entries.some((e) => e.term > limits.peerTermMax)) return "entry term too big";
  if (m.snapshot && m.snapshot.metadata.term > limits.peerTermMax) return "snapshot term too big";
  if ((m.term === 0) !== TERM_ZERO.has(m.type)) return "term 0";
  if (typeof m.reject !== "boolean") return "reject";
  if (!Array.isArray(m.entries) || m.entries.length > limits.peerEntriesPerMessageMax) return "entries";
  if (m.type === MessageType.Prop && m.entries.length === 0) return "empty prop";
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    if (!safe(e.term) || !safe(e.index)) return "entry numbers";
    if (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange) return "entry type";
    if (!(e.data instanceof Uint8Array)) return "entry data";
    if (e.type === EntryType.ConfChange) {
      const d = e.data;
      const id = new TextDecoder().decode(d.subarray(3, 3 + d[2]));
      if (d.length < 4 || d[0] !== 1 || d[1] > 3 || d.length < 3 + d[2] || !ID.test(id)) return "conf change data";
    }
    if (m.type === MessageType.App) {
      if (e.index !== m.index + 1 + i) return "app gap";
      if (e.term > m.term || e.term < (i === 0 ? m.logTerm : m.entries[i - 1].term)) return "app terms";
    }
  }
  if ((m.snapshot !== undefined) !== (m.type === MessageType.Snap)) return "snapshot presence";
  if (m.snapshot) {
    const { metadata: md, data } = m.snapshot;
    if (!safe(md.index, 1) || !safe(md.term, 1)) return "snapshot numbers";
    const { voters, learners } = md.confState;
    if (!Array.isArray(voters) || !Array.isArray(learners) || voters.length === 0) return "conf state";
    const all = [...voters, ...learners];
    if (all.some((id) => typeof id !== "string" || !ID.test(id)) || new Set(all).size !== all.length) return "conf ids";
    if (!(data instanceof Uint8Array)) return "snapshot data";
  }
  if (m.context !== undefined && !(m.context instanceof Uint8Array)) return "context";
  return "";
}

/** Plain data for deep equality (Buffer vs Uint8Array, undefined fields). */
export function plain(m: Message): unknown {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: [...e.data] })),
    snapshot: m.snapshot ? { metadata: m.snapshot.metadata, data: [...m.snapshot.data] } : undefined,
    context: m.context ? [...m.context] : undefined,
  };
}

/**
 * Runs `decode`; throws (failing the property) unless it returned valid messages that re-encode to
 * themselves, or threw a MessageCodecError that is not a caught validator bug.
 */
export function expectValidOrCodecError(decode: () => Message[]): void {
  let msgs: Message[];
  try {
    msgs = decode();
  } catch (e) {
    if (!(e instanceof MessageCodecError)) throw new Error(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    if (e.code !== "peer/bad-frame") throw new Error(`code ${e.code}`);
    if (e.message.startsWith("internal:")) throw new Error(`a validator bug was caught: ${e.message}`);
    return;
  }
  if (!Array.isArray(msgs) || msgs.length > limits.peerMessagesPerFrameMax) throw new Error("not a batch");
  for (const m of msgs) {
    const why = invalidReason(m);
    if (why) throw new Error(`decoded an invalid message (${why}): ${JSON.stringify(plain(m))}`);
  }
  // What decodes must survive a round trip unchanged (the encoder is the reference).
  const again = decodeMessages(encodeMessages(msgs).subarray(4));
  const a = JSON.stringify(again.map(plain));
  const b = JSON.stringify(msgs.map(plain));
  if (a !== b) throw new Error(`round trip differs:\n${a}\n${b}`);
}

/** A snapshot header decode, checked like a batch of its one message plus the header's own rules. */
export function expectHeaderOrCodecError(body: Uint8Array): void {
  expectValidOrCodecError(() => {
    const h = decodeSnapshotHeader(body);
    if (!safe(h.dataBytes)) throw new Error(`dataBytes ${h.dataBytes}`);
    if (h.message.type !== MessageType.Snap || h.message.snapshot?.data.length !== 0) throw new Error("not a bare MsgSnap");
    return [h.message];
  });
}

/** Pushes `chunks` into one FrameReader, decoding every complete frame. */
export function expectStreamOk(chunks: readonly Uint8Array[], frameMax?: number): void {
  const r = new FrameReader(frameMax);
  let pending = 0;
  expectValidOrCodecError(() => {
    const out: Message[] = [];
    for (const c of chunks) {
      pending += c.length;
      for (const body of r.push(c)) {
        pending -= 4 + body.length;
        out.push(...decodeMessages(body));
      }
      if (r.pendingBytes !== pending) throw new Error(`pendingBytes ${r.pendingBytes}, expected ${pending}`);
    }
    return out;
  });
}

export function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(4);
}

export { decodeMessages, decodeSnapshotHeader, encodeMessages, encodeSnapshotHeader, FrameReader };
export const CODE_OF = CODE;

// ---- the properties, for both suites -------------------------------------------------------------

/** Each property as [name, run]; `run` throws on a counterexample (fast-check prints seed and path). */
export function properties(numRuns: number, seed?: number): Array<[string, () => void]> {
  const p = (prop: fc.IProperty<never> | fc.IPropertyWithHooks<never>) => () => {
    fc.assert(prop as fc.IProperty<unknown>, { numRuns, seed });
  };
  const frames = arbBatch.map((ms) => encodeMessages(ms));
  return [
    ["(c) valid batches round-trip exactly", p(fc.property(arbBatch, (ms) => {
      const got = decodeMessages(body(encodeMessages(ms)));
      if (JSON.stringify(got.map(plain)) !== JSON.stringify(ms.map(plain))) throw new Error("round trip differs");
      for (const m of got) if (invalidReason(m)) throw new Error(`generator made an invalid message: ${invalidReason(m)}`);
    }) as never)],
    ["(c) valid snapshot headers round-trip exactly", p(fc.property(arbMessage({ type: fc.constant(MessageType.Snap) }), (m) => {
      const h = decodeSnapshotHeader(body(encodeSnapshotHeader(m)));
      if (h.dataBytes !== m.snapshot!.data.length) throw new Error("dataBytes");
      const want = { ...m, snapshot: { ...m.snapshot!, data: new Uint8Array(0) } };
      if (JSON.stringify(plain(h.message)) !== JSON.stringify(plain(want))) throw new Error("header differs");
    }) as never)],
    ["(a) random CBOR values as a frame", p(fc.property(arbAnything, (v) => {
      const b = cbor(v);
      if (b) expectValidOrCodecError(() => decodeMessages(b));
    }) as never)],
    ["(a) arrays of random CBOR values as a frame of messages", p(fc.property(fc.array(arbAnything, { maxLength: 3 }), (v) => {
      const b = cbor(v);
      if (b) expectValidOrCodecError(() => decodeMessages(b));
    }) as never)],
    ["(a) 12-field wire-shaped arrays with random field types", p(fc.property(fc.array(arbWireMessage, { minLength: 1, maxLength: 3 }), (v) => {
      const b = cbor(v);
      if (b) expectValidOrCodecError(() => decodeMessages(b));
    }) as never)],
    ["(a) snapshot headers of wire-shaped arrays and random values", p(fc.property(arbWireMessage, field(fc.nat()), (m, n) => {
      const b = cbor([m, n]);
      if (b) expectHeaderOrCodecError(b);
    }) as never)],
    ["(a) random bytes as a frame and as a snapshot header", p(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      expectValidOrCodecError(() => decodeMessages(b));
      expectHeaderOrCodecError(b);
    }) as never)],
    ["(b) mutated valid frames", p(fc.property(frames, arbMutations, (f, ms) => {
      expectValidOrCodecError(() => decodeMessages(mutate(body(f), ms)));
    }) as never)],
    ["(b) mutated valid snapshot headers", p(fc.property(arbMessage({ type: fc.constant(MessageType.Snap) }), arbMutations, (m, ms) => {
      expectHeaderOrCodecError(mutate(body(encodeSnapshotHeader(m)), ms));
    }) as never)],
    ["(b) a stream of mutated frames split anywhere through FrameReader", p(fc.property(
      fc.array(frames, { minLength: 1, maxLength: 3 }),
      arbMutations,
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.constantFrom(undefined, 64, 4096),
      (fs, ms, cuts, max) => {
        const all = mutate(new Uint8Array(fs.flatMap((f) => [...f])), ms);
        const at = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const c of [...at, all.length]) {
          chunks.push(all.subarray(prev, c));
          prev = c;
        }
        expectStreamOk(chunks, max);
      },
    ) as never)],
  ];
}

export { field };
