// The peer port's bounds, in process, with small limits (node/peer_server.ts startPeerServer takes
// them as options): half-sent handshakes, slow HTTP heads and silent Raft streams are closed; the
// transport's keepalive keeps a real idle stream open; the connection cap answers `ERR too many
// connections` / 503 and the port keeps serving; frames and snapshots are refused against ONE byte
// budget from their announced size before anything is buffered, and the budget is released;
// a message from another sender than the handshake's drops the connection; only one snapshot is
// received at a time. Every refusal is counted (PeerPortState). No wall-clock assertions: waits
// are liveness bounds.
import { suite } from "uvu";
import { type RawSocket, rawSocket, until } from "../helpers/raw_socket.ts";
import * as assert from "uvu/assert";
import type { NodeId } from "../../internal/brand.ts";
import { encodeChunk, encodeMessages, encodeSnapshotHeader } from "../../node/message_codec.ts";
import { type Message, MessageType } from "../../log/types.ts";
import type { Logger } from "../../node/logger.ts";
import { PeerPortState, type PeerServer, type PeerServerHandler, type PeerServerLimits, startPeerServer } from "../../node/peer_server.ts";
import { Transport } from "../../node/transport.ts";
import { freePort } from "../helpers/ports.ts";

const s = suite("node/peer_port_limits");

const ME = "a1" as NodeId;
const PEER = "b2" as NodeId;
const CLUSTER = "c3";

const LIM: PeerServerLimits = {
  receiveBytesMax: 5000,
  framesBytesMax: 1000,
  frameBytesMax: 600,
  smallFrameBytes: 100,
  snapshotBytesMax: 4000,
  connectionsMax: 64,
  handshakeTimeoutMs: 300,
  httpHeaderTimeoutMs: 300,
  streamIdleTimeoutMs: 400,
  warnIntervalMs: 60_000,
  acceptErrorLogIntervalMs: 60_000,
  listenerProbeMs: 60_000,
};

interface Fixture {
  port: number;
  state: PeerPortState;
  received: Message[];
  warnings: string[];
  server: PeerServer;
  refuseSnapshot: string | undefined;
}

async function serve(lim: PeerServerLimits): Promise<Fixture> {
  const port = await freePort();
  const f = { port, state: new PeerPortState(), received: [] as Message[], warnings: [] as string[], refuseSnapshot: undefined } as Fixture;
  const logger: Logger = { debug() {}, info() {}, warn: (m, x) => f.warnings.push(`${m} ${JSON.stringify(x)}`), error() {} };
  const handler: PeerServerHandler = {
    refuse: (_ch, from, to, cluster) => (cluster !== CLUSTER || to !== ME ? "wrong" : from !== PEER ? "sender not found" : undefined),
    refuseSnapshot: () => f.refuseSnapshot,
    onMessages: (msgs) => f.received.push(...msgs),
    http: { clusterId: CLUSTER, members: () => [], hasLeader: () => true },
    port: f.state,
  };
  f.server = await startPeerServer("127.0.0.1", port, handler, logger, lim);
  return f;
}

async function closedWithin(r: RawSocket, what: string, ms = 10_000): Promise<void> {
  await until(what, () => r.isClosed(), ms);
}

const line = (ch: string, from = PEER) => `CPRAFT/1 ${ch} ${from} ${ME} ${CLUSTER}\n`;

function msg(over: Partial<Message> = {}): Message {
  return { type: MessageType.Heartbeat, to: ME, from: PEER, term: 5, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...over };
}

function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function snapMessage(bytes: number): Message {
  return msg({
    type: MessageType.Snap,
    snapshot: { metadata: { index: 10, term: 5, confState: { voters: [ME, PEER], learners: [] } }, data: new Uint8Array(bytes) },
  } as Partial<Message>);
}

s("a half-sent handshake and a slow HTTP head are closed and counted", async () => {
  const f = await serve(LIM);
  try {
    const half = await rawSocket(f.port, "CPRAFT/1 msg b2");
    const slow = await rawSocket(f.port, "GET /members HTTP/1.1\r\nHost: x\r\n");
    const silent = await rawSocket(f.port);
    await closedWithin(half, "the half-sent handshake to be closed");
    await closedWithin(slow, "the slow HTTP head to be closed");
    await closedWithin(silent, "the silent connection to be closed");
    assert.ok(f.state.counters.handshakeTimeouts >= 2);
    assert.ok(f.state.counters.httpHeaderTimeouts >= 1);
    await until("the connections to be forgotten", () => f.state.connections === 0);
  } finally {
    await f.server.close();
  }
});

