// The HTTP side of the client commands (kv, cluster): the --endpoints list, one request tried on
// each endpoint in turn like etcdctl (a refused connection or a 5xx moves on to the next), and
// the messages a person can act on when none answers. Uses fetch only.
// Must not format command output (kv.ts and cluster.ts do).

import { UsageError } from "./args.ts";

export const DEFAULT_ENDPOINT = "http://127.0.0.1:2379";

/** --endpoints, else COREPLANE_ENDPOINTS, else the default; comma-separated, checked. */
export function endpointsOf(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string[] {
  const raw = flag ?? env.COREPLANE_ENDPOINTS ?? DEFAULT_ENDPOINT;
  const list = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new UsageError("--endpoints is empty");
  for (const e of list) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new UsageError(`--endpoints: "${e}" is not a URL (expected e.g. http://127.0.0.1:2379)`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--endpoints: "${e}" must be http:// or https://`);
  }
  return list.map((e) => e.replace(/\/+$/, ""));
}

/** No endpoint could be reached: each attempt's reason, in order. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
  readonly code = "cli/connection";
  readonly attempts: readonly string[];
  constructor(attempts: string[]) {
    super(
      `client: coreplane cluster is unavailable or misconfigured; ` +
        attempts.map((a, i) => `error #${i}: ${a}`).join("; "),
    );
    this.attempts = attempts;
  }
}

export interface HttpReply {
  readonly endpoint: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export interface RequestSpec {
  readonly method: string;
  /** Path and query, starting with "/". */
  readonly path: string;
  /** A form body (application/x-www-form-urlencoded), or none. */
  readonly form?: URLSearchParams;
  /** Per-attempt timeout; undefined for none (watches wait as long as it takes). */
  readonly timeoutMs?: number;
}

function reason(endpoint: string, e: unknown, timeoutMs: number | undefined): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return `${endpoint}: no answer within ${timeoutMs} ms`;
  const code = err?.cause?.code;
  const msg = `${err?.message ?? e}${err?.cause?.message ? ` (${err.cause.message})` : ""}`;
  if (code === "ECONNREFUSED" || /connection refused|ECONNREFUSED/i.test(msg)) return `${endpoint}: connection refused (is a member listening there?)`;
  return `${endpoint}: ${msg}`;
}

/**
 * Sends the request to each endpoint until one answers below 500. Returns the last 5xx reply if
 * every endpoint answered 5xx; throws ConnectionError if none could be reached at all.
 */
export async function request(endpoints: readonly string[], spec: RequestSpec): Promise<HttpReply> {
  const attempts: string[] = [];
  let last5xx: HttpReply | undefined;
  for (const ep of endpoints) {
    try {
      const res = await fetch(ep + spec.path, {
        method: spec.method,
        headers: spec.form ? { "content-type": "application/x-www-form-urlencoded", accept: "application/json" } : { accept: "application/json" },
        body: spec.form ? spec.form.toString() : undefined,
        signal: spec.timeoutMs !== undefined ? AbortSignal.timeout(spec.timeoutMs) : undefined,
      });
      const body = await res.text();
      const reply = { endpoint: ep, status: res.status, headers: res.headers, body };
      if (res.status >= 500) {
        last5xx = reply;
        attempts.push(`${ep}: HTTP ${res.status}`);
        continue;
      }
      return reply;
    } catch (e) {
      attempts.push(reason(ep, e, spec.timeoutMs));
    }
  }
  if (last5xx) return last5xx;
  throw new ConnectionError(attempts);
}
