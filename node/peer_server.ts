// The receiving half of the peer transport, on --listen-peer-urls: a plain TCP listener. A
// connection that opens with the line `CPRAFT/1 <channel> <from> <to> <cluster>` is a peer's Raft
// stream (see transport.ts): the handshake is checked (cluster id, addressee, membership), answered
// `OK` or `ERR reason`, and then frames of messages are handed to the node. Anything else is an
// HTTP/1.1 request, answered as etcd's peer port answers the few GETs a joining member or an
// operator sends (/members, /version, /health: node/peer_http.ts), then closed.
// Everything that reaches the port is bounded: connections (a cap), time (a first-line and an HTTP
// header deadline, an idle deadline on streams) and memory (ONE byte budget across all connections,
// reserved from announced sizes before anything is buffered). Every refusal is counted in
// PeerPortState (the node shows it in its status) and logged at most once per sender and interval.
// Must not step the Raft core itself or hold state about peers beyond one connection.

import net from "node:net";
import type { NodeId } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import { decodeMessages, decodeSnapshotHeader, FrameReader, MessageCodecError } from "./message_codec.ts";
import type { Message } from "../log/mod.ts";
import type { Logger } from "./logger.ts";
import { peerHttpAnswer, type PeerHttpSource } from "./peer_http.ts";

export interface PeerServerHandler {
  /** Why a handshake must be refused, or undefined to accept it. A sender that is not a member: "sender not found ...". */
  refuse(channel: string, from: NodeId, to: NodeId, cluster: string): string | undefined;
  /** Why a snapshot announced by this header is of no use here (checked before any of its data is buffered). */
  refuseSnapshot(m: Message): string | undefined;
  /** Messages received from a peer (a batch, in order). */
  onMessages(msgs: Message[]): void;
  /** What the peer port's HTTP answers (GET /members, /version, /health) read of the member. */
  readonly http: PeerHttpSource;
  /** Shared by every peer listener of the member: counters, the connection count and the byte budget. */
  readonly port: PeerPortState;
}

/** The bounds of the peer port (internal/limits.ts; tests pass small ones). */
export interface PeerServerLimits {
  readonly receiveBytesMax: number;
  readonly framesBytesMax: number;
  readonly frameBytesMax: number;
  readonly smallFrameBytes: number;
  readonly snapshotBytesMax: number;
  readonly connectionsMax: number;
  readonly handshakeTimeoutMs: number;
  readonly httpHeaderTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly warnIntervalMs: number;
  readonly acceptErrorLogIntervalMs: number;
  readonly listenerProbeMs: number;
}

export const defaultPeerServerLimits: PeerServerLimits = Object.freeze({
  receiveBytesMax: limits.peerReceiveBytesMax,
  framesBytesMax: limits.peerFramesBytesMax,
  frameBytesMax: limits.peerFrameBytesMax,
  smallFrameBytes: limits.peerSmallFrameBytes,
  snapshotBytesMax: limits.snapshotBytesMax,
  connectionsMax: limits.peerConnectionsMax,
  handshakeTimeoutMs: limits.peerHandshakeTimeoutMs,
  httpHeaderTimeoutMs: limits.peerHttpHeaderTimeoutMs,
  streamIdleTimeoutMs: limits.peerStreamIdleTimeoutMs,
  warnIntervalMs: limits.peerWarnIntervalMs,
  acceptErrorLogIntervalMs: limits.peerAcceptErrorLogIntervalMs,
  listenerProbeMs: limits.peerListenerProbeMs,
});

/** Why the peer port closed or refused something; the keys of PeerPortState.counters. */
export type PeerDropReason =
  | "connectionsRefused" // over peerConnectionsMax
  | "handshakesRefused" // answered ERR (any reason, sender not found included)
  | "sendersNotFound" // ... of which: the sender is not a member
  | "handshakeTimeouts"
  | "httpHeaderTimeouts"
  | "idleTimeouts"
  | "badFrames" // undecodable, or over peerFrameBytesMax
  | "wrongSender" // a message whose from/to differ from the handshake's
  | "overBudget" // an announced size that does not fit peerReceiveBytesMax
  | "snapshotsRefused" // implausible snapshot header
  | "snapshotsReplaced" // a snapshot being received, given up for a newer plausible one
  | "messagesRefused" // decoded, but impossible for the member's state or a proposal with entries no member may apply
  | "acceptErrors" // EMFILE, ENFILE ... on the listener
  | "listenerRestarts"; // the listener stopped accepting (Deno after EMFILE) and was opened anew