s("a silent Raft stream is closed; the transport's keepalive keeps an idle one open", async () => {
  const f = await serve(LIM);
  const t = new Transport({
    localId: PEER,
    clusterId: CLUSTER,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    handler: { onUnreachable() {}, onSnapshotStatus() {}, onRefused() {} },
    dialTimeoutMs: 2000,
    sendDeadlineMs: 2000,
    queueBytesMax: 1 << 20,
    snapshotChunkBytes: 1000,
    keepaliveMs: 100,
    frameBytesTarget: 500,
  });
  try {
    const idle = await rawSocket(f.port, line("msg"));
    await closedWithin(idle, "the silent stream to be closed");
    assert.is(idle.text(), "OK\n");
    assert.is(f.state.counters.idleTimeouts, 1);
    t.setPeer(ME, [`http://127.0.0.1:${f.port}`]);
    t.send([msg()]);
    await until("the message", () => f.received.length === 1);
    // Silent for several idle timeouts: only keepalives flow, and the stream stays up.
    await new Promise((r) => setTimeout(r, LIM.streamIdleTimeoutMs * 4));
    assert.is(f.state.counters.idleTimeouts, 1);
    assert.is(t.peerStats(ME)!.failures, 0);
    assert.ok(t.peerStats(ME)!.connected);
    t.send([msg({ commit: 1 })]);
    await until("the second message", () => f.received.length === 2);
    assert.is(f.received[1].commit, 1);
  } finally {
    t.stop();
    await f.server.close();
  }
});

s("a batch bigger than the frame target goes out as several frames the receiver accepts", async () => {
  const f = await serve({ ...LIM, framesBytesMax: 4000, frameBytesMax: 1000, streamIdleTimeoutMs: 5000 });
  const t = new Transport({
    localId: PEER, clusterId: CLUSTER, logger: { debug() {}, info() {}, warn() {}, error() {} },
    handler: { onUnreachable() {}, onSnapshotStatus() {}, onRefused() {} },
    dialTimeoutMs: 2000, sendDeadlineMs: 2000, queueBytesMax: 1 << 20, snapshotChunkBytes: 1000, keepaliveMs: 1000, frameBytesTarget: 500,
  });
  try {
    t.setPeer(ME, [`http://127.0.0.1:${f.port}`]);
    const app = (i: number) => msg({ type: MessageType.App, index: i, entries: [{ term: 5, index: i + 1, type: 0, data: new Uint8Array(200) }] } as Partial<Message>);
    t.send(Array.from({ length: 10 }, (_, i) => app(i)));
    await until("ten appends", () => f.received.length === 10);
    assert.equal(f.received.map((m) => m.index), [...Array(10).keys()]);
    assert.is(f.state.counters.badFrames, 0);
  } finally {
    t.stop();
    await f.server.close();
  }
});

