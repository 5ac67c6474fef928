// Unit tests of the differential test's normaliser on captured etcd 3.4 bytes: what it masks,
// and that each mask still exposes a wrong format. Must not start servers.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { framingLine, maskTransport, newState, normaliseBody, normaliseHead, rel } from "./normalise.ts";

const s = suite("etcd_v2/normalise");
const T = { sentAtMs: Date.UTC(2026, 10, 23, 16, 5, 27), recvAtMs: Date.UTC(2026, 10, 23, 16, 5, 27, 5) };

s("rel() shows indices relative to the case base and keeps 0", () => {
  const st = newState(40, "http://c", "http://p");
  assert.is(rel(st, 44), "B+4");
  assert.is(rel(st, 38), "B-2");
  assert.is(rel(st, 0), "0");
});

s("normaliseBody() keeps escaping, key order and the newline, and makes index fields relative", () => {
  const st = newState(3, "http://c", "http://p");
  const body = '{"action":"set","node":{"key":"/q/00000000000000000004","value":"\\u003c\\ufffd","modifiedIndex":4,"createdIndex":4}}\n';
  assert.is(normaliseBody(st, body, T), '{"action":"set","node":{"key":"/q/{B+1:020}","value":"\\u003c\\ufffd","modifiedIndex":B+1,"createdIndex":B+1}}⏎');
});

s("normaliseBody() relativises index numbers in 101 and 401 causes, leaving small literals", () => {
  const st = newState(20, "http://c", "http://p");
  assert.match(normaliseBody(st, '{"cause":"[1 != 31]","index":31}', T), '"cause":"[1 != {B+11}]","index":B+11');
  assert.match(normaliseBody(st, '{"cause":"the requested history has been cleared [71/25]"}', T), "[{B+51}/{B+5}]");
});

s("normaliseBody() tokenises expirations by first sight and checks ttl against them", () => {
  const st = newState(1, "http://c", "http://p");
  const set = '{"expiration":"2026-11-23T16:07:07.003048107Z","ttl":100}';
  assert.is(normaliseBody(st, set, T), '{"expiration":<exp#1 now+100s>,"ttl":<ttl>}');
  assert.is(normaliseBody(st, '{"expiration":"2026-11-23T16:07:07.003048107Z"}', T), '{"expiration":<exp#1 now+100s>}');
  assert.match(normaliseBody(st, '{"expiration":"2026-11-23T16:07:07.003048107Z","ttl":7}', T), "<ttl 7 NOT in");
});

s("normaliseBody() reads the ttl asked for from the send time, however late the reply comes", () => {
  const slow = { sentAtMs: T.sentAtMs, recvAtMs: T.sentAtMs + 1_500 };
  const st = newState(1, "http://c", "http://p");
  assert.is(normaliseBody(st, '{"expiration":"2026-11-23T16:07:07.003048107Z","ttl":99}', slow), '{"expiration":<exp#1 now+100s>,"ttl":<ttl>}');
  assert.is(normaliseBody(st, '{"expiration":"2026-11-23T16:05:27.003048107Z"}', slow), '{"expiration":<exp#2 now>}');
  assert.is(normaliseBody(st, '{"expiration":"2026-11-23T16:05:25.5Z"}', slow), '{"expiration":<exp#3 past>}');
});

s("normaliseBody() drops a negative ttl the node can have reached (a late reaper), not one it cannot", () => {
  // An expire event received 1.2 s after the node's expiration: etcd's reaper ran a second late.
  const late = { sentAtMs: Date.UTC(2026, 10, 23, 16, 5, 28), recvAtMs: Date.UTC(2026, 10, 23, 16, 5, 28, 200) };
  const st = newState(1, "http://c", "http://p");
  const withTtl = '{"prevNode":{"key":"/z","expiration":"2026-11-23T16:05:27.003048107Z","ttl":-1,"modifiedIndex":4}}';
  const without = '{"prevNode":{"key":"/z","expiration":"2026-11-23T16:05:27.003048107Z","modifiedIndex":4}}';
  assert.is(normaliseBody(st, withTtl, late), normaliseBody(st, without, late));
  assert.match(normaliseBody(st, withTtl.replace('"ttl":-1', '"ttl":-2'), late), "<ttl -2 NOT in");
  assert.match(normaliseBody(st, withTtl.replace('"ttl":-1', '"ttl":0'), late), '"ttl":<ttl>');
  // Received 0.5 s after the expiration: -1 cannot have been reached yet.
  const early = { sentAtMs: Date.UTC(2026, 10, 23, 16, 5, 27, 400), recvAtMs: Date.UTC(2026, 10, 23, 16, 5, 27, 500) };
  assert.match(normaliseBody(newState(1, "http://c", "http://p"), withTtl, early), "<ttl -1 NOT in");
});

s("normaliseBody() flags an expiration that is not Go's trimmed RFC3339Nano", () => {
  const st = newState(1, "http://c", "http://p");
  assert.match(normaliseBody(st, '{"expiration":"2026-11-23T16:07:07.100Z"}', T), "BAD expiration format");
  assert.match(normaliseBody(st, '{"expiration":"2026-11-23T16:07:07+00:00"}', T), "BAD expiration format");
});

s("normaliseHead() masks ids and the raft headers but not a zero-padded id", () => {
  const st = newState(10, "http://c", "http://p");
  const h = (id: string) => normaliseHead(st, { status: 200, reason: "OK", framing: "length", headers: [["x-etcd-cluster-id", id], ["x-etcd-index", "12"], ["x-raft-index", "15"], ["x-raft-term", "2"]] });
  assert.equal(h("48276a8f75b6a87"), ["status: 200 OK", "framing: length", "x-etcd-cluster-id: <id#1>", "x-etcd-index: B+2", "x-raft-index: <present>", "x-raft-term: <present>"]);
  assert.match(h("048276a8f75b6a87").join("\n"), "BAD id format");
});

s("normaliseHead() shows an unexpected header and ignores Connection", () => {
  const st = newState(1, "http://c", "http://p");
  const lines = normaliseHead(st, { status: 200, reason: "OK", framing: "length", headers: [["vary", "Accept"], ["connection", "keep-alive"]] });
  assert.equal(lines, ["status: 200 OK", "framing: length", "vary: Accept (unexpected header)"]);
});

s("framingLine() accepts either framing only for bodies of 2 KB or more", () => {
  const h = { status: 200, reason: "OK", framing: "chunked" as const, headers: [] };
  assert.is(framingLine(h, 100), "framing: chunked");
  assert.is(framingLine(h, 4096), "framing: length or chunked (body >= 2 KB)");
});

s("maskTransport() masks only the framing and drops Date", () => {
  const lines = ["status: 400 Bad Request", "framing: length", "content-type: text/plain; charset=utf-8", "date: <present>"];
  assert.equal(maskTransport(lines), ["status: 400 Bad Request", "framing: <masked>", "content-type: text/plain; charset=utf-8"]);
});

s.run();