/**
 * The state every peer listener of one member shares: what was refused (counters), what is held
 * now (connections, bytes reserved, snapshots being received), and when each warning was last logged.
 */
export class PeerPortState {
  readonly counters: Record<PeerDropReason | "bytesRefused", number> = {
    connectionsRefused: 0, handshakesRefused: 0, sendersNotFound: 0, handshakeTimeouts: 0, httpHeaderTimeouts: 0,
    idleTimeouts: 0, badFrames: 0, wrongSender: 0, overBudget: 0, snapshotsRefused: 0, snapshotsReplaced: 0, messagesRefused: 0, acceptErrors: 0,
    listenerRestarts: 0,
    bytesRefused: 0,
  };
  connections = 0;
  /** Bytes reserved now (frames and snapshot data), of which frameBytes for frames. */
  bufferedBytes = 0;
  frameBytes = 0;
  snapshotsReceiving = 0;
  /** Gives up the snapshot being received (its connection is closed, its bytes released), if any. */
  abandonSnapshot: (() => void) | undefined = undefined;
  readonly #lastWarn = new Map<string, number>();

  /** Counts one event and logs it unless the same reason from the same sender was logged within intervalMs. */
  count(reason: PeerDropReason, logger: Logger, intervalMs: number, sender: string, msg: string, fields: Record<string, unknown>): void {
    this.counters[reason]++;
    const key = `${reason} ${sender}`;
    const now = Date.now();
    const last = this.#lastWarn.get(key);
    if (last !== undefined && now - last < intervalMs) return;
    // Bounded: senders are whatever strings anyone sends; forget them all rather than grow.
    if (this.#lastWarn.size >= 10_000) this.#lastWarn.clear();
    this.#lastWarn.set(key, now);
    logger.warn(msg, { reason, peer: sender, count: this.counters[reason], ...fields });
  }

  /** Reserves announced bytes from the budget (frames also from their share); false, nothing reserved, when they do not fit. */
  reserve(bytes: number, lim: PeerServerLimits, frame: boolean): boolean {
    if (this.bufferedBytes + bytes > lim.receiveBytesMax) return false;
    if (frame && this.frameBytes + bytes > lim.framesBytesMax) return false;
    this.bufferedBytes += bytes;
    if (frame) this.frameBytes += bytes;
    return true;
  }

  release(bytes: number, frame: boolean): void {
    this.bufferedBytes -= bytes;
    if (frame) this.frameBytes -= bytes;
  }

  /** The JSON form for the member's status. */
  json(): Record<string, number> {
    return {
      ...this.counters,
      connections: this.connections,
      bufferedBytes: this.bufferedBytes,
      frameBytes: this.frameBytes,
      snapshotsReceiving: this.snapshotsReceiving,
    };
  }
}

const HANDSHAKE = "CPRAFT/1 ";
const FIRST_LINE_BYTES_MAX = 512;
const HTTP_HEAD_BYTES_MAX = 16 * 1024;
/** A connection told to go (ERR, an HTTP answer) is destroyed if the other side has not closed within this. */
const LINGER_MS = 1000;
/** The CBOR of an empty array: an empty batch is a sender's keepalive (transport.ts). */
const EMPTY_BATCH = 0x80;

export interface PeerServer {
  close(): Promise<void>;
}

/** A connection dropped for a reason that is counted (thrown inside a data handler, caught by it). */
class PeerDrop extends Error {
  readonly reason: PeerDropReason;
  readonly bytes: number;
  constructor(reason: PeerDropReason, message: string, bytes = 0) {
    super(message);
    this.reason = reason;
    this.bytes = bytes;
  }
}

type Phase = "first" | "http" | "stream" | "closing";

/** One accepted connection: its phase sets its deadline, checked by the server's sweep. */
interface Conn {
  readonly sock: net.Socket;
  readonly startMs: number;
  phase: Phase;
  lastDataMs: number;
  closingSinceMs: number;
  peer: string;
  /** Bytes this connection holds reserved in the shared budget (released when it closes): frame, snapshot data. */
  reservedFrame: number;
  reserved: number;
  snapshot: boolean;
}

export async function startPeerServer(
  hostname: string,
  port: number,
  handler: PeerServerHandler,
  logger: Logger,
  lim: PeerServerLimits = defaultPeerServerLimits,
): Promise<PeerServer> {
  const st = handler.port;
  const conns = new Set<Conn>();
  let lastAcceptErrorLogMs = 0;
  /** Connections accepted so far: the probe (below) looks for any progress. */
  let accepted = 0;
  let closed = false;
  const onConnection = (sock: net.Socket) => {
    accepted++;
    const now = Date.now();
    const c: Conn = { sock, startMs: now, phase: "first", lastDataMs: now, closingSinceMs: 0, peer: "", reservedFrame: 0, reserved: 0, snapshot: false };
    st.connections++;
    conns.add(c);
    sock.on("close", () => {
      conns.delete(c);
      st.connections--;
      if (c.reservedFrame > 0) st.release(c.reservedFrame, true);
      if (c.reserved > 0) st.release(c.reserved, false);
      c.reservedFrame = 0;
      c.reserved = 0;
      if (c.snapshot) st.snapshotsReceiving--;
      c.snapshot = false;
    });
    sock.on("error", () => sock.destroy());
    sock.setNoDelay(true);
    if (st.connections > lim.connectionsMax) {
      const addr = sock.remoteAddress ?? "?";
      st.count("connectionsRefused", logger, lim.warnIntervalMs, addr, "peer port: too many connections, refusing one", { max: lim.connectionsMax });
      // Far over the cap, not even an answer: every byte read costs.
      if (st.connections > 2 * lim.connectionsMax) sock.destroy();
      else refuseOverCap(c);
      return;
    }
    serveConnection(c, handler, logger, lim);
  };
  // Accept errors (EMFILE, ENFILE) arrive here after listen; without a listener they would kill the
  // process. Node's listener keeps polling (libuv backs off on EMFILE); Deno's stops: see probe.
  const onServerError = (e: Error & { code?: string }) => {
    st.counters.acceptErrors++;
    const now = Date.now();
    if (now - lastAcceptErrorLogMs >= lim.acceptErrorLogIntervalMs) {
      lastAcceptErrorLogMs = now;
      logger.warn("peer port: accepting a connection failed; still serving", { error: e.message, code: e.code, count: st.counters.acceptErrors });
    }
  };
  const listen = (): Promise<net.Server> =>
    new Promise((resolve, reject) => {
      const srv = net.createServer(onConnection);
      srv.once("error", reject);
      srv.listen({ host: hostname, port }, () => {
        srv.off("error", reject);
        srv.on("error", onServerError);
        resolve(srv);
      });
    });
  const sweepMs = Math.max(10, Math.min(1000, Math.min(lim.handshakeTimeoutMs, lim.httpHeaderTimeoutMs, lim.streamIdleTimeoutMs) / 4));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of conns) {
      if (c.phase === "closing") {
        if (now - c.closingSinceMs > LINGER_MS) c.sock.destroy();
      } else if (c.phase === "first" && now - c.startMs > lim.handshakeTimeoutMs) {
        drop(c, new PeerDrop("handshakeTimeouts", `no handshake within ${lim.handshakeTimeoutMs} ms`), logger, lim, st);
      } else if (c.phase === "http" && now - c.startMs > lim.httpHeaderTimeoutMs) {
        drop(c, new PeerDrop("httpHeaderTimeouts", `no complete HTTP head within ${lim.httpHeaderTimeoutMs} ms`), logger, lim, st);
      } else if (c.phase === "stream" && now - c.lastDataMs > lim.streamIdleTimeoutMs) {
        drop(c, new PeerDrop("idleTimeouts", `nothing received for ${lim.streamIdleTimeoutMs} ms`), logger, lim, st);
      }
    }
  }, sweepMs);
  (sweep as { unref?: () => void }).unref?.();
  let server = await listen();
  // The probe: connect to this listener; if the kernel took the connection but the listener
  // accepted nothing since, it is dead (Deno after EMFILE): close it and listen anew on the port.
  // The probe connection closes before any deadline would count it.
  let probing = false;
  const probe = setInterval(() => {
    if (probing || closed) return;
    probing = true;
    const before = accepted;
    const c = net.connect({ host: hostname, port });
    const end = () => {
      c.destroy();
      probing = false;
    };
    c.on("error", () => end()); // no fd to probe with, or refused: try again next time
    c.once("connect", () => {
      setTimeout(async () => {
        const dead = accepted === before && !closed;
        end();
        if (!dead) return;
        st.counters.listenerRestarts++;
        logger.warn("peer port: the listener stopped accepting connections; listening anew", { port, count: st.counters.listenerRestarts });
        const old = server;
        old.close();
        try {
          server = await listen();
        } catch (e) {
          logger.warn("peer port: listening anew failed; trying again", { error: (e as Error).message });
          server = old;
        }
      }, Math.max(100, Math.min(lim.listenerProbeMs / 2, lim.handshakeTimeoutMs / 2)));
    });
  }, lim.listenerProbeMs);
  (probe as { unref?: () => void }).unref?.();
  return {
    close: () =>
      new Promise<void>((r) => {
        closed = true;
        clearInterval(sweep);
        clearInterval(probe);
        for (const c of conns) c.sock.destroy();
        server.close(() => r());
      }),
  };
}

