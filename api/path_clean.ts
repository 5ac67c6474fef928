// Request-path handling as Go's net/http does it in front of etcd's handlers: percent-decoding
// (a bad escape is the server's bare 400), ServeMux's cleanPath with its 301 to the canonical
// path, and url.URL's path re-escaping for the Location header.
// Literal "." and ".." segments are visible only in a raw request target (Deno's req.url, or
// the raw target node's runtime passes); a URL parsed by `new Request` has resolved them.
// Must not route or build responses.

import { queryBytes, unescapeBytes } from "./form.ts";
import { kvStringToBytes } from "../projections/mod.ts";

/** The percent-decoded path (Go's URL.Path), or undefined for a bad escape. "+" stays "+". */
export function decodePath(rawPath: string): string | undefined {
  if (rawPath.indexOf("%") < 0) return rawPath;
  const b = queryBytes(rawPath);
  const r = unescapeBytes(b, 0, b.length, false);
  return typeof r === "string" ? r : undefined;
}

/** Whether a raw path may need cleaning: quick test for the hot path. */
export function mayNeedCleaning(rawPath: string): boolean {
  return rawPath.indexOf("//") >= 0 || rawPath.indexOf("/.") >= 0 || rawPath.indexOf("%") >= 0;
}

/** Go's path.Clean. */
export function goPathClean(p: string): string {
  if (p === "") return ".";
  const rooted = p.charCodeAt(0) === 0x2f;
  const parts = p.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/** net/http's cleanPath: rooted, cleaned, with a trailing slash kept. */
export function cleanPath(p: string): string {
  if (p === "") return "/";
  if (p.charCodeAt(0) !== 0x2f) p = "/" + p;
  let np = goPathClean(p);
  if (p.charCodeAt(p.length - 1) === 0x2f && np !== "/") np += "/";
  return np;
}

const HEX = "0123456789ABCDEF";

/**
 * url.URL's path escaping (encodePath mode): unreserved and $&+,/:;=@ kept, all else %XX, of
 * the bytes the decoded path stands for (an escaped invalid byte is that byte again).
 */
export function escapePath(path: string): string {
  const b = kvStringToBytes(path);
  let out = "";
  for (const c of b) {
    if (
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e || // - _ . ~
      c === 0x24 || c === 0x26 || c === 0x2b || c === 0x2c || c === 0x2f || c === 0x3a ||
      c === 0x3b || c === 0x3d || c === 0x40 // $ & + , / : ; = @
    ) out += String.fromCharCode(c);
    else out += "%" + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

/** Go's htmlEscape for the redirect body. */
function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&#34;" : "&#39;");
}

/** http.Redirect's body for GET: `<a href="...">Moved Permanently</a>.` and two newlines. */
export function redirectBody(location: string): string {
  return '<a href="' + htmlEscape(location) + '">Moved Permanently</a>.\n\n';
}
