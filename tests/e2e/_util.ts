// Shared plumbing for the end-to-end suites in tests/e2e/: running a command with a deadline, a raw
// HTTP/1.1 client (fetch normalises `..`, `%2e` and unicode in paths, so the fuzzer needs its own
// socket), small concurrency and waiting helpers, and the seed every random suite prints.
// Must not hold assertions about coreplane's behaviour (the *.test.ts files do) and must not pick
// ports: suites take theirs from tests/helpers/ports.ts.

import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { Buffer } from "node:buffer";

export const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** The seed for a random suite: SEED=n reproduces a run; otherwise one is made up and printed. */
export function seedFromEnv(suiteName: string): number {
  const env = process.env.SEED;
  const seed = env !== undefined && /^\d+$/.test(env) ? Number(env) : (Date.now() ^ (process.pid << 10)) >>> 0;
  console.log(`${suiteName}: seed=${seed} (rerun with SEED=${seed} to reproduce)`);
  return seed;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every `everyMs` until it is true; throws `what` after `limitMs` (a liveness bound, not a timing assertion). */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, limitMs = 30_000, everyMs = 50): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`gave up waiting after ${limitMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

/** Runs `items` through `fn` with at most `n` in flight. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export interface CmdResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A started command: its output so far, and a way to end it. */
export interface RunningCmd {
  readonly done: Promise<CmdResult>;
  stdout(): string;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts a command; it is SIGKILLed after `limitMs` so a hung tool cannot hang the suite. */
export function startCmd(cmd: string, args: readonly string[], opts: { env?: Record<string, string>; limitMs?: number } = {}): RunningCmd {
  const child = spawn(cmd, [...args], { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => (out += d));
  child.stderr!.on("data", (d: string) => (err += d));
  const guard = setTimeout(() => child.kill("SIGKILL"), opts.limitMs ?? 30_000);
  const done = new Promise<CmdResult>((resolve, reject) => {
    child.once("error", (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    done,
    stdout: () => out,
    stderr: () => err,
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export function runCmd(cmd: string, args: readonly string[], opts: { env?: Record<string, string>; limitMs?: number } = {}): Promise<CmdResult> {
  return startCmd(cmd, args, opts).done;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1

export interface RawRequest {
  readonly method: string;
  /** The request-target exactly as sent (ASCII). */
  readonly target: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: Uint8Array | string;
}

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its first value. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
  readonly text: string;
}

export interface RawCall {
  readonly response: Promise<RawResponse>;
  /** Closes the socket; the response promise then rejects with an AbortedError (unless it had completed). */
  abort(): void;
}

export class AbortedError extends Error {
  override name = "AbortedError";
  /** The status line, if it had arrived. */
  readonly status: number | undefined;
  constructor(status: number | undefined) {
    super(`request aborted${status === undefined ? "" : ` after status ${status}`}`);
    this.status = status;
  }
}

function indexOfCrlfCrlf(b: Buffer): number {
  return b.indexOf("\r\n\r\n");
}

/** Decodes a complete chunked body, or returns undefined when more bytes are needed. */
function dechunk(b: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(b.subarray(at, eol).toString("latin1").split(";")[0].trim(), 16);
    if (!Number.isFinite(size)) throw new Error(`bad chunk size line: ${JSON.stringify(b.subarray(at, eol).toString("latin1"))}`);
    if (size === 0) {
      // Trailers (none expected) end with an empty line.
      return b.indexOf("\r\n", eol + 2) >= 0 || b.length >= eol + 4 ? Buffer.concat(parts) : undefined;
    }
    if (b.length < eol + 2 + size + 2) return undefined;
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Sends one request on a fresh connection (Connection: close) and reads one response. */
export function rawRequest(port: number, req: RawRequest, host = "127.0.0.1"): RawCall {
  const body = req.body === undefined ? undefined : typeof req.body === "string" ? Buffer.from(req.body, "utf8") : Buffer.from(req.body);
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `Host: ${host}:${port}`, "Connection: close"];
  for (const [k, v] of req.headers ?? []) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
  const sock = connect({ port, host });
  let buf = Buffer.alloc(0);
  let status: number | undefined;
  let settled = false;
  let resolveFn!: (r: RawResponse) => void;
  let rejectFn!: (e: Error) => void;
  const response = new Promise<RawResponse>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  // A caller that only aborts must not see an unhandled rejection.
  response.catch(() => {});
  const finish = (r: RawResponse | Error) => {
    if (settled) return;
    settled = true;
    sock.destroy();
    if (r instanceof Error) rejectFn(r);
    else resolveFn(r);
  };
  const tryParse = (ended: boolean) => {
    const h = indexOfCrlfCrlf(buf);
    if (h < 0) {
      if (ended) finish(new Error(`connection closed before the response head (${buf.length} bytes: ${JSON.stringify(buf.toString("latin1").slice(0, 200))})`));
      return;
    }
    const headLines = buf.subarray(0, h).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(headLines[0]);
    if (!m) return finish(new Error(`bad status line ${JSON.stringify(headLines[0])}`));
    status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const l of headLines.slice(1)) {
      const c = l.indexOf(":");
      if (c <= 0) continue;
      const k = l.slice(0, c).trim().toLowerCase();
      if (!headers.has(k)) headers.set(k, l.slice(c + 1).trim());
    }
    if (status >= 100 && status < 200) {
      // An interim response (100 Continue): drop it and wait for the real one.
      buf = buf.subarray(h + 4);
      status = undefined;
      return tryParse(ended);
    }
    const rest = buf.subarray(h + 4);
    const done = (b: Buffer) => finish({ status: status!, headers, body: new Uint8Array(b), text: new TextDecoder().decode(b) });
    if (req.method === "HEAD" || status === 204 || status === 304) return done(Buffer.alloc(0));
    if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
      let b: Buffer | undefined;
      try {
        b = dechunk(rest);
      } catch (e) {
        return finish(e as Error);
      }
      if (b) return done(b);
      if (ended) finish(new Error(`connection closed inside a chunked body (status ${status})`));
      return;
    }
    const cl = headers.get("content-length");
    if (cl !== undefined) {
      const n = Number(cl);
      if (rest.length >= n) return done(rest.subarray(0, n));
      if (ended) finish(new Error(`connection closed after ${rest.length} of ${n} body bytes (status ${status})`));
      return;
    }
    if (ended) done(rest);
  };
  sock.on("connect", () => {
    sock.write(head);
    if (body !== undefined && body.length > 0) sock.write(body);
  });
  sock.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    tryParse(false);
  });
  sock.on("end", () => tryParse(true));
  sock.on("close", () => tryParse(true));
  sock.on("error", (e) => {
    // A server may answer and close before it read the whole request (EPIPE, ECONNRESET on our
    // side): the answer counts if it arrived.
    if (indexOfCrlfCrlf(buf) >= 0) tryParse(true);
    finish(e);
  });
  return {
    response,
    abort: () => finish(new AbortedError(status)),
  };
}

/** application/x-www-form-urlencoded, as Go's url.Values.Encode writes it. */
export function formEncode(params: readonly (readonly [string, string])[]): string {
  return params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

/** /v2/keys path for a key like "/a/b c": each segment percent-encoded. */
export function keyPath(key: string): string {
  return "/v2/keys" + key.split("/").map((s) => encodeURIComponent(s)).join("/");
}

/** A PUT of `value=<v>` with fetch (keep-alive); returns status and the parsed body (or the raw text). */
export async function putKey(base: string, key: string, value: string, query = ""): Promise<{ status: number; body: unknown; text: string }> {
  const r = await fetch(`${base}${keyPath(key)}${query}`, {
    method: "PUT",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: formEncode([["value", value]]),
  });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: keep the text */ }
  return { status: r.status, body, text };
}

export async function getKey(base: string, key: string, query = ""): Promise<{ status: number; body: unknown; text: string; etcdIndex: string | null }> {
  const r = await fetch(`${base}${keyPath(key)}${query}`);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* keep text */ }
  return { status: r.status, body, text, etcdIndex: r.headers.get("x-etcd-index") };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Every descendant of `pid` (children first), from /proc; empty where /proc is missing. */
export function descendants(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      // The command name may hold spaces and parens: the fields after the last ")" are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = byParent.get(ppid) ?? [];
      list.push(Number(n));
      byParent.set(ppid, list);
    } catch { /* the process ended meanwhile */ }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * SIGKILLs a started member and every process under it, then waits for it to exit. Needed because
 * under Node `main.ts` runs behind tsx's CLI, which starts the real server as a child process: a
 * SIGKILL of the tsx process alone (what Proc.kill does) leaves the server running.
 */
export async function killHard(p: { child: { pid?: number }; kill(signal?: NodeJS.Signals): Promise<void> }): Promise<void> {
  const pid = p.child.pid;
  if (pid !== undefined) {
    for (const d of descendants(pid).reverse()) {
      try {
        process.kill(d, "SIGKILL");
      } catch { /* already gone */ }
    }
  }
  await p.kill("SIGKILL");
}
