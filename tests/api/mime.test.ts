// Unit tests for api/mime.ts: Go's mime.ParseMediaType media type and error texts. Every probe
// below was answered by a real etcd 3.4.23 (PUT /v2/keys with that Content-Type): "ok" ones were
// stored, the others gave 210 "Invalid POST form" with the text shown as the cause.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { goParseMediaType } from "../../api/mime.ts";
import { setup } from "./helpers.ts";

const s = suite("api/mime");

const probes: [string, string][] = [
  ["x;;", "mime: invalid media parameter"],
  ["text/plain;", "ok"],
  ["text/plain; ;", "mime: invalid media parameter"],
  ["text/plain ; a=b;", "ok"],
  ["x", "ok"],
  ["x/", "mime: expected token after slash"],
  ["x/y z", "mime: unexpected content after media subtype"],
  ["/x", "mime: no media type"],
  ["a/b; a=1; A=2", "mime: duplicate parameter name"],
  ['a/b; a="q\\"x"', "ok"],
  ["a/b; a", "mime: invalid media parameter"],
  ["a/b;a=", "mime: invalid media parameter"],
  ['application/x-www-form-urlencoded; a="unterminated', "mime: invalid media parameter"],
  ["a/b; a*=1; a*=2", "mime: duplicate parameter name"],
  ["a/b; a*0=1; a*1=2; b=3", "ok"],
  ["APPLICATION/X-WWW-FORM-URLENCODED ;charset=x", "ok"],
  ["a/b;=x", "mime: invalid media parameter"],
  ["x y", "mime: expected slash after first token"],
  ["application/x-www-form-urlencoded;;", "mime: invalid media parameter"],
  ["a/b; a=1 b=2", "mime: invalid media parameter"],
];

s("goParseMediaType() accepts and refuses what Go 1.19 does, with its error texts", () => {
  for (const [ct, want] of probes) {
    const r = goParseMediaType(ct);
    assert.is(r.ok ? "ok" : r.error, want, ct);
  }
});

s("goParseMediaType() lowercases and trims the media type; no header is application/octet-stream", () => {
  assert.equal(goParseMediaType("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"), { ok: true, mediaType: "application/x-www-form-urlencoded" });
  assert.equal(goParseMediaType("application/x-www-form-urlencoded"), { ok: true, mediaType: "application/x-www-form-urlencoded" });
  assert.equal(goParseMediaType(null), { ok: true, mediaType: "application/octet-stream" });
  assert.equal(goParseMediaType(""), { ok: true, mediaType: "application/octet-stream" });
});

s("serveKeys() answers a malformed Content-Type with 210 before reading the body or the query", async () => {
  const t = setup();
  const r = await t.req("PUT", "/v2/keys/jb/badct?x=%zz", "value=x", "x;;");
  assert.is(r.status, 400);
  assert.is(r.body, '{"errorCode":210,"message":"Invalid POST form","cause":"mime: invalid media parameter","index":0}\n');
  assert.is(t.deps.proposed.length, 0);
  // Not parsed for DELETE, as ParseForm reads a body only for PUT/POST/PATCH.
  assert.is((await t.req("DELETE", "/v2/keys/nokey", "value=x", "x;;")).status, 404);
});

s.run();
