// A raw TCP client for tests that speak to a port byte by byte (the peer port's handshake and
// frames, half-sent heads), recording what it receives and when it is closed; and a polling wait
// for conditions that become true eventually (a liveness bound, never a timing assertion).
// Must not hold assertions about coreplane's behaviour.

import net from "node:net";

export interface RawSocket {
  readonly sock: net.Socket;
  /** Everything received so far, as text. */
  text(): string;
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

/** Connects to 127.0.0.1:`port` and, once connected, writes `first` if given. */
export function rawSocket(port: number, first?: string | Uint8Array): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let got = "";
    let closed = false;
    const closedP = new Promise<void>((r) => sock.once("close", () => ((closed = true), r())));
    sock.on("data", (d: Uint8Array) => (got += new TextDecoder().decode(d)));
    sock.on("error", () => {});
    sock.once("connect", () => {
      if (first !== undefined) sock.write(first);
      resolve({ sock, text: () => got, closed: closedP, isClosed: () => closed });
    });
    sock.once("error", reject);
  });
}

/**
 * Polls `f` every `everyMs` until it returns something other than undefined or false (a throw
 * counts as "not yet"); gives up after `ms` with `what` and the last error.
 */
export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, everyMs = 20): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}
