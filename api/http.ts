// Small response builders shared by the api's handlers: etcd's CORS headers (on every response,
// as etcd's outer CORS handler adds them), plain-text and JSON replies, error replies from the
// errors.ts table, HEAD (headers of the GET, no body), and 200s whose body is a stream that may
// last (the runtime keeps those out of its idle timeout). Must not route or know any protocol.

import type { ErrorReply } from "./errors.ts";

/** Which origins get CORS headers: etcd's --cors list; ["*"] is etcd's default. */
export interface CorsPolicy {
  readonly any: boolean;
  readonly origins: ReadonlySet<string>;
}

export function corsPolicy(origins: readonly string[] = ["*"]): CorsPolicy {
  return { any: origins.includes("*"), origins: new Set(origins) };
}

/** The Access-Control-Allow-Origin value for a request, or null when it gets no CORS headers. */
export function corsOriginFor(policy: CorsPolicy, req: Request): string | null {
  if (policy.any) return "*";
  const origin = req.headers.get("origin");
  return origin !== null && policy.origins.has(origin) ? origin : null;
}

const ALLOW_HEADERS = "accept, content-type, authorization";
const ALLOW_METHODS = "POST, GET, OPTIONS, PUT, DELETE";

/** A fresh header object holding the CORS headers for `origin` (none when null). */
export function baseHeaders(origin: string | null): Record<string, string> {
  if (origin === null) return {};
  return {
    "access-control-allow-headers": ALLOW_HEADERS,
    "access-control-allow-methods": ALLOW_METHODS,
    "access-control-allow-origin": origin,
  };
}

let encoder: TextEncoder | undefined;

/** Bytes in the UTF-8 body (for HEAD's Content-Length). */
export function bodyByteLength(body: string): number {
  let ascii = true;
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return body.length;
  encoder ??= new TextEncoder();
  return encoder.encode(body).length;
}

/**
 * A response with a string body; on HEAD the same headers (Content-Length included, as Go sets
 * it for a handler that wrote a small body) and no body.
 */
export function reply(status: number, headers: Record<string, string>, body: string, head: boolean): Response {
  if (head) {
    if (body !== "") headers["content-length"] = String(bodyByteLength(body));
    return new Response(null, { status, headers });
  }
  return new Response(body === "" ? null : body, { status, headers });
}

/** An error from the errors.ts table with the CORS headers and any extra headers. */
export function errorResponse(
  origin: string | null,
  e: ErrorReply,
  head: boolean,
  extra?: Record<string, string>,
): Response {
  const h = baseHeaders(origin);
  h["content-type"] = e.contentType;
  if (e.nosniff === true) h["x-content-type-options"] = "nosniff";
  if (extra !== undefined) Object.assign(h, extra);
  return reply(e.status, h, e.body, head);
}

const streams = new WeakSet<Response>();

/** A 200 whose body is a stream that may last (a watch, a chunked listing); see isStreamResponse. */
export function streamResponse(body: ReadableStream<Uint8Array>, headers: Record<string, string>): Response {
  const res = new Response(body, { status: 200, headers });
  streams.add(res);
  return res;
}

/**
 * Whether `res` came from streamResponse: the runtime keeps such a connection out of its idle
 * timeout until the body has been written (a watch may wait minutes without a byte).
 */
export function isStreamResponse(res: Response): boolean {
  return streams.has(res);
}
