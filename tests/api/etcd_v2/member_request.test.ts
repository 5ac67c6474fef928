// Unit tests for api/etcd_v2/member_request.ts and go_json_check.ts: POST /v2/members bodies and the
// exact 400 messages a real etcd 3.4.23 gave for each (probed with its peer URL
// http://127.0.0.1:21002 registered, which gave 409 where noted), then the handler's order:
// 415, 400, 409, and only then our 500.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseMemberCreateRequest } from "../../../api/etcd_v2/member_request.ts";
import { goJsonSyntaxError, goQuoteChar } from "../../../api/etcd_v2/go_json_check.ts";
import { setup } from "../helpers.ts";

const s = suite("api/member_request");
const enc = (x: string) => Uint8Array.from(x, (c) => c.charCodeAt(0)); // one byte per char
const STRUCT = 'struct { PeerURLs []string "json:\\"peerURLs\\"" }';

const probes: [string, string][] = [
  ["{bad", "invalid character 'b' looking for beginning of object key string"],
  ["", "unexpected end of JSON input"],
  ["{", "unexpected end of JSON input"],
  ['{"peerURLs":', "unexpected end of JSON input"],
  ["x", "invalid character 'x' looking for beginning of value"],
  ["[]", `json: cannot unmarshal array into Go value of type ${STRUCT}`],
  ["null", "no valid URLs given"],
  ["{}", "no valid URLs given"],
  ['{"peerURLs":5}', "json: cannot unmarshal number into Go struct field .peerURLs of type []string"],
  ['{"peerURLs":[5]}', "json: cannot unmarshal number into Go struct field .peerURLs of type string"],
  ['{"peerURLs":[null]}', "URL scheme must be http, https, unix, or unixs: "],
  ['{"peerURLs":["not a url"]}', "URL scheme must be http, https, unix, or unixs: not a url"],
  ['{"peerURLs":["http://a"]}', 'URL address does not have the form "host:port": http://a'],
  ['{"peerURLs":["http://a:1/p"]}', "URL must not contain a path: http://a:1/p"],
  ['{"peerURLs":["://x"]}', 'parse "://x": missing protocol scheme'],
  ['{"peerURLs":["http://a:b"]}', 'parse "http://a:b": invalid port ":b" after host'],
  ['{"peerURLs":["unix://x"]}', 'URL address does not have the form "host:port": unix://x'],
  ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
  ['{"a" 1}', "invalid character '1' after object key"],
  ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
  ['{"a":-}', "invalid character '}' in numeric literal"],
  ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
  ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
  ['{"a":"\\x"}', "invalid character 'x' in string escape code"],
  ['{"a":"\\u12"}', "invalid character '\"' in \\u hexadecimal character escape"],
  ["[1 2]", "invalid character '2' after array element"],
  ["{} x", "invalid character 'x' after top-level value"],
  ['"a', "unexpected end of JSON input"],
  ['{"a":01}', "invalid character '1' after object key:value pair"],
  ['{"peerURLs":["http://a:1\\u0001"]}', 'parse "http://a:1\\x01": net/url: invalid control character in URL'],
  ['{"peerURLs":[]}', "no valid URLs given"],
  ['{"peerURLs":"x"}', "json: cannot unmarshal string into Go struct field .peerURLs of type []string"],
  ['{"peerURLs":{}}', "json: cannot unmarshal object into Go struct field .peerURLs of type []string"],
  ['{"peerURLs":[true]}', "json: cannot unmarshal bool into Go struct field .peerURLs of type string"],
  ['{"peerURLs":[[]]}', "json: cannot unmarshal array into Go struct field .peerURLs of type string"],
  ['{"peerURLs":["x"],"b":[}', "invalid character '}' looking for beginning of value"],
  ['{"a":"\x01"}', "invalid character '\\x01' in string literal"],
  ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
  ['{"a":fals}', "invalid character '}' in literal false (expecting 'e')"],
  ["{\"a\":'x'}", "invalid character '\\'' looking for beginning of value"],
  ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
  ['{"a":1]', "invalid character ']' after object key:value pair"],
  ["[1}", "invalid character '}' after array element"],
  ['{"a":-01}', "invalid character '1' after object key:value pair"],
  ['{"a":1.5e+}', "invalid character '}' in exponent of numeric literal"],
  ['{"peerURLs":["http://127.0.0.1:21002/"]}', "URL must not contain a path: http://127.0.0.1:21002/"],
  ["\xff", "invalid character 'ÿ' looking for beginning of value"],
  ['{"a":"\xff"}', "no valid URLs given"],
  ["5", `json: cannot unmarshal number into Go value of type ${STRUCT}`],
  ['"x"', `json: cannot unmarshal string into Go value of type ${STRUCT}`],
  ["true", `json: cannot unmarshal bool into Go value of type ${STRUCT}`],
];