/** Counts, logs (rate-limited) and closes a connection. */
function drop(c: Conn, e: PeerDrop, logger: Logger, lim: PeerServerLimits, st: PeerPortState): void {
  if (e.bytes > 0) st.counters.bytesRefused += e.bytes;
  st.count(e.reason, logger, lim.warnIntervalMs, c.peer || (c.sock.remoteAddress ?? "?"), "peer port: dropping a connection", {
    error: e.message,
    ...(e.bytes > 0 ? { bytes: e.bytes } : {}),
  });
  c.sock.removeAllListeners("data");
  c.sock.destroy();
}

/** Tells a peer to go with a last line, then lets the sweep destroy it if it lingers. */
function closeWith(c: Conn, text: string): void {
  c.sock.removeAllListeners("data");
  c.phase = "closing";
  c.closingSinceMs = Date.now();
  c.sock.end(text);
}

/** Over the connection cap: answer in the protocol the first bytes show, then close. */
function refuseOverCap(c: Conn): void {
  c.sock.once("data", (d: Uint8Array) => {
    const raft = d.length > 0 && d[0] === HANDSHAKE.charCodeAt(0);
    closeWith(
      c,
      raft
        ? "ERR too many connections\n"
        : "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n",
    );
  });
}

function serveConnection(c: Conn, handler: PeerServerHandler, logger: Logger, lim: PeerServerLimits): void {
  const sock = c.sock;
  let head = new Uint8Array(0);
  const onFirst = (d: Uint8Array) => {
    const next = new Uint8Array(head.length + d.length);
    next.set(head);
    next.set(d, head.length);
    head = next;
    const n = Math.min(head.length, HANDSHAKE.length);
    const prefix = new TextDecoder().decode(head.subarray(0, n));
    if (prefix !== HANDSHAKE.slice(0, n)) {
      sock.off("data", onFirst);
      c.phase = "http";
      serveHttp(c, head, handler);
      return;
    }
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > FIRST_LINE_BYTES_MAX) drop(c, new PeerDrop("badFrames", "handshake line too long"), logger, lim, handler.port);
      return;
    }
    sock.off("data", onFirst);
    const parts = new TextDecoder().decode(head.subarray(0, nl)).split(" ");
    const [, channel, from, to, cluster] = parts;
    c.peer = parts.length === 5 ? from : "";
    const why = parts.length !== 5 || !["msg", "app", "snap"].includes(channel)
      ? "bad handshake"
      : handler.refuse(channel, from, to, cluster);
    if (why) {
      const st = handler.port;
      if (why.startsWith("sender not found")) st.counters.sendersNotFound++;
      st.count("handshakesRefused", logger, lim.warnIntervalMs, c.peer || (sock.remoteAddress ?? "?"), "peer port: refusing a handshake", {
        channel,
        reason: why,
      });
      closeWith(c, `ERR ${why}\n`);
      return;
    }
    sock.write("OK\n");
    c.phase = "stream";
    c.lastDataMs = Date.now();
    const rest = head.subarray(nl + 1);
    if (channel === "snap") receiveSnapshot(c, rest, handler, logger, from, to, lim);
    else receiveStream(c, rest, handler, logger, from, to, lim);
  };
  sock.on("data", onFirst);
}

