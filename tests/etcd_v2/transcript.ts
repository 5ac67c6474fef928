// Runs one differential case against one server and records what it saw as a transcript of
// normalised steps (request + normalised response lines), so two servers' transcripts can be
// compared step by step. Implements the CaseCtx contract from cases.ts.
// Must not compare transcripts (differential.test.ts does) and must not hold case logic.

import { type Address, Exchange, type RawRequest, type RawResponse, rawRequest } from "./raw_http.ts";
import { bodyText, framingLine, type Mask, maskTransport, newState, normaliseBody, normaliseHead, type NormaliseState, relRequestTarget, replaceUrls, visible } from "./normalise.ts";
import type { CaseCtx, Req, Resp, WatchHandle } from "./cases.ts";

export interface Target {
  readonly label: string;
  readonly addr: Address;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

export interface Step {
  /** The request as shown (indices relative), or a note. */
  readonly request: string;
  /** The request exactly as sent to this server. */
  readonly sent: string;
  readonly lines: readonly string[];
}

const REQUEST_TIMEOUT_MS = 15_000;
// Events arrive in milliseconds; the slowest expected one is a ttl=1 expiry (up to ~1.5 s on etcd).
// No case waits for an event that does not come (quiet() checks that), so the deadline only ends a
// failing wait, and it is generous: on a loaded machine a reaper tick or an fsync can be seconds late.
const WATCH_EVENT_TIMEOUT_MS = 10_000;

function encodeForm(f: Record<string, string> | string): string {
  if (typeof f === "string") return f;
  return Object.entries(f).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

function toRaw(r: Req): RawRequest {
  const method = r.method ?? "GET";
  const headers: (readonly [string, string])[] = [...(r.headers ?? [])];
  let body: Uint8Array | string | undefined = r.body;
  if (r.form !== undefined) {
    body = encodeForm(r.form);
    headers.push(["Content-Type", r.contentType ?? "application/x-www-form-urlencoded"]);
  } else if (r.contentType !== undefined) headers.push(["Content-Type", r.contentType]);
  // Like Go's client: PUT/POST/DELETE carry a Content-Length, even when empty.
  if (body === undefined && (method === "PUT" || method === "POST" || method === "DELETE")) body = "";
  return { method, path: r.path, headers, body };
}

function describe(r: Req, raw: RawRequest, st: NormaliseState | undefined): string {
  const s = describeRaw(r, raw, st);
  return st ? replaceUrls(st, s) : s;
}

function describeRaw(r: Req, raw: RawRequest, st: NormaliseState | undefined): string {
  const target = st ? relRequestTarget(st, raw.path) : raw.path;
  let s = `${raw.method} ${target}`;
  const ct = raw.headers?.find(([k]) => k.toLowerCase() === "content-type")?.[1];
  if (r.headers?.length) s += ` [${r.headers.map(([k, v]) => `${k}: ${v}`).join("; ")}]`;
  if (raw.body !== undefined && (typeof raw.body === "string" ? raw.body.length : raw.body.length) > 0) {
    const b = typeof raw.body === "string" ? raw.body : bodyText(raw.body);
    const shown = b.length > 120 ? `${b.slice(0, 60)}...(${b.length} bytes)` : b;
    s += `  body(${ct ?? "no content-type"}): ${visible(st ? relRequestTarget(st, shown) : shown)}`;
  }
  return s;
}

class RespImpl implements Resp {
  readonly status: number;
  readonly text: string;
  readonly #headers: readonly (readonly [string, string])[];
  constructor(r: RawResponse) {
    this.status = r.status;
    this.text = bodyText(r.body);
    this.#headers = r.headers;
  }
  header(name: string): string | undefined {
    return this.#headers.find(([k]) => k === name.toLowerCase())?.[1];
  }
  // deno-lint-ignore no-explicit-any
  json(): any {
    return JSON.parse(this.text);
  }
}

export class Transcript implements CaseCtx {
  readonly steps: Step[] = [];
  readonly target: Target;
  #st: NormaliseState | undefined;
  #watches = 0;
  #open = new Set<Exchange>();

  constructor(target: Target) {
    this.target = target;
  }

  get base(): number {
    if (!this.#st) throw new Error("base read before begin()");
    return this.#st.base;
  }

  /** Reads the current X-Etcd-Index (unrecorded) and starts relative numbering from it. */
  async begin(absolute = false): Promise<void> {
    const base = absolute ? 0 : await this.currentIndex();
    this.#st = newState(base, this.target.clientUrl, this.target.peerUrl);
  }

  async currentIndex(): Promise<number> {
    const r = await rawRequest(this.target.addr, { method: "GET", path: "/v2/keys/" }, REQUEST_TIMEOUT_MS);
    const v = r.headers.find(([k]) => k === "x-etcd-index")?.[1];
    if (v === undefined) throw new Error(`${this.target.label}: GET /v2/keys/ without X-Etcd-Index (status ${r.status})`);
    return Number(v);
  }

  /** Closes watches the case left open and records how far the index moved during the case. */
  async end(): Promise<void> {
    for (const x of this.#open) x.close();
    this.#open.clear();
    const cur = await this.currentIndex();
    const st = this.#state();
    this.steps.push({ request: "(after the case)", sent: "", lines: [`X-Etcd-Index: ${cur === 0 ? "0" : `B+${cur - st.base}`}`] });
  }

  #state(): NormaliseState {
    if (!this.#st) throw new Error("begin() not called");
    return this.#st;
  }

  note(request: string, lines: string[] = []): void {
    this.steps.push({ request, sent: "", lines });
  }

  async req(r: Req): Promise<Resp> {
    const raw = toRaw(r);
    const st = this.#state();
    const request = (r.label ? `${r.label}: ` : "") + describe(r, raw, st);
    let res: RawResponse;
    try {
      res = await rawRequest(this.target.addr, raw, REQUEST_TIMEOUT_MS);
    } catch (e) {
      this.steps.push({ request, sent: describe(r, raw, undefined), lines: [`request failed: ${(e as Error).message}`] });
      throw e;
    }
    let lines = normaliseHead(st, res).map((l) => (l.startsWith("framing: ") ? framingLine(res, res.body.length) : l));
    if (r.masks?.includes("transport")) lines = maskTransport(lines);
    lines.push(`body: ${normaliseBody(st, res.body, res, r.masks)}`);
    this.steps.push({ request, sent: describe(r, raw, undefined), lines });
    return new RespImpl(res);
  }

  get(path: string, o: Partial<Req> = {}): Promise<Resp> {
    return this.req({ ...o, method: "GET", path });
  }
  head(path: string, o: Partial<Req> = {}): Promise<Resp> {
    return this.req({ ...o, method: "HEAD", path });
  }
  put(path: string, form?: Record<string, string> | string, o: Partial<Req> = {}): Promise<Resp> {
    return this.req({ ...o, method: "PUT", path, form });
  }
  post(path: string, form?: Record<string, string> | string, o: Partial<Req> = {}): Promise<Resp> {
    return this.req({ ...o, method: "POST", path, form });
  }
  del(path: string, o: Partial<Req> = {}): Promise<Resp> {
    return this.req({ ...o, method: "DELETE", path });
  }

  async bulk(count: number, concurrency: number, mk: (i: number) => Req): Promise<void> {
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const r = await rawRequest(this.target.addr, toRaw(mk(i)), REQUEST_TIMEOUT_MS);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${c} x ${s}`).join(", ");
    this.steps.push({ request: `${count} requests like ${describe(mk(0), toRaw(mk(0)), this.#state())}`, sent: "", lines: [`statuses: ${summary}`] });
  }

  async watch(path: string, o: Partial<Req> = {}): Promise<WatchHandle> {
    const id = ++this.#watches;
    const r: Req = { ...o, method: o.method ?? "GET", path };
    const raw = toRaw(r);
    const st = this.#state();
    const request = `watch#${id} ${describe(r, raw, st)}`;
    const x = new Exchange(this.target.addr, raw);
    this.#open.add(x);
    try {
      const h = await x.head(REQUEST_TIMEOUT_MS);
      this.steps.push({ request, sent: describe(r, raw, undefined), lines: [...normaliseHead(st, h)] });
    } catch (e) {
      this.steps.push({ request, sent: describe(r, raw, undefined), lines: [`no response head: ${(e as Error).message}`] });
    }
    let consumed = 0;
    const steps = this.steps;
    const open = this.#open;
    return {
      async next(timeoutMs = WATCH_EVENT_TIMEOUT_MS): Promise<Resp | undefined> {
        const has = () => x.body.indexOf(0x0a, consumed) >= 0;
        const got = await x.waitFor(() => has() || x.ended, timeoutMs);
        const nl = x.body.indexOf(0x0a, consumed);
        if (!got || nl < 0) {
          const rest = x.body.subarray(consumed);
          steps.push({ request: `watch#${id} next event`, sent: "", lines: [x.ended ? `response ended${rest.length ? ` with ${visible(bodyText(rest))}` : ""}` : `no event within ${timeoutMs} ms`] });
          return undefined;
        }
        const line = x.body.subarray(consumed, nl + 1);
        consumed = nl + 1;
        const now = Date.now();
        steps.push({ request: `watch#${id} next event`, sent: "", lines: [`event: ${normaliseBody(st, line, { sentAtMs: x.sentAtMs, recvAtMs: now })}`] });
        const text = bodyText(line);
        return {
          status: 200,
          text,
          header: () => undefined,
          json: () => JSON.parse(text),
        };
      },
      async end(timeoutMs = WATCH_EVENT_TIMEOUT_MS): Promise<void> {
        const ok = await x.waitFor(() => x.ended, timeoutMs);
        const rest = x.body.subarray(consumed);
        steps.push({
          request: `watch#${id} end`,
          sent: "",
          lines: [ok ? "response ended" : `response still open after ${timeoutMs} ms`, ...(rest.length ? [`unread body: ${visible(bodyText(rest))}`] : [])],
        });
        x.close();
        open.delete(x);
      },
      async quiet(ms: number): Promise<void> {
        // A negative check ("nothing more arrives"): a short wait can only miss a late event
        // (a false pass), never invent one, so it cannot make the test flaky.
        const before = x.bodyLength;
        await x.waitFor(() => x.bodyLength > before || x.ended, ms);
        const extra = bodyText(x.body.subarray(consumed));
        steps.push({
          request: `watch#${id} nothing more within ${ms} ms`,
          sent: "",
          lines: [x.bodyLength > before ? `got: ${normaliseBody(st, extra, { sentAtMs: x.sentAtMs, recvAtMs: Date.now() })}` : x.ended ? "response ended" : "nothing"],
        });
      },
      close(): void {
        x.close();
        open.delete(x);
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /** Records an exception thrown by the case code (e.g. a field missing from a response). */
  threw(e: unknown): void {
    this.steps.push({ request: "(case code)", sent: "", lines: [`threw: ${(e as Error).message ?? String(e)}`] });
  }
}

export type { Mask };
