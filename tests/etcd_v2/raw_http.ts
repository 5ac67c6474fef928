// A minimal HTTP/1.1 client over node:net for the differential test: it sends the request line
// byte for byte (so non-canonical paths like `//`, `/./`, `%zz` reach the server unchanged, which
// fetch would not allow) and exposes the exact status, header names, framing (Content-Length vs
// chunked) and body bytes, incrementally, so watches can be read event by event.
// Must not interpret etcd semantics and must not normalise anything (normalise.ts does that).

import { connect, type Socket } from "node:net";
import { Buffer } from "node:buffer";

export interface RawRequest {
  readonly method: string;
  /** Sent verbatim as the request target. */
  readonly path: string;
  readonly headers?: readonly (readonly [string, string])[];
  /** When present, Content-Length is sent (also for an empty body). */
  readonly body?: Uint8Array | string;
}

export type Framing = "length" | "chunked" | "close" | "none";

export interface RawHead {
  readonly status: number;
  readonly reason: string;
  /** Lowercased names, in arrival order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly framing: Framing;
}

export interface RawResponse extends RawHead {
  readonly body: Uint8Array;
  readonly sentAtMs: number;
  readonly recvAtMs: number;
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** One request on its own connection, read incrementally. */
export class Exchange {
  readonly sentAtMs: number;
  #sock: Socket;
  #raw: Buffer = Buffer.alloc(0);
  #pos = 0;
  #head: RawHead | undefined;
  #bodyParts: Buffer[] = [];
  #bodyLen = 0;
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  #contentLeft = 0;
  #chunkLeft = -1; // -1: expecting a size line; >0: data bytes left; 0: expecting CRLF after data
  #trailers = false;
  #waiters: (() => void)[] = [];
  #isHead: boolean;