s("parseMemberCreateRequest() refuses what etcd 3.4 refuses, with Go's message", () => {
  for (const [body, want] of probes) {
    const r = parseMemberCreateRequest(enc(body));
    assert.is(r.ok ? "ok" : r.message, want, body);
  }
});

s("parseMemberCreateRequest() accepts peer URLs etcd accepts, matching the field name case-insensitively", () => {
  for (const body of [
    '{"PEERURLS":["http://127.0.0.1:21002"]}',
    '{"peerURLs":["HTTP://127.0.0.1:21002"]}',
    '{"peerURLs":[" http://127.0.0.1:21002 "]}',
    '\t{"peerURLs" : [ "http://127.0.0.1:21002" ] } ',
  ]) assert.equal(parseMemberCreateRequest(enc(body)), { ok: true, peerURLs: ["http://127.0.0.1:21002"] }, body);
  assert.equal(parseMemberCreateRequest(enc('{"peerURLs":["http://127.0.0.1:021002"]}')), { ok: true, peerURLs: ["http://127.0.0.1:021002"] });
});

s("goJsonSyntaxError() ends pending numbers and literals with a space, as Go's scanner.eof()", () => {
  assert.is(goJsonSyntaxError(enc("-")), "invalid character ' ' in numeric literal");
  assert.is(goJsonSyntaxError(enc("tru")), "invalid character ' ' in literal true (expecting 'e')");
  assert.is(goJsonSyntaxError(enc('"\\')), "invalid character ' ' in string escape code");
  assert.is(goJsonSyntaxError(enc("5")), undefined);
  assert.is(goJsonSyntaxError(enc(' {"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]} ')), undefined);
  assert.is(goJsonSyntaxError(enc("[".repeat(10001))), "exceeded max depth");
});

s("goQuoteChar() quotes a byte as Go's quoteChar does", () => {
  assert.is(goQuoteChar(0x62), "'b'");
  assert.is(goQuoteChar(0x27), "'\\''");
  assert.is(goQuoteChar(0x22), "'\"'");
  assert.is(goQuoteChar(0x01), "'\\x01'");
  assert.is(goQuoteChar(0x0a), "'\\n'");
  assert.is(goQuoteChar(0x85), "'\\u0085'");
  assert.is(goQuoteChar(0xff), "'ÿ'");
});

s("POST /v2/members: 415, then 400 for a bad body, 409 for a peer URL in use, then 500 not supported", async () => {
  const t = setup();
  const JSON_TYPE = "application/json";
  let r = await t.req("POST", "/v2/members", "peerURLs=x");
  assert.is(r.status, 415);
  r = await t.req("POST", "/v2/members", "{bad", JSON_TYPE);
  assert.is(r.status, 400);
  assert.is(r.body, '{"message":"invalid character \'b\' looking for beginning of object key string"}');
  assert.is(r.headers["x-etcd-cluster-id"], "48276a8f75b6a87");
  r = await t.req("POST", "/v2/members", '{"peerURLs":["not a url"]}', JSON_TYPE);
  assert.is(r.status, 400);
  assert.is(r.body, '{"message":"URL scheme must be http, https, unix, or unixs: not a url"}');
  r = await t.req("POST", "/v2/members", '{"peerURLs":["HTTP://127.0.0.1:23800"]}', JSON_TYPE); // the member's own
  assert.is(r.status, 409);
  assert.is(r.body, '{"message":"membership: peerURL exists"}');
  r = await t.req("POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:23801"]}', JSON_TYPE);
  assert.is(r.status, 201);
});

s.run();
