// The sending half of the peer transport: long-lived TCP connections from this member to each peer,
// one per channel so heartbeats and votes ("msg") never queue behind appends ("app"), and one short
// connection per snapshot ("snap", streamed in chunks). Every Ready's messages for a peer and
// channel go out as one frame (node/message_codec.ts; cut into frames of about frameBytesTarget, which
// the receiver bounds), written without waiting for the previous one (pipelining). Queues are bounded
// in bytes, every write has a deadline, a stream idle for keepaliveMs carries an empty frame (the
// receiver closes streams silent for longer than its idle timeout), and a lost connection is dialled
// again with exponential backoff. peer_server.ts is the receiving half.
// Must not step the Raft core or decide anything about Raft: it reports to its handler.

import net from "node:net";
import type { NodeId } from "../internal/mod.ts";
import { encodeChunk, encodeMessages, encodeSnapshotHeader } from "./message_codec.ts";
import { type Message, MessageType } from "../log/mod.ts";
import type { Logger } from "./logger.ts";

export type Channel = "msg" | "app";

export interface TransportHandler {
  /** A peer could not be reached, or a message to it was dropped: Raft should probe it. */
  onUnreachable(id: NodeId): void;
  /** A snapshot finished streaming to a peer (ok), or failed. */
  onSnapshotStatus(id: NodeId, ok: boolean): void;
  /** A peer refused the connection with a reason (another cluster; this member was removed). */
  onRefused(id: NodeId, reason: string): void;
}

export interface TransportOptions {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly logger: Logger;
  readonly handler: TransportHandler;
  /** A connect plus handshake that takes longer than this fails. */
  readonly dialTimeoutMs: number;
  /** A connection whose queued bytes make no progress for this long is dropped. */
  readonly sendDeadlineMs: number;
  /** Bytes queued per connection beyond which new messages are dropped. */
  readonly queueBytesMax: number;
  /** Snapshot stream chunk size in bytes. */
  readonly snapshotChunkBytes: number;
  /** A stream that carried nothing for this long gets an empty frame, so the receiver never sees it idle. */
  readonly keepaliveMs: number;
  /** A batch is cut into frames of about this many bytes (one message bigger than this goes alone). */
  readonly frameBytesTarget: number;
}

export interface PeerStats {
  sentFrames: number;
  sentMessages: number;
  dropped: number;
  failures: number;
  connected: boolean;
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
/** Least time between two snapshots streamed to one peer. */
const SNAPSHOT_INTERVAL_MS = 500;

export function handshakeLine(channel: string, from: NodeId, to: NodeId, cluster: string): string {
  return `CPRAFT/1 ${channel} ${from} ${to} ${cluster}\n`;
}

/** The keepalive: an empty batch (the receiver hands nothing to Raft). */
const KEEPALIVE = encodeMessages([]);

/** About how many bytes a message takes in a frame (its entries' data plus a generous overhead). */
function messageBytesEstimate(m: Message): number {
  let n = 64 + (m.context?.length ?? 0);
  for (const e of m.entries) n += 32 + e.data.length;
  return n;
}

/** Cuts a batch into runs of about targetBytes each, in order (a message over the target alone). */
export function splitBatch(msgs: readonly Message[], targetBytes: number): Message[][] {
  const out: Message[][] = [];
  let cur: Message[] = [];
  let bytes = 0;
  for (const m of msgs) {
    const n = messageBytesEstimate(m);
    if (cur.length > 0 && bytes + n > targetBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(m);
    bytes += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** host and port of a peer URL like http://10.0.0.1:2380 */
function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) };
}

/**
 * Reads the acceptor's one-line answer (`OK` or `ERR reason`) and hands back the socket for writing.
 * Rejects on timeout, close or refusal.
 */
function dial(url: string, line: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { host, port } = hostPort(url);
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    let answer = "";
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    sock.once("connect", () => {
      sock.setNoDelay(true); // again once connected: Deno's node:net may not carry it over
      sock.write(line);
    });
    sock.on("error", (e) => fail(e));
    sock.once("close", () => fail(new Error(`${url} closed the connection`)));
    const onData = (d: Uint8Array) => {
      answer += new TextDecoder().decode(d);
      const nl = answer.indexOf("\n");
      if (nl < 0) {
        if (answer.length > 512) fail(new Error(`${url} answered something that is not a coreplane peer`));
        return;
      }
      const first = answer.slice(0, nl);
      if (first === "OK") {
        done = true;
        clearTimeout(timer);
        sock.off("data", onData);
        sock.removeAllListeners("error");
        sock.removeAllListeners("close");
        resolve(sock);
      } else {
        const e = new Error(first.startsWith("ERR ") ? first.slice(4) : `${url} is not a coreplane peer`) as Error & { refused?: boolean };
        e.refused = first.startsWith("ERR ");
        fail(e);
      }
    };
    sock.on("data", onData);
  });
}

