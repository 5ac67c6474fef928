// Unit tests for api/etcd_v2/json.ts and api/go_utf8.ts: Go encoding/json string escaping, byte-wise UTF-8 decoding,
// RFC3339Nano, Go durations, and the v2 node/event/error encoders in etcd's field order.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  eventJson,
  etcdErrorJson,
  goDurationFromMs,
  goJsonString,
  messageJson,
  nodeJson,
  rfc3339NanoFromMs,
  utf8ByteLength,
} from "../../../api/etcd_v2/json.ts";
import { goUtf8Decode } from "../../../api/go_utf8.ts";
import type { KvNode } from "../../../projections/mod.ts";

const s = suite("api/json");

s("goJsonString() escapes <, >, &, U+2028/9 and controls like Go 1.19", () => {
  assert.is(goJsonString("café & ="), '"café \\u0026 ="');
  assert.is(goJsonString("<b>\u2028\u2029"), '"\\u003cb\\u003e\\u2028\\u2029"');
  assert.is(goJsonString("\u0001\b\f\u001f\t\n\r\u007f"), '"\\u0001\\u0008\\u000c\\u001f\\t\\n\\r\u007f"');
  assert.is(goJsonString('a"b\\c'), '"a\\"b\\\\c"');
  assert.is(goJsonString("plain"), '"plain"');
});

s("goJsonString() keeps valid surrogate pairs raw and turns a lone surrogate into \\ufffd", () => {
  assert.is(goJsonString("x\u{1F600}y"), '"x\u{1F600}y"');
  assert.is(goJsonString("x\ud800y\udc00"), '"x\\ufffdy\\ufffd"');
});

s("goUtf8Decode() escapes each invalid byte on its own, as Go walks a string; goJsonString() writes each as \\ufffd", () => {
  const b = new Uint8Array([0xff, 0xfe, 0x3c, 0x62, 0x3e, 0xe2, 0x80, 0xa8]);
  assert.is(goJsonString(goUtf8Decode(b)), '"\\ufffd\\ufffd\\u003cb\\u003e\\u2028"');
  // A truncated 3-byte sequence is two invalid bytes in Go (WHATWG would give one U+FFFD).
  const e = (x: number) => "\ufdd0" + String.fromCharCode(x);
  assert.is(goUtf8Decode(new Uint8Array([0xff, 0xfe, 0xe2, 0x80, 0x78])), e(0xff) + e(0xfe) + e(0xe2) + e(0x80) + "x");
  assert.is(goUtf8Decode(new Uint8Array([0xed, 0xa0, 0x80])), e(0xed) + e(0xa0) + e(0x80)); // an encoded surrogate
  assert.is(goUtf8Decode(new TextEncoder().encode("café €𝄞")), "café €𝄞");
  assert.is(goUtf8Decode(new Uint8Array([0x61, 0x62, 0x63]), 1, 3), "bc");
});

s("goUtf8Decode() keeps byte strings that differ only in invalid bytes distinct", () => {
  const ff = goUtf8Decode(new Uint8Array([0x6b, 0xff]));
  const c3 = goUtf8Decode(new Uint8Array([0x6b, 0xc3]));
  assert.is.not(ff, c3);
  assert.is(goJsonString(ff), '"k\\ufffd"');
  assert.is(goJsonString(c3), '"k\\ufffd"');
  // A genuine U+FFFD (EF BF BD) is text, not an invalid byte: distinct from both, written raw as Go does.
  const real = goUtf8Decode(new Uint8Array([0x6b, 0xef, 0xbf, 0xbd]));
  assert.is(real, "k\ufffd");
  assert.is(goJsonString(real), '"k\ufffd"');
});

s("goUtf8Decode() doubles a literal U+FDD0 so it cannot pose as an escaped byte; goJsonString() writes it raw", () => {
  const lit = goUtf8Decode(new TextEncoder().encode("a\ufdd0\u00ffb")); // U+FDD0 then U+00FF, both valid
  const esc = goUtf8Decode(new Uint8Array([0x61, 0xff, 0x62])); // a raw 0xFF
  assert.is.not(lit, esc);
  assert.is(goJsonString(lit), '"a\ufdd0\u00ffb"');
  assert.is(goJsonString(esc), '"a\\ufffdb"');
  // Long and mixed inputs go through the byte-wise path.
  const long = new Uint8Array([...new TextEncoder().encode("x".repeat(300) + "\ufdd0"), 0xc3]);
  assert.is(goJsonString(goUtf8Decode(long)), '"' + "x".repeat(300) + '\ufdd0\\ufffd"');
});

s("utf8ByteLength() counts UTF-8 bytes", () => {
  assert.is(utf8ByteLength("abc"), 3);
  assert.is(utf8ByteLength("é€𝄞"), 2 + 3 + 4);
});

s("utf8ByteLength() counts the bytes an escaped string stands for", () => {
  assert.is(utf8ByteLength(goUtf8Decode(new Uint8Array([0x61, 0xff, 0xc3]))), 3);
  assert.is(utf8ByteLength(goUtf8Decode(new TextEncoder().encode("\ufdd0"))), 3);
});

s("rfc3339NanoFromMs() trims trailing fractional zeros", () => {
  assert.is(rfc3339NanoFromMs(Date.UTC(2026, 10, 23, 16, 5, 41, 800)), "2026-11-23T16:05:41.8Z");
  assert.is(rfc3339NanoFromMs(Date.UTC(2026, 10, 23, 16, 5, 41, 0)), "2026-11-23T16:05:41Z");
  assert.is(rfc3339NanoFromMs(Date.UTC(2026, 10, 23, 16, 5, 37, 58)), "2026-11-23T16:05:37.058Z");
  assert.is(rfc3339NanoFromMs(Date.UTC(2026, 10, 23, 16, 5, 37, 50)), "2026-11-23T16:05:37.05Z");
});