/**
 * A FrameReader whose frames are reserved from the port's shared budget before a byte of them is
 * buffered, and released when handed over (or when the connection closes: Conn.reservedFrame).
 * Small frames (limits.peerSmallFrameBytes) are exempt, so Raft's small messages pass whoever holds
 * the budget.
 */
function budgetedFrames(c: Conn, st: PeerPortState, lim: PeerServerLimits): FrameReader {
  return new FrameReader(lim.frameBytesMax, {
    reserve: (n) => {
      if (n <= lim.smallFrameBytes) return;
      if (!st.reserve(n, lim, true)) {
        throw new PeerDrop("overBudget", `a frame of ${n} bytes does not fit the peer port's budget (frames hold ${st.frameBytes} of ${lim.framesBytesMax} bytes)`, n);
      }
      c.reservedFrame += n;
    },
    release: (n) => {
      if (n <= lim.smallFrameBytes) return;
      st.release(n, true);
      c.reservedFrame -= n;
    },
  });
}

/** Every message on a stream must come from the handshake's sender and be for this member. */
function checkAddress(msgs: readonly Message[], from: NodeId, to: NodeId): void {
  for (const m of msgs) {
    if (m.from !== from || m.to !== to) {
      throw new PeerDrop("wrongSender", `a message from ${m.from} to ${m.to} on a stream from ${from} to ${to}`);
    }
  }
}

