// Malformed HTTP framing thrown at a real member over raw sockets, shared by the quick CI run
// (http_framing_fuzz.test.ts) and the long one (http_framing_fuzz.abuse.ts): garbage request
// lines, random header bytes, overlong header lines and targets, invalid Transfer-Encoding chunk
// sizes, Content-Length mismatches with and without half-close, conflicting framing headers,
// requests split at random points. The property: every connection gets HTTP answers with status
// below 500 (400/405/413/414/431/...) or a close, the member stays up, /health answers 200 at the
// end, and no stack trace appears in its log. Seeded (SEED=n reproduces). Must not assert timing.

import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import fc from "fast-check";
import { type Proc, startCoreplane } from "../helpers/procs.ts";
import { freePorts } from "../helpers/ports.ts";
import { seedFromEnv, sleep } from "./_util.ts";

/** The member's header and idle timeouts: a request left unfinished costs a case this long. */
const TIMEOUT_MS = 1000;
/** A connection neither answered nor closed by then breaks the property (liveness bound). */
const CASE_LIMIT_MS = 10_000;
const STACK = /\n\s+at .+[(:]\d+/;

interface FramingCase {
  readonly label: string;
  readonly bytes: Buffer;
  /** Where the bytes are split into separate writes (sorted offsets). */
  readonly splits: readonly number[];
  readonly halfClose: boolean;
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const anyBytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max }).map((a) => Buffer.from(a));
const keyTarget = fc.stringMatching(/^[a-z0-9]{1,6}$/).map((k) => `/v2/keys/fz/${k}`);

const requestLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom("PUT", "POST", "GET", "DELETE", "HEAD"), keyTarget).map(([m, t]) => `${m} ${t} HTTP/1.1`) },
  { weight: 1, arbitrary: fc.constantFrom("POST /v2/members HTTP/1.1", "PUT /v2/members/1 HTTP/1.1", "GET /health HTTP/1.1") },
  // garbage request lines
  { weight: 1, arbitrary: anyBytes(80).map((b) => b.toString("latin1").replace(/\r?\n/g, "")) },
  { weight: 1, arbitrary: fc.tuple(token, keyTarget, fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTX/1.1", "", "HTTP/1.1 extra")).map(([m, t, v]) => `${m} ${t} ${v}`) },
  { weight: 1, arbitrary: fc.integer({ min: 2000, max: 70_000 }).map((n) => `GET /v2/keys/${"k".repeat(n)} HTTP/1.1`) },
  { weight: 1, arbitrary: fc.constantFrom("PUT  /v2/keys/a HTTP/1.1", "PUT /v2/keys/a", "PUT", "", " PUT /v2/keys/a HTTP/1.1", "PUT /v2/keys/a HTTP/1.1 ") },
);

const headerLine = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(token, fc.stringMatching(/^[ -~]{0,30}$/)).map(([k, v]) => `${k}: ${v}`) },
  // random header bytes (CR/LF removed so the line stays one line)
  { weight: 2, arbitrary: anyBytes(60).map((b) => b.toString("latin1").replace(/[\r\n]/g, "")) },
  // overlong header lines
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 1_200_000 }).map((n) => `X-Long: ${"v".repeat(n)}`) },
  { weight: 1, arbitrary: fc.constantFrom(" folded continuation", "NoColon", ": empty-name", "X-Sp ace: 1", "Content-Length: 5", "Transfer-Encoding: gzip", "Host: a", "Host: b") },
);

interface Framing {
  readonly headers: string[];
  readonly body: Buffer;
  readonly halfClose: boolean;
}

const body = anyBytes(40).map((b) => Buffer.concat([Buffer.from("value="), b]));
const chunkSize = fc.oneof(
  fc.nat({ max: 64 }).map((n) => n.toString(16)),
  fc.constantFrom("zz", "-1", "0x10", "ffffffffffffffffff", "", " 5", "5 ", "5;ext=1", "5;" + "e".repeat(5000), "1\x00", "G"),
  anyBytes(10).map((b) => b.toString("latin1").replace(/[\r\n]/g, "")),
);

const framing: fc.Arbitrary<Framing> = fc.oneof(
  // Content-Length, exact, longer than the body, shorter than the body, or not a number
  fc.tuple(body, fc.integer({ min: -5, max: 40 }), fc.boolean()).map(([b, delta, hc]) => ({
    headers: [`Content-Length: ${Math.max(0, b.length + delta)}`],
    body: b,
    halfClose: hc,
  })),
  fc.tuple(body, fc.constantFrom("abc", "-1", "1e3", "+5", "5, 6", "99999999999999999999", " ", "0x10"), fc.boolean()).map(([b, cl, hc]) => ({
    headers: [`Content-Length: ${cl}`],
    body: b,
    halfClose: hc,
  })),
  // duplicated or conflicting framing headers
  fc.tuple(body, fc.boolean()).map(([b, hc]) => ({ headers: [`Content-Length: ${b.length}`, `Content-Length: ${b.length + 1}`], body: b, halfClose: hc })),
  fc.tuple(body, fc.boolean()).map(([b, hc]) => ({ headers: [`Content-Length: ${b.length}`, "Transfer-Encoding: chunked"], body: b, halfClose: hc })),
  fc.tuple(body, fc.constantFrom("gzip", "chunked, gzip", "identity", "chunked;x", "chunkedx", "gzip, chunked"), fc.boolean()).map(([b, te, hc]) => ({
    headers: [`Transfer-Encoding: ${te}`],
    body: b,
    halfClose: hc,
  })),
  // chunked bodies: valid, with bad sizes, cut short, without the last chunk or trailer CRLF
  fc.tuple(fc.array(fc.tuple(chunkSize, anyBytes(20)), { minLength: 0, maxLength: 4 }), fc.constantFrom("0\r\n\r\n", "0\r\n", "", "0\r\nX-Trailer: 1\r\n\r\n", "zz\r\n\r\n"), fc.boolean())
    .map(([chunks, end, hc]) => ({
      headers: ["Transfer-Encoding: chunked"],
      body: Buffer.concat([...chunks.map(([size, data]) => Buffer.concat([Buffer.from(`${size}\r\n`, "latin1"), data, Buffer.from("\r\n")])), Buffer.from(end, "latin1")]),
      halfClose: hc,
    })),
  // no body at all
  fc.boolean().map((hc) => ({ headers: [], body: Buffer.alloc(0), halfClose: hc })),
);