s("goDurationFromMs() writes Go's Duration.String()", () => {
  assert.is(goDurationFromMs(0), "0s");
  assert.is(goDurationFromMs(250), "250ms");
  assert.is(goDurationFromMs(1500), "1.5s");
  assert.is(goDurationFromMs(696_304), "11m36.304s");
  assert.is(goDurationFromMs(3_600_000), "1h0m0s");
  assert.is(goDurationFromMs(60_000), "1m0s");
});

s("nodeJson() writes etcd's field order, strips /1 and omits empty fields", () => {
  assert.is(
    nodeJson({ key: "/1/dir", dir: true, expirationMs: Date.UTC(2026, 10, 23, 16, 41, 5, 189), ttl: 100, nodes: [{ key: "/1/dir/k", value: "1", modifiedIndex: 33, createdIndex: 33 }], modifiedIndex: 32, createdIndex: 32 }),
    '{"key":"/dir","dir":true,"expiration":"2026-11-23T16:41:05.189Z","ttl":100,"nodes":[{"key":"/dir/k","value":"1","modifiedIndex":33,"createdIndex":33}],"modifiedIndex":32,"createdIndex":32}',
  );
  assert.is(nodeJson({ key: "/1", dir: true, nodes: [], modifiedIndex: 0, createdIndex: 0 }), '{"dir":true}');
  assert.is(nodeJson({ key: "/1/e", value: "", ttl: 0, modifiedIndex: 5, createdIndex: 5 }), '{"key":"/e","value":"","modifiedIndex":5,"createdIndex":5}');
});

s("eventJson() writes action, node, prevNode and a newline; never refresh", () => {
  const e = {
    action: "update" as const,
    refresh: true,
    index: 8,
    node: { key: "/1/foo", value: "bar", modifiedIndex: 8, createdIndex: 7 },
    prevNode: { key: "/1/foo", value: "bar", modifiedIndex: 7, createdIndex: 7 },
  };
  assert.is(eventJson(e), '{"action":"update","node":{"key":"/foo","value":"bar","modifiedIndex":8,"createdIndex":7},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":7}}\n');
  assert.is(eventJson(e, true), '{"action":"update"}\n');
});

s("etcdErrorJson() and messageJson() write etcd's error shapes", () => {
  assert.is(etcdErrorJson(102, "Not a file", undefined, 43), '{"errorCode":102,"message":"Not a file","index":43}\n');
  assert.is(etcdErrorJson(101, "Compare failed", "[wrong != three]", 31), '{"errorCode":101,"message":"Compare failed","cause":"[wrong != three]","index":31}\n');
  assert.is(messageJson("not current leader"), '{"message":"not current leader"}');
});

s("nodeJson() and eventJson() write a 100,000-deep tree without recursion (issue 12, attack 5)", () => {
  // Short keys keep the output linear in the depth; the store's real keys grow with it.
  const depth = 100_000;
  const top: KvNode = { key: "/1/t", dir: true, modifiedIndex: 5, createdIndex: 5 };
  let at = top;
  for (let i = 0; i < depth; i++) {
    const n: KvNode = i === depth - 1 ? { key: "/1/x", value: "v", modifiedIndex: 7, createdIndex: 6 } : { key: "/1/d", dir: true, modifiedIndex: 3, createdIndex: 3 };
    at.nodes = [n];
    at = n;
  }
  const json = eventJson({ action: "get", node: top, index: 9 });
  const inner = '{"key":"/x","value":"v","modifiedIndex":7,"createdIndex":6}';
  assert.ok(json.startsWith('{"action":"get","node":{"key":"/t","dir":true,"nodes":[{"key":"/d","dir":true,"nodes":['));
  assert.ok(json.includes("[" + inner + "]"));
  assert.ok(json.endsWith('],"modifiedIndex":3,"createdIndex":3}],"modifiedIndex":5,"createdIndex":5}}\n'));
  let open = 0;
  for (let i = json.indexOf('"nodes":['); i >= 0; i = json.indexOf('"nodes":[', i + 1)) open++;
  assert.is(open, depth);
  assert.is(nodeJson(top), json.slice('{"action":"get","node":'.length, -2));
});

s("nodeJson() of a listing: siblings, empty dirs, TTLs and zero indexes as before", () => {
  const n: KvNode = {
    dir: true,
    modifiedIndex: 0,
    createdIndex: 0,
    nodes: [
      { key: "/1/a", value: "x", expirationMs: Date.UTC(2026, 0, 1), ttl: 5, modifiedIndex: 4, createdIndex: 4 },
      { key: "/1/d", dir: true, modifiedIndex: 5, createdIndex: 5, nodes: [{ key: "/1/d/e", dir: true, modifiedIndex: 6, createdIndex: 6 }] },
      { key: "/1/f", value: "", modifiedIndex: 7, createdIndex: 7 },
    ],
  };
  assert.is(
    nodeJson(n),
    '{"dir":true,"nodes":[{"key":"/a","value":"x","expiration":"2026-01-01T00:00:00Z","ttl":5,"modifiedIndex":4,"createdIndex":4},' +
      '{"key":"/d","dir":true,"nodes":[{"key":"/d/e","dir":true,"modifiedIndex":6,"createdIndex":6}],"modifiedIndex":5,"createdIndex":5},' +
      '{"key":"/f","value":"","modifiedIndex":7,"createdIndex":7}]}',
  );
});

s.run();