/** One long-lived connection to a peer for one channel. */
class Stream {
  socket: net.Socket | undefined;
  connecting = false;
  /** Frames waiting for the connection to open. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;
  retryAtMs = 0;
  backoffMs = 0;
  /** When the socket's queue last became non-empty without draining since (0: empty). */
  stuckSinceMs = 0;
  /** When a frame (or a keepalive) was last written on the socket. */
  lastWriteMs = 0;
  readonly channel: Channel;
  constructor(channel: Channel) {
    this.channel = channel;
  }
}

class Peer {
  urls: readonly string[];
  urlIndex = 0;
  readonly streams: Record<Channel, Stream> = { msg: new Stream("msg"), app: new Stream("app") };
  readonly stats: PeerStats = { sentFrames: 0, sentMessages: 0, dropped: 0, failures: 0, connected: false };
  lastRefusalLogMs = 0;
  lastSnapshotMs = 0;
  snapshotBusy = false;
  readonly id: NodeId;
  constructor(id: NodeId, urls: readonly string[]) {
    this.id = id;
    this.urls = urls;
  }
  url(): string {
    return this.urls[this.urlIndex % this.urls.length];
  }
}

export class Transport {
  readonly #o: TransportOptions;
  readonly #peers = new Map<NodeId, Peer>();
  readonly #timer: ReturnType<typeof setInterval>;
  #stopped = false;
  #snapshotsInFlight = new Set<net.Socket>();