export const framingCase: fc.Arbitrary<FramingCase> = fc
  .tuple(
    requestLine,
    fc.array(headerLine, { maxLength: 4 }),
    framing,
    fc.boolean(),
    fc.array(fc.nat(), { maxLength: 3 }),
    // Mostly half-closed: an unfinished request that is not costs the member's header timeout.
    fc.integer({ min: 0, max: 9 }),
  )
  .map(([line, extra, f, form, splitSeeds, hcRoll]) => {
    const headers = ["Host: 127.0.0.1", ...(form ? ["Content-Type: application/x-www-form-urlencoded"] : ["Content-Type: application/json"]), ...extra, ...f.headers];
    const bytes = Buffer.concat([Buffer.from(`${line}\r\n${headers.join("\r\n")}\r\n\r\n`, "latin1"), f.body]);
    const splits = [...new Set(splitSeeds.map((s) => s % Math.max(1, bytes.length)))].filter((s) => s > 0).sort((a, b) => a - b);
    const label = `${line.slice(0, 60)} | ${[...extra, ...f.headers].map((h) => h.slice(0, 40)).join(" | ")} | body ${f.body.length} B${splits.length ? ` split at ${splits}` : ""}`;
    return { label, bytes, splits, halfClose: f.halfClose || hcRoll > 0 };
  });

interface Outcome {
  readonly statuses: number[];
  readonly closed: "fin" | "reset" | "open";
  readonly bytes: number;
}

/** Sends one case on a fresh connection and reads until the member closes it (or the limit). */
function runCase(port: number, c: FramingCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1" });
    const got: Buffer[] = [];
    let settled = false;
    const finish = (closed: Outcome["closed"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      sock.destroy();
      const text = Buffer.concat(got).toString("latin1");
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ statuses, closed, bytes: text.length });
    };
    const limit = setTimeout(() => finish("open"), CASE_LIMIT_MS);
    sock.on("data", (d: Buffer) => got.push(d));
    sock.on("end", () => finish("fin"));
    sock.on("close", () => finish("fin"));
    sock.on("error", () => finish("reset"));
    sock.on("connect", async () => {
      let at = 0;
      for (const s of [...c.splits, c.bytes.length]) {
        if (settled) return;
        sock.write(c.bytes.subarray(at, s));
        at = s;
        if (s < c.bytes.length) await sleep(5);
      }
      if (c.halfClose && !settled) sock.end();
    });
  });
}

/** Runs `numRuns` framing cases against a fresh member and checks the property. */
export async function framingFuzz(suiteName: string, numRuns: number): Promise<void> {
  const seed = seedFromEnv(suiteName);
  const [clientPort, peerPort] = await freePorts(2);
  let p: Proc | undefined;
  const tally = new Map<string, number>();
  try {
    p = await startCoreplane({
      clientPort,
      peerPort,
      extraArgs: ["--max-request-bytes", "4096"],
      // The flags' environment form (a member without them ignores it).
      env: {
        COREPLANE_CLIENT_HEADER_TIMEOUT: String(TIMEOUT_MS),
        COREPLANE_CLIENT_IDLE_TIMEOUT: String(TIMEOUT_MS),
        COREPLANE_CLIENT_BODY_TIMEOUT: String(TIMEOUT_MS),
      },
    });
    const member = p;
    await fc.assert(
      fc.asyncProperty(framingCase, async (c) => {
        const o = await runCase(clientPort, c);
        const key = o.statuses.length ? o.statuses.join(",") : `no answer (${o.closed})`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        const bad = o.statuses.filter((s) => s >= 500);
        if (bad.length > 0) throw new Error(`answered ${bad.join(",")}: ${c.label}`);
        if (o.closed === "open") throw new Error(`neither answered nor closed within ${CASE_LIMIT_MS} ms: ${c.label}`);
        if (member.child.exitCode !== null || member.child.signalCode !== null) throw new Error(`the member exited after: ${c.label}`);
      }),
      { seed, numRuns, endOnFailure: true, includeErrorInReport: true },
    );
    assert.ok(p.child.exitCode === null && p.child.signalCode === null, `the member exited:\n${p.output().slice(-3000)}`);
    const h = await fetch(`${p.url}/health`);
    await h.body?.cancel();
    assert.is(h.status, 200, "/health at the end");
    assert.not.match(p.output(), STACK, `a stack trace in the member's log:\n${p.output().slice(-3000)}`);
    assert.not.match(p.output(), /Uncaught|Internal Server Error/, `an unhandled error in the member's log:\n${p.output().slice(-3000)}`);
    console.log(`  ${numRuns} framing cases: ${[...tally].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join("; ")}`);
  } catch (e) {
    (e as Error).message = (e as Error).message.replace(/(.)\1{63,}/gs, (m, ch: string) => `${ch}{x${m.length}}`);
    if (p) (e as Error).message += `\n(seed ${seed}; SEED=${seed} reproduces)\n--- coreplane output ---\n${p.output().slice(-3000)}`;
    throw e;
  } finally {
    await p?.stop();
  }
}
