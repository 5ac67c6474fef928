// The body of POST /v2/members as etcd 3.4 reads it: httptypes.MemberCreateRequest.UnmarshalJSON
// (json.Unmarshal into struct { PeerURLs []string `json:"peerURLs"` }) then types.NewURLs, with
// Go's error texts, which etcd answers as 400 {"message": <text>}. Probed against etcd 3.4.23
// (tests/api/member_request.test.ts). Go's url.Parse is reduced to the checks a peer URL can
// fail (control characters, missing scheme, bad port, bad escapes) and NewURLs's own checks.
// Must not know about members or answer requests (etcd_v2.ts decides what follows).

import { goJsonSyntaxError } from "./go_json_check.ts";

export type MemberCreateParse = { ok: true; peerURLs: string[] } | { ok: false; message: string };

const STRUCT_TYPE = 'struct { PeerURLs []string "json:\\"peerURLs\\"" }';

let decoder: TextDecoder | undefined;

function jsonKind(v: unknown): string {
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  return Array.isArray(v) ? "array" : "object";
}

/** Parses and validates a member-create body; `peerURLs` come back as Go's url.URL.String() shows them. */
export function parseMemberCreateRequest(body: Uint8Array): MemberCreateParse {
  const syntax = goJsonSyntaxError(body);
  if (syntax !== undefined) return { ok: false, message: syntax };
  decoder ??= new TextDecoder();
  const value: unknown = JSON.parse(decoder.decode(body));

  // json.Unmarshal: the first type error wins, but decoding goes on (a later key may still set the field).
  let typeError: string | undefined;
  let strs: string[] = [];
  if (value !== null && (typeof value !== "object" || Array.isArray(value))) {
    typeError = `json: cannot unmarshal ${jsonKind(value)} into Go value of type ${STRUCT_TYPE}`;
  } else if (value !== null) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k !== "peerURLs" && k.toLowerCase() !== "peerurls") continue; // Go matches field names case-insensitively
      if (v === null) {
        strs = [];
        continue;
      }
      if (!Array.isArray(v)) {
        typeError ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field .peerURLs of type []string`;
        continue;
      }
      strs = [];
      for (const x of v) {
        if (typeof x === "string") strs.push(x);
        else if (x === null) strs.push(""); // null leaves a Go string at its zero value
        else {
          typeError ??= `json: cannot unmarshal ${jsonKind(x)} into Go struct field .peerURLs of type string`;
          strs.push("");
        }
      }
    }
  }
  if (typeError !== undefined) return { ok: false, message: typeError };
  return newUrls(strs);
}

/** types.NewURLs: every URL trimmed, parsed, http(s)/unix(s) with host:port and no path. */
function newUrls(strs: readonly string[]): MemberCreateParse {
  if (strs.length === 0) return { ok: false, message: "no valid URLs given" };
  const out: string[] = [];
  for (const raw of strs) {
    const input = raw.trim();
    const u = goUrlParse(input);
    if (typeof u === "string") return { ok: false, message: `parse ${goQuote(input)}: ${u}` };
    if (u.scheme !== "http" && u.scheme !== "https" && u.scheme !== "unix" && u.scheme !== "unixs") {
      return { ok: false, message: `URL scheme must be http, https, unix, or unixs: ${input}` };
    }
    if (!splitsHostPort(u.host)) return { ok: false, message: `URL address does not have the form "host:port": ${input}` };
    if (u.path !== "") return { ok: false, message: `URL must not contain a path: ${input}` };
    out.push(u.scheme + input.slice(u.scheme.length)); // url.String() with the scheme lowercased
  }
  return { ok: true, peerURLs: out };
}

interface GoUrl {
  scheme: string;
  host: string;
  path: string;
}

/** The parts of Go's url.Parse a peer URL needs, or Go's error text (without the `parse "..."` prefix). */
function goUrlParse(s: string): GoUrl | string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return "net/url: invalid control character in URL";
  }
  const hash = s.indexOf("#");
  let rest = hash < 0 ? s : s.slice(0, hash);
  // getScheme
  let scheme = "";
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) break;
      continue;
    }
    if (c === 0x3a) {
      if (i === 0) return "missing protocol scheme";
      scheme = rest.slice(0, i).toLowerCase();
      rest = rest.slice(i + 1);
    }
    break;
  }
  const q = rest.indexOf("?");
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith("/")) {
    if (scheme !== "") return { scheme, host: "", path: "" }; // opaque: "http:x" has no host
    const colon = rest.indexOf(":");
    const slash = rest.indexOf("/");
    if (colon >= 0 && (slash < 0 || colon < slash)) return "first path segment in URL cannot contain colon";
  }
  let host = "";
  if (rest.startsWith("//")) {
    let end = rest.indexOf("/", 2);
    if (end < 0) end = rest.length;
    const authority = rest.slice(2, end);
    rest = rest.slice(end);
    const at = authority.lastIndexOf("@");
    host = at < 0 ? authority : authority.slice(at + 1);
    if (!host.startsWith("[")) {
      const colon = host.lastIndexOf(":");
      if (colon >= 0 && !/^:\d*$/.test(host.slice(colon))) return `invalid port ${goQuote(host.slice(colon))} after host`;
    }
  }
  const badEscape = /%(?![0-9a-fA-F]{2})/.exec(rest);
  if (badEscape !== null) return `invalid URL escape ${goQuote(rest.slice(badEscape.index, badEscape.index + 3))}`;
  return { scheme, host, path: rest };
}

/** Whether net.SplitHostPort accepts `hp`. */
function splitsHostPort(hp: string): boolean {
  const i = hp.lastIndexOf(":");
  if (i < 0) return false;
  let j = 0;
  let k = 0;
  if (hp.startsWith("[")) {
    const end = hp.indexOf("]");
    if (end < 0 || end + 1 !== i) return false;
    j = 1;
    k = end + 1;
  } else if (hp.slice(0, i).indexOf(":") >= 0) return false;
  return hp.indexOf("[", j) < 0 && hp.indexOf("]", k) < 0;
}

/** strconv.Quote for the ASCII texts these errors show (control characters as \xNN). */
function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c !== 0x7f) out += s[i];
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + '"';
}
