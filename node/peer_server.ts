// The receiving half of the peer transport, on --listen-peer-urls: a plain TCP listener. A
// connection that opens with the line `CPRAFT/1 <channel> <from> <to> <cluster>` is a peer's Raft
// stream (see transport.ts): the handshake is checked (cluster id, addressee, membership), answered
// `OK` or `ERR reason`, and then frames of messages are handed to the node. Anything else is an
// HTTP/1.1 request, answered as etcd's peer port answers the few GETs a joining member or an
// operator sends (/members, /version, /health), then closed.
// Must not step the Raft core itself or hold state about peers beyond one connection.

import net from "node:net";
import type { NodeId } from "../internal/brand.ts";
import { decodeMessages, decodeSnapshotHeader, FrameReader, MessageCodecError } from "../log/message_codec.ts";
import type { Message } from "../log/types.ts";
import type { Logger } from "./logger.ts";

export interface PeerHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface PeerServerHandler {
  /** Why a handshake must be refused, or undefined to accept it. */
  refuse(channel: string, from: NodeId, to: NodeId, cluster: string): string | undefined;
  /** Messages received from a peer (a batch, in order). */
  onMessages(msgs: Message[]): void;
  /** A GET on the peer port. */
  http(method: string, path: string): PeerHttpResponse;
}

const HANDSHAKE = "CPRAFT/1 ";
const FIRST_LINE_BYTES_MAX = 512;
const HTTP_HEAD_BYTES_MAX = 16 * 1024;

export interface PeerServer {
  close(): Promise<void>;
}

export function startPeerServer(
  hostname: string,
  port: number,
  handler: PeerServerHandler,
  logger: Logger,
  snapshotBytesMax: number,
): Promise<PeerServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => sock.destroy());
    sock.setNoDelay(true);
    serveConnection(sock, handler, logger, snapshotBytesMax);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: hostname, port }, () => {
      server.off("error", reject);
      resolve({
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

function serveConnection(sock: net.Socket, handler: PeerServerHandler, logger: Logger, snapshotBytesMax: number): void {
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
      serveHttp(sock, head, handler);
      return;
    }
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > FIRST_LINE_BYTES_MAX) sock.destroy();
      return;
    }
    sock.off("data", onFirst);
    const parts = new TextDecoder().decode(head.subarray(0, nl)).split(" ");
    const [, channel, from, to, cluster] = parts;
    const why = parts.length !== 5 || !["msg", "app", "snap"].includes(channel)
      ? "bad handshake"
      : handler.refuse(channel, from, to, cluster);
    if (why) {
      sock.end(`ERR ${why}\n`);
      return;
    }
    sock.write("OK\n");
    const rest = head.subarray(nl + 1);
    if (channel === "snap") receiveSnapshot(sock, rest, handler, logger, from, snapshotBytesMax);
    else receiveStream(sock, rest, handler, logger, from);
  };
  sock.on("data", onFirst);
}

function receiveStream(sock: net.Socket, first: Uint8Array, handler: PeerServerHandler, logger: Logger, from: NodeId): void {
  const reader = new FrameReader();
  const onData = (d: Uint8Array) => {
    try {
      for (const body of reader.push(d)) handler.onMessages(decodeMessages(body));
    } catch (e) {
      if (!(e instanceof MessageCodecError)) throw e;
      logger.warn("dropping a peer connection that sent a bad frame", { peer: from, error: e.message });
      sock.destroy();
    }
  };
  sock.on("data", onData);
  if (first.length > 0) onData(first);
}

function receiveSnapshot(
  sock: net.Socket,
  first: Uint8Array,
  handler: PeerServerHandler,
  logger: Logger,
  from: NodeId,
  snapshotBytesMax: number,
): void {
  const reader = new FrameReader();
  let header: { message: Message; dataBytes: number } | undefined;
  let data: Uint8Array | undefined;
  let got = 0;
  const onData = (d: Uint8Array) => {
    try {
      for (const body of reader.push(d)) {
        if (!header) {
          header = decodeSnapshotHeader(body);
          if (header.dataBytes > snapshotBytesMax) throw new MessageCodecError(`snapshot of ${header.dataBytes} bytes is over the limit`);
          data = new Uint8Array(header.dataBytes);
        } else {
          if (got + body.length > data!.length) throw new MessageCodecError("snapshot data longer than announced");
          data!.set(body, got);
          got += body.length;
        }
        if (header && got === data!.length) {
          const m = header.message;
          handler.onMessages([{ ...m, snapshot: { metadata: m.snapshot!.metadata, data: data! } }]);
          logger.info("snapshot received", { peer: from, index: m.snapshot!.metadata.index, bytes: got });
          sock.end("DONE\n");
          sock.off("data", onData);
          return;
        }
      }
    } catch (e) {
      if (!(e instanceof MessageCodecError)) throw e;
      logger.warn("dropping a snapshot stream", { peer: from, error: e.message });
      sock.end(`ERR ${e.message}\n`);
      sock.off("data", onData);
    }
  };
  sock.on("data", onData);
  if (first.length > 0) onData(first);
}

const REASONS: Record<number, string> = { 200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed" };

function serveHttp(sock: net.Socket, first: Uint8Array, handler: PeerServerHandler): void {
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
      ? handler.http(method, path)
      : { status: 405, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "Method Not Allowed\n" };
    const body = new TextEncoder().encode(r.body);
    let out = `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? "Status"}\r\n`;
    for (const [k, v] of Object.entries(r.headers)) out += `${k}: ${v}\r\n`;
    out += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    sock.write(out);
    if (method !== "HEAD") sock.write(body);
    sock.end();
  };
  sock.on("data", onData);
  onData(first);
}