s("the connection cap answers ERR too many connections and 503, and the port keeps serving", async () => {
  const f = await serve({ ...LIM, connectionsMax: 3, handshakeTimeoutMs: 30_000, httpHeaderTimeoutMs: 30_000 });
  try {
    const held = await Promise.all([1, 2, 3].map(() => rawSocket(f.port)));
    await until("three connections", () => f.state.connections === 3);
    const r1 = await rawSocket(f.port, line("msg"));
    await closedWithin(r1, "the over-cap handshake to be answered");
    assert.is(r1.text(), "ERR too many connections\n");
    const r2 = await rawSocket(f.port, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
    await closedWithin(r2, "the over-cap GET to be answered");
    assert.match(r2.text(), /^HTTP\/1.1 503 /);
    assert.is(f.state.counters.connectionsRefused, 2);
    for (const h of held) h.sock.destroy();
    await until("the held connections to go", () => f.state.connections === 0);
    const ok = await rawSocket(f.port, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
    await closedWithin(ok, "the GET to be answered");
    assert.match(ok.text(), /^HTTP\/1.1 200 /);
  } finally {
    await f.server.close();
  }
});

s("frames are refused from their announced length against one budget across connections, and released", async () => {
  const f = await serve({ ...LIM, streamIdleTimeoutMs: 30_000 });
  try {
    // 600 bytes announced, 10 sent: the first holds 600 of the frames' 1000.
    const a = await rawSocket(f.port, line("msg"));
    a.sock.write(lengthPrefix(600));
    a.sock.write(new Uint8Array(10));
    await until("the first reservation", () => f.state.frameBytes === 600);
    const b = await rawSocket(f.port, line("app"));
    b.sock.write(lengthPrefix(600));
    await closedWithin(b, "the connection over the budget to be dropped");
    assert.is(f.state.counters.overBudget, 1);
    assert.ok(f.state.counters.bytesRefused >= 600);
    // Small frames (heartbeats, votes, acks) pass while the budget is held: a leader that heard
    // no acknowledgement would step down.
    const small = await rawSocket(f.port, line("msg"));
    const hb = encodeMessages([msg()]);
    assert.ok(hb.length - 4 <= 100, `a heartbeat frame is ${hb.length - 4} bytes`);
    small.sock.write(hb);
    await until("the small frame", () => f.received.length === 1);
    assert.is(f.state.frameBytes, 600);
    small.sock.destroy();
    // A frame over the per-frame limit is refused at once, whatever the budget.
    const c = await rawSocket(f.port, line("app"));
    c.sock.write(lengthPrefix(601));
    await closedWithin(c, "the oversized frame to be dropped");
    assert.is(f.state.counters.badFrames, 1);
    a.sock.destroy();
    await until("the budget to be released", () => f.state.bufferedBytes === 0 && f.state.frameBytes === 0);
    // With the budget free, a frame of the largest size goes through.
    const d = await rawSocket(f.port, line("msg"));
    const m = encodeMessages([msg({ context: new Uint8Array(500) })]);
    assert.ok(m.length - 4 <= 600);
    d.sock.write(m);
    await until("the message", () => f.received.length === 2);
    assert.is(f.state.frameBytes, 0);
    d.sock.destroy();
    // One warning per sender and reason: the budget drop was logged once.
    assert.is(f.warnings.filter((w) => w.includes("overBudget")).length, 1);
  } finally {
    await f.server.close();
  }
});

s("a message whose sender or addressee differs from the handshake's drops the connection", async () => {
  const f = await serve({ ...LIM, streamIdleTimeoutMs: 30_000 });
  try {
    const a = await rawSocket(f.port, line("msg"));
    a.sock.write(encodeMessages([msg(), msg({ from: "ff" as NodeId })]));
    await closedWithin(a, "the connection to be dropped");
    const b = await rawSocket(f.port, line("msg"));
    b.sock.write(encodeMessages([msg({ to: "ee" as NodeId })]));
    await closedWithin(b, "the connection to be dropped");
    assert.is(f.state.counters.wrongSender, 2);
    assert.is(f.received.length, 0);
    const c = await rawSocket(f.port, line("msg", "dd" as NodeId));
    await closedWithin(c, "the unknown sender to be refused");
    assert.is(c.text(), "ERR sender not found\n");
    assert.is(f.state.counters.sendersNotFound, 1);
  } finally {
    await f.server.close();
  }
});

s("snapshots: implausible or oversized headers are refused before any data, one at a time (the newest plausible one wins), the buffer grows with the data", async () => {
  const f = await serve({ ...LIM, streamIdleTimeoutMs: 30_000 });
  try {
    // Over the snapshot limit: refused from the header alone.
    const big = await rawSocket(f.port, line("snap"));
    big.sock.write(encodeSnapshotHeader(snapMessage(4001)));
    await closedWithin(big, "the oversized snapshot to be refused");
    assert.match(big.text(), /OK\nERR snapshot of 4001 bytes is over the limit/);
    // Implausible for the receiver's Raft state (the handler says why).
    f.refuseSnapshot = "snapshot of term 5 is older than this member's term 6";
    const old = await rawSocket(f.port, line("snap"));
    old.sock.write(encodeSnapshotHeader(snapMessage(100)));
    await closedWithin(old, "the stale snapshot to be refused");
    assert.match(old.text(), /ERR snapshot of term 5 is older/);
    f.refuseSnapshot = undefined;
    assert.is(f.state.counters.snapshotsRefused, 2);
    assert.is(f.state.bufferedBytes, 0);
    // One in progress holds its announced size. A newer plausible one (its sender stopped
    // mid-stream, a new leader sends its own) replaces it: the first is closed, its bytes released.
    const s0 = await rawSocket(f.port, line("snap"));
    s0.sock.write(encodeSnapshotHeader(snapMessage(2000)));
    s0.sock.write(encodeChunk(new Uint8Array(500)));
    await until("the first reservation", () => f.state.bufferedBytes === 2000 && f.state.snapshotsReceiving === 1);
    const s1 = await rawSocket(f.port, line("snap"));
    const m = snapMessage(3000);
    s1.sock.write(encodeSnapshotHeader(m));
    s1.sock.write(encodeChunk(m.snapshot!.data.subarray(0, 1000)));
    await closedWithin(s0, "the older snapshot stream to be given up");
    await until("the second reservation", () => f.state.bufferedBytes === 3000 && f.state.snapshotsReceiving === 1);
    assert.is(f.state.counters.snapshotsReplaced, 1);
    for (let off = 1000; off < 3000; off += 1000) s1.sock.write(encodeChunk(m.snapshot!.data.subarray(off, off + 1000)));
    await until("the snapshot", () => f.received.length === 1);
    assert.is(f.received[0].snapshot!.data.length, 3000);
    await until("DONE", () => s1.text() === "OK\nDONE\n");
    assert.is(f.state.bufferedBytes, 0);
    assert.is(f.state.snapshotsReceiving, 0);
    // A dropped snapshot stream gives its reservation back.
    const s3 = await rawSocket(f.port, line("snap"));
    s3.sock.write(encodeSnapshotHeader(snapMessage(2000)));
    await until("the reservation", () => f.state.bufferedBytes === 2000);
    s3.sock.destroy();
    await until("the release", () => f.state.bufferedBytes === 0 && f.state.snapshotsReceiving === 0);
  } finally {
    await f.server.close();
  }
});

s.run();