function receiveStream(c: Conn, first: Uint8Array, handler: PeerServerHandler, logger: Logger, from: NodeId, to: NodeId, lim: PeerServerLimits): void {
  const sock = c.sock;
  const frames = budgetedFrames(c, handler.port, lim);
  const onData = (d: Uint8Array) => {
    c.lastDataMs = Date.now();
    try {
      for (const body of frames.push(d)) {
        if (body.length === 1 && body[0] === EMPTY_BATCH) continue; // keepalive
        const msgs = decodeMessages(body);
        checkAddress(msgs, from, to);
        handler.onMessages(msgs);
      }
    } catch (e) {
      if (e instanceof MessageCodecError) drop(c, new PeerDrop("badFrames", e.message), logger, lim, handler.port);
      else if (e instanceof PeerDrop) drop(c, e, logger, lim, handler.port);
      else throw e;
    }
  };
  sock.on("data", onData);
  if (first.length > 0) onData(first);
}

/**
 * A snapshot stream: a header frame (the MsgSnap without data, and the data's length), then raw
 * chunk frames. The header must be plausible (handler.refuseSnapshot), only one snapshot is received
 * at a time, and its announced length is reserved from the budget before any data is buffered. The
 * data buffer grows as chunks arrive: an announcement alone allocates nothing.
 */