  constructor(addr: Address, req: RawRequest) {
    this.#isHead = req.method === "HEAD";
    const body = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : req.body ? Buffer.from(req.body) : undefined;
    let text = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${addr.host}:${addr.port}\r\n`;
    for (const [k, v] of req.headers ?? []) text += `${k}: ${v}\r\n`;
    if (body) text += `Content-Length: ${body.length}\r\n`;
    text += "\r\n";
    this.sentAtMs = Date.now();
    this.#sock = connect(addr.port, addr.host);
    this.#sock.setNoDelay(true);
    this.#sock.on("data", (d: Buffer) => {
      this.#raw = this.#raw.length === 0 ? d : Buffer.concat([this.#raw, d]);
      this.#parse();
      this.#wake();
    });
    this.#sock.on("error", (e: Error) => {
      this.#error = e;
      this.#wake();
    });
    this.#sock.on("close", () => {
      this.#closed = true;
      if (this.#head && this.#head.framing === "close") this.#ended = true;
      this.#wake();
    });
    this.#sock.write(body ? Buffer.concat([Buffer.from(text, "latin1"), body]) : Buffer.from(text, "latin1"));
  }

  get ended(): boolean {
    return this.#ended;
  }

  get body(): Uint8Array {
    if (this.#bodyParts.length > 1) this.#bodyParts = [Buffer.concat(this.#bodyParts)];
    return this.#bodyParts[0] ?? new Uint8Array(0);
  }

  get bodyLength(): number {
    return this.#bodyLen;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until cond() holds, the connection fails/closes, or the deadline passes. */
  async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.#error) throw this.#error;
      if (this.#closed) return cond();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  async head(timeoutMs: number): Promise<RawHead> {
    const ok = await this.waitFor(() => this.#head !== undefined, timeoutMs);
    if (!ok || !this.#head) {
      throw new Error(this.#closed ? "connection closed before the response head" : `no response head within ${timeoutMs} ms`);
    }
    return this.#head;
  }

  /** Reads the whole response (head and body until its framing says it ended). */
  async response(timeoutMs: number): Promise<RawResponse> {
    const head = await this.head(timeoutMs);
    const ok = await this.waitFor(() => this.#ended, timeoutMs);
    if (!ok) throw new Error(`response body not complete within ${timeoutMs} ms (${this.#bodyLen} bytes so far)`);
    const recvAtMs = Date.now();
    this.close();
    return { ...head, body: this.body, sentAtMs: this.sentAtMs, recvAtMs };
  }

  close(): void {
    this.#sock.destroy();
  }

  #parse(): void {
    for (;;) {
      if (!this.#head) {
        const end = this.#raw.indexOf("\r\n\r\n", this.#pos, "latin1");
        if (end < 0) return;
        const lines = this.#raw.subarray(this.#pos, end).toString("latin1").split("\r\n");
        this.#pos = end + 4;
        const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
        if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
        const status = Number(m[1]);
        if (status >= 100 && status < 200) continue; // 100 Continue: the real head follows
        const headers: [string, string][] = [];
        for (const l of lines.slice(1)) {
          const i = l.indexOf(":");
          headers.push([l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()]);
        }
        const te = headers.find(([k]) => k === "transfer-encoding")?.[1];
        const cl = headers.find(([k]) => k === "content-length")?.[1];
        let framing: Framing;
        if (this.#isHead || status === 204 || status === 304) framing = cl !== undefined ? "length" : te ? "chunked" : "none";
        else if (te && /chunked/i.test(te)) framing = "chunked";
        else if (cl !== undefined) framing = "length";
        else framing = "close";
        this.#head = { status, reason: m[2], headers, framing };
        if (this.#isHead || status === 204 || status === 304) {
          this.#ended = true;
          return;
        }
        if (framing === "length") {
          this.#contentLeft = Number(cl);
          if (this.#contentLeft === 0) this.#ended = true;
        }
        continue;
      }
      if (this.#ended) return;
      const avail = this.#raw.length - this.#pos;
      const f = this.#head.framing;
      if (f === "length" || f === "close") {
        if (avail === 0) return;
        const n = f === "length" ? Math.min(avail, this.#contentLeft) : avail;
        this.#push(this.#raw.subarray(this.#pos, this.#pos + n));
        this.#pos += n;
        if (f === "length") {
          this.#contentLeft -= n;
          if (this.#contentLeft === 0) this.#ended = true;
        }
        this.#compact();
        return;
      }
      // chunked
      if (this.#trailers) {
        const e = this.#raw.indexOf("\r\n", this.#pos, "latin1");
        if (e < 0) return;
        const empty = e === this.#pos;
        this.#pos = e + 2;
        if (empty) {
          this.#ended = true;
          return;
        }
        continue;
      }
      if (this.#chunkLeft === -1) {
        const e = this.#raw.indexOf("\r\n", this.#pos, "latin1");
        if (e < 0) return;
        const size = parseInt(this.#raw.subarray(this.#pos, e).toString("latin1").split(";")[0], 16);
        this.#pos = e + 2;
        if (size === 0) this.#trailers = true;
        else this.#chunkLeft = size;
        continue;
      }
      if (this.#chunkLeft > 0) {
        if (avail === 0) return;
        const n = Math.min(avail, this.#chunkLeft);
        this.#push(this.#raw.subarray(this.#pos, this.#pos + n));
        this.#pos += n;
        this.#chunkLeft -= n;
        this.#compact();
        if (this.#chunkLeft > 0) return;
        continue;
      }
      // chunkLeft === 0: the CRLF after a chunk's data
      if (avail < 2) return;
      this.#pos += 2;
      this.#chunkLeft = -1;
    }
  }

  #push(b: Buffer): void {
    this.#bodyParts.push(Buffer.from(b));
    this.#bodyLen += b.length;
  }

  #compact(): void {
    if (this.#pos > 1 << 20 || this.#pos === this.#raw.length) {
      this.#raw = this.#raw.subarray(this.#pos);
      this.#pos = 0;
    }
  }
}

/** Sends one request and reads the whole response. */
export function rawRequest(addr: Address, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  return new Exchange(addr, req).response(timeoutMs);
}
