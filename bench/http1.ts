// The bits of HTTP/1.1 the open-loop generator (bench/open_loop.ts) speaks over its raw
// keep-alive sockets: one PUT request's bytes, and where one response ends in the bytes read so
// far (Content-Length or chunked bodies). Pure: no I/O, tested in tests/bench/. Latin-1 strings,
// so one character is one byte. Must not grow into a general HTTP client: bodies it cannot frame
// (read-until-close) are reported as errors.

/** A form-encoded PUT of `body` to `path` (keep-alive is HTTP/1.1's default). */
export function formatPut(path: string, host: string, body: string): string {
  return `PUT ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

export type Framed =
  /** One whole response: its status, how many characters it took, whether the server closes after it. */
  | { kind: "response"; status: number; length: number; close: boolean }
  /** Not all of it has arrived yet. */
  | { kind: "partial" }
  | { kind: "error"; reason: string };

const maxHead = 64 * 1024;

/** Frames the first response in `buf` (pure; tested). */
export function frameResponse(buf: string): Framed {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) {
    return buf.length > maxHead
      ? { kind: "error", reason: "response head over 64 KiB" }
      : { kind: "partial" };
  }
  const head = buf.slice(0, headEnd);
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!statusLine) {
    return { kind: "error", reason: `not an HTTP/1.x status line: ${JSON.stringify(head.slice(0, 40))}` };
  }
  const status = Number(statusLine[1]);
  let contentLength: number | undefined;
  let chunked = false;
  let close = /^HTTP\/1\.0/.test(head);
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === "content-length") contentLength = Number(value);
    else if (name === "transfer-encoding") {
      chunked = value.split(",").map((s) => s.trim()).includes("chunked");
    } else if (name === "connection") close = value.split(",").map((s) => s.trim()).includes("close");
  }
  const bodyStart = headEnd + 4;
  if (chunked) {
    let pos = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", pos);
      if (lineEnd < 0) return { kind: "partial" };
      const size = parseInt(buf.slice(pos, lineEnd).split(";")[0], 16);
      if (!Number.isFinite(size) || size < 0) return { kind: "error", reason: "bad chunk size" };
      if (size === 0) {
        // No trailers expected: the last chunk is followed by an empty line.
        const trailerEnd = buf.indexOf("\r\n\r\n", lineEnd);
        if (trailerEnd < 0) return { kind: "partial" };
        return { kind: "response", status, length: trailerEnd + 4, close };
      }
      pos = lineEnd + 2 + size + 2;
      if (pos > buf.length) return { kind: "partial" };
    }
  }
  if (contentLength !== undefined) {
    if (!Number.isFinite(contentLength) || contentLength < 0) {
      return { kind: "error", reason: "bad Content-Length" };
    }
    const end = bodyStart + contentLength;
    return end <= buf.length ? { kind: "response", status, length: end, close } : { kind: "partial" };
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { kind: "response", status, length: bodyStart, close };
  }
  return { kind: "error", reason: "response without Content-Length or chunked body" };
}