function receiveSnapshot(
  c: Conn,
  first: Uint8Array,
  handler: PeerServerHandler,
  logger: Logger,
  from: NodeId,
  to: NodeId,
  lim: PeerServerLimits,
): void {
  const sock = c.sock;
  const st = handler.port;
  const frames = budgetedFrames(c, st, lim);
  let header: { message: Message; dataBytes: number } | undefined;
  let data = new Uint8Array(0);
  let got = 0;
  // Chunk frames are read straight into `data` (their bytes are covered by the snapshot's reservation).
  const len = new Uint8Array(4);
  let lenGot = 0;
  let chunkLeft = 0;
  const done = () => {
    const m = header!.message;
    sock.off("data", onData);
    const full = data.length === got ? data : data.slice(0, got);
    handler.onMessages([{ ...m, snapshot: { metadata: m.snapshot!.metadata, data: full } }]);
    logger.info("snapshot received", { peer: from, index: m.snapshot!.metadata.index, bytes: got });
    // Handed over: the node holds the data now, not the port.
    st.release(c.reserved, false);
    c.reserved = 0;
    st.snapshotsReceiving--;
    c.snapshot = false;
    c.phase = "closing";
    c.closingSinceMs = Date.now();
    sock.end("DONE\n");
  };
  const onData = (d: Uint8Array) => {
    c.lastDataMs = Date.now();
    try {
      let off = 0;
      if (!header) {
        // The header is an ordinary frame; whatever follows it in this chunk is data.
        const r = frames.next(d, 0);
        if (!r.body) return;
        header = acceptHeader(r.body);
        off = r.off;
        if (header.dataBytes === 0) return done();
      }
      while (off < d.length) {
        if (chunkLeft === 0) {
          while (lenGot < 4 && off < d.length) len[lenGot++] = d[off++];
          if (lenGot < 4) break;
          lenGot = 0;
          chunkLeft = ((len[0] << 24) | (len[1] << 16) | (len[2] << 8) | len[3]) >>> 0;
          if (got + chunkLeft > header.dataBytes) throw new PeerDrop("badFrames", "snapshot data longer than announced", chunkLeft);
          if (chunkLeft === 0) continue;
          if (data.length < got + chunkLeft) {
            const grown = new Uint8Array(Math.min(header.dataBytes, Math.max(got + chunkLeft, data.length * 2)));
            grown.set(data.subarray(0, got));
            data = grown;
          }
        }
        const take = Math.min(chunkLeft, d.length - off);
        data.set(d.subarray(off, off + take), got);
        got += take;
        chunkLeft -= take;
        off += take;
        if (got === header.dataBytes) return done();
      }
    } catch (e) {
      const drop2 = e instanceof MessageCodecError ? new PeerDrop("badFrames", e.message) : e instanceof PeerDrop ? e : undefined;
      if (!drop2) throw e;
      if (drop2.bytes > 0) st.counters.bytesRefused += drop2.bytes;
      st.count(drop2.reason, logger, lim.warnIntervalMs, from, "peer port: dropping a snapshot stream", { error: drop2.message });
      closeWith(c, `ERR ${drop2.message}\n`);
    }
  };
  const acceptHeader = (body: Uint8Array): { message: Message; dataBytes: number } => {
    const h = decodeSnapshotHeader(body);
    checkAddress([h.message], from, to);
    if (!Number.isSafeInteger(h.dataBytes) || h.dataBytes < 0) throw new PeerDrop("badFrames", "bad snapshot length");
    if (h.dataBytes > lim.snapshotBytesMax) {
      throw new PeerDrop("snapshotsRefused", `snapshot of ${h.dataBytes} bytes is over the limit of ${lim.snapshotBytesMax}`, h.dataBytes);
    }
    const why = handler.refuseSnapshot(h.message);
    if (why) throw new PeerDrop("snapshotsRefused", why, h.dataBytes);
    if (st.snapshotsReceiving > 0) {
      // The newest plausible snapshot wins (refuseSnapshot passed: it comes from the leader this
      // member follows, or from a newer term). The one in progress may never finish: its sender
      // was paused, cut off or replaced as leader mid-stream, and it must not keep the current
      // leader's snapshot out until the idle deadline (a real cluster stalled on exactly that).
      st.abandonSnapshot?.();
      st.count("snapshotsReplaced", logger, lim.warnIntervalMs, from, "peer port: giving up a snapshot being received for a newer one", {
        index: h.message.snapshot!.metadata.index,
        term: h.message.term,
      });
      if (st.snapshotsReceiving > 0) throw new PeerDrop("snapshotsRefused", "another snapshot is being received", h.dataBytes);
    }
    if (!st.reserve(h.dataBytes, lim, false)) {
      throw new PeerDrop("overBudget", `a snapshot of ${h.dataBytes} bytes does not fit the peer port's budget (${st.bufferedBytes} of ${lim.receiveBytesMax} bytes held)`, h.dataBytes);
    }
    c.reserved += h.dataBytes;
    st.snapshotsReceiving++;
    c.snapshot = true;
    st.abandonSnapshot = () => {
      if (!c.snapshot) return;
      st.release(c.reserved, false);
      c.reserved = 0;
      st.snapshotsReceiving--;
      c.snapshot = false;
      sock.removeAllListeners("data");
      sock.destroy();
    };
    return h;
  };
  sock.on("data", onData);
  if (first.length > 0) onData(first);
}

const REASONS: Record<number, string> = { 200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable" };

function serveHttp(c: Conn, first: Uint8Array, handler: PeerServerHandler): void {
  const sock = c.sock;
  let text = "";
  const onData = (d: Uint8Array) => {
    text += new TextDecoder().decode(d);
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) {
      if (text.length > HTTP_HEAD_BYTES_MAX) sock.destroy();
      return;
    }
    sock.off("data", onData);
    const [method = "", target = "/"] = text.slice(0, text.indexOf("\r\n")).split(" ");
    let path = "/";
    try {
      path = new URL(target, "http://peer").pathname;
    } catch { /* answered 404 below */ }
    const r = method === "GET" || method === "HEAD"
      ? peerHttpAnswer(handler.http, path)
      : { status: 405, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "Method Not Allowed\n" };
    const body = new TextEncoder().encode(r.body);
    let out = `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? "Status"}\r\n`;
    for (const [k, v] of Object.entries(r.headers)) out += `${k}: ${v}\r\n`;
    out += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    sock.write(out);
    if (method !== "HEAD") sock.write(body);
    c.phase = "closing";
    c.closingSinceMs = Date.now();
    sock.end();
  };
  sock.on("data", onData);
  onData(first);
}