  constructor(opts: TransportOptions) {
    this.#o = opts;
    this.#timer = setInterval(() => this.#checkDeadlines(), Math.max(10, Math.min(100, opts.sendDeadlineMs / 4)));
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Adds a peer, or changes its URLs (existing connections are dropped and dialled anew). */
  setPeer(id: NodeId, urls: readonly string[]): void {
    if (id === this.#o.localId || urls.length === 0) return;
    const p = this.#peers.get(id);
    if (!p) {
      this.#peers.set(id, new Peer(id, urls));
      return;
    }
    if (p.urls.join(",") === urls.join(",")) return;
    p.urls = urls;
    for (const s of Object.values(p.streams)) this.#drop(p, s, undefined);
  }

  removePeer(id: NodeId): void {
    const p = this.#peers.get(id);
    if (!p) return;
    this.#peers.delete(id);
    for (const s of Object.values(p.streams)) this.#drop(p, s, undefined);
  }

  hasPeer(id: NodeId): boolean {
    return this.#peers.has(id);
  }

  peerStats(id: NodeId): PeerStats | undefined {
    return this.#peers.get(id)?.stats;
  }

  /** Sends messages (any mix of peers and types); MsgSnap goes on its own streamed connection. */
  send(msgs: readonly Message[]): void {
    if (this.#stopped || msgs.length === 0) return;
    // Group per peer and channel, keeping order within each group: one frame each.
    let groups: Map<string, Message[]> | undefined;
    for (const m of msgs) {
      if (m.type === MessageType.Snap) {
        this.#sendSnapshot(m);
        continue;
      }
      const ch: Channel = m.type === MessageType.App ? "app" : "msg";
      groups ??= new Map();
      const k = `${m.to}\u0000${ch}`;
      const g = groups.get(k);
      if (g) g.push(m);
      else groups.set(k, [m]);
    }
    if (!groups) return;
    for (const [k, g] of groups) {
      const [to, ch] = k.split("\u0000") as [NodeId, Channel];
      const p = this.#peers.get(to);
      if (!p) continue; // not a member (any more): nothing to send to
      for (const part of splitBatch(g, this.#o.frameBytesTarget)) this.#write(p, p.streams[ch], encodeMessages(part), part);
    }
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const p of this.#peers.values()) for (const s of Object.values(p.streams)) this.#drop(p, s, undefined);
    for (const s of this.#snapshotsInFlight) s.destroy();
    this.#snapshotsInFlight.clear();
  }

  #write(p: Peer, s: Stream, frame: Uint8Array, msgs: readonly Message[]): void {
    const sock = s.socket;
    if (sock) {
      if (sock.writableLength + frame.length > this.#o.queueBytesMax) return this.#dropped(p, s, msgs);
      sock.write(frame);
      s.lastWriteMs = Date.now();
      if (sock.writableLength > 0 && s.stuckSinceMs === 0) s.stuckSinceMs = Date.now();
      p.stats.sentFrames++;
      p.stats.sentMessages += msgs.length;
      return;
    }
    if (!s.connecting) {
      if (Date.now() < s.retryAtMs) return this.#dropped(p, s, msgs);
      this.#connect(p, s);
    }
    if (s.pendingBytes + frame.length > this.#o.queueBytesMax) return this.#dropped(p, s, msgs);
    s.pending.push(frame);
    s.pendingBytes += frame.length;
    p.stats.sentMessages += msgs.length;
  }

  #dropped(p: Peer, s: Stream, msgs: readonly Message[]): void {
    p.stats.dropped += msgs.length;
    // A lost append must make Raft probe again; lost heartbeats and votes are simply resent later.
    if (s.channel === "app") this.#o.handler.onUnreachable(p.id);
  }

  #connect(p: Peer, s: Stream): void {
    s.connecting = true;
    const url = p.url();
    dial(url, handshakeLine(s.channel, this.#o.localId, p.id, this.#o.clusterId), this.#o.dialTimeoutMs).then(
      (sock) => {
        s.connecting = false;
        if (this.#stopped || this.#peers.get(p.id) !== p) {
          sock.destroy();
          return;
        }
        s.socket = sock;
        s.backoffMs = 0;
        s.stuckSinceMs = 0;
        s.lastWriteMs = Date.now();
        p.stats.connected = true;
        sock.on("drain", () => (s.stuckSinceMs = 0));
        sock.on("error", (e) => this.#drop(p, s, e));
        sock.on("close", () => this.#drop(p, s, new Error("connection closed")));
        // The acceptor never writes after OK; data would mean a confused peer.
        sock.on("data", () => this.#drop(p, s, new Error("unexpected data from the acceptor")));
        if (s.pending.length > 0) {
          const frames = s.pending;
          s.pending = [];
          s.pendingBytes = 0;
          for (const f of frames) sock.write(f);
          p.stats.sentFrames += frames.length;
          if (sock.writableLength > 0) s.stuckSinceMs = Date.now();
        }
        this.#o.logger.debug("peer connected", { peer: p.id, channel: s.channel, url });
      },
      (e: Error & { refused?: boolean }) => {
        s.connecting = false;
        const n = s.pending.length;
        s.pending = [];
        s.pendingBytes = 0;
        p.stats.failures++;
        p.urlIndex++;
        s.backoffMs = Math.min(BACKOFF_MAX_MS, s.backoffMs === 0 ? BACKOFF_MIN_MS : s.backoffMs * 2);
        if (e.refused) s.backoffMs = BACKOFF_MAX_MS;
        s.retryAtMs = Date.now() + s.backoffMs;
        if (this.#stopped || this.#peers.get(p.id) !== p) return;
        if (e.refused) {
          const now = Date.now();
          if (now - p.lastRefusalLogMs > 10_000) {
            p.lastRefusalLogMs = now;
            this.#o.logger.error("peer refused this member", { peer: p.id, url, reason: e.message });
          }
          this.#o.handler.onRefused(p.id, e.message);
        } else {
          this.#o.logger.debug("peer unreachable", { peer: p.id, channel: s.channel, url, error: e.message });
        }
        if (n > 0 || s.channel === "app") this.#o.handler.onUnreachable(p.id);
      },
    );
  }

  /** Closes a stream's connection (if any); the next send dials again after the backoff. */
  #drop(p: Peer, s: Stream, why: Error | undefined): void {
    const sock = s.socket;
    if (!sock) return;
    s.socket = undefined;
    s.stuckSinceMs = 0;
    p.stats.connected = p.streams.msg.socket !== undefined || p.streams.app.socket !== undefined;
    sock.removeAllListeners("close");
    sock.removeAllListeners("data");
    sock.on("error", () => {});
    sock.destroy();
    if (why && !this.#stopped) {
      p.stats.failures++;
      s.backoffMs = Math.min(BACKOFF_MAX_MS, s.backoffMs === 0 ? BACKOFF_MIN_MS : s.backoffMs * 2);
      s.retryAtMs = Date.now() + s.backoffMs;
      this.#o.logger.debug("peer connection lost", { peer: p.id, channel: s.channel, error: why.message });
      if (this.#peers.get(p.id) === p) this.#o.handler.onUnreachable(p.id);
    }
  }

  #checkDeadlines(): void {
    const now = Date.now();
    for (const p of this.#peers.values()) {
      for (const s of Object.values(p.streams)) {
        if (!s.socket) continue;
        if (s.socket.writableLength === 0) {
          s.stuckSinceMs = 0;
          if (now - s.lastWriteMs >= this.#o.keepaliveMs) {
            s.socket.write(KEEPALIVE);
            s.lastWriteMs = now;
          }
        } else if (s.stuckSinceMs !== 0 && now - s.stuckSinceMs > this.#o.sendDeadlineMs) {
          this.#drop(p, s, new Error(`no progress sending for ${this.#o.sendDeadlineMs} ms`));
        }
      }
    }
  }

  /**
   * Streams a snapshot on a connection of its own, in chunks, waiting out backpressure. One at a
   * time per peer, and at least snapshotIntervalMs apart: a peer that cannot use a snapshot must
   * not get the same one again in a tight loop.
   */
  #sendSnapshot(m: Message): void {
    const p = this.#peers.get(m.to);
    if (!p || !m.snapshot) return;
    if (p.snapshotBusy) return; // the core is in StateSnapshot for this peer until we report
    const wait = p.lastSnapshotMs + SNAPSHOT_INTERVAL_MS - Date.now();
    if (wait > 0) {
      p.snapshotBusy = true;
      setTimeout(() => {
        p.snapshotBusy = false;
        if (!this.#stopped && this.#peers.get(p.id) === p) this.#sendSnapshot(m);
      }, wait);
      return;
    }
    p.snapshotBusy = true;
    p.lastSnapshotMs = Date.now();
    const url = p.url();
    const data = m.snapshot.data;
    const started = Date.now();
    // A generous deadline: a slow link must not fail a large snapshot, a dead one must.
    const deadlineMs = this.#o.sendDeadlineMs * 10 + data.length / 1000;
    const report = (ok: boolean, why?: string) => {
      p.snapshotBusy = false;
      if (this.#stopped) return;
      if (!ok) this.#o.logger.warn("snapshot send failed", { peer: p.id, index: m.snapshot!.metadata.index, error: why });
      else this.#o.logger.info("snapshot sent", { peer: p.id, index: m.snapshot!.metadata.index, bytes: data.length, ms: Date.now() - started });
      this.#o.handler.onSnapshotStatus(p.id, ok);
    };
    dial(url, handshakeLine("snap", this.#o.localId, p.id, this.#o.clusterId), this.#o.dialTimeoutMs).then(
      async (sock) => {
        this.#snapshotsInFlight.add(sock);
        let settled = false;
        const finish = (ok: boolean, why?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#snapshotsInFlight.delete(sock);
          sock.destroy();
          report(ok, why);
        };
        const timer = setTimeout(() => finish(false, `not done within ${Math.round(deadlineMs)} ms`), deadlineMs);
        let answer = "";
        sock.on("data", (d: Uint8Array) => {
          answer += new TextDecoder().decode(d);
          if (answer.includes("\n")) finish(answer.startsWith("DONE"), answer.trim());
        });
        sock.on("error", (e) => finish(false, e.message));
        sock.on("close", () => finish(false, "connection closed before the snapshot was acknowledged"));
        const write = (b: Uint8Array) =>
          new Promise<void>((r) => {
            if (sock.write(b)) r();
            else sock.once("drain", () => r());
          });
        await write(encodeSnapshotHeader(m));
        const chunk = this.#o.snapshotChunkBytes;
        for (let off = 0; off < data.length && !settled; off += chunk) {
          await write(encodeChunk(data.subarray(off, Math.min(data.length, off + chunk))));
        }
      },
      (e: Error) => report(false, e.message),
    );
  }
}
