// Tests for bench/http1.ts: the PUT the open-loop generator sends, and framing responses.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatPut, frameResponse } from "../../bench/http1.ts";

const s = suite("bench/http1");

s("formatPut() sends a form body with its length", () => {
  assert.is(
    formatPut("/v2/keys/a", "127.0.0.1:28111", "value=x"),
    "PUT /v2/keys/a HTTP/1.1\r\nHost: 127.0.0.1:28111\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nvalue=x",
  );
});

const etcdAnswer =
  'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Etcd-Index: 8\r\nContent-Length: 13\r\n\r\n{"action":1}\n';

s("frameResponse() frames a Content-Length answer, and says when it is not all there", () => {
  assert.equal(frameResponse(etcdAnswer), {
    kind: "response",
    status: 201,
    length: etcdAnswer.length,
    close: false,
  });
  assert.equal(frameResponse(etcdAnswer + "HTTP/1.1 200"), {
    kind: "response",
    status: 201,
    length: etcdAnswer.length,
    close: false,
  });
  for (const cut of [5, 40, etcdAnswer.length - 1]) {
    assert.equal(frameResponse(etcdAnswer.slice(0, cut)), { kind: "partial" });
  }
  assert.equal(frameResponse(""), { kind: "partial" });
});

s("frameResponse() frames a chunked answer, with or without trailers", () => {
  const chunked =
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n";
  assert.equal(frameResponse(chunked + "junk"), {
    kind: "response",
    status: 200,
    length: chunked.length,
    close: false,
  });
  for (const cut of [50, chunked.length - 3, chunked.length - 1]) {
    assert.equal(frameResponse(chunked.slice(0, cut)), { kind: "partial" });
  }
  const trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: 1\r\n\r\n";
  assert.equal(frameResponse(trailers), {
    kind: "response",
    status: 200,
    length: trailers.length,
    close: false,
  });
});

s("frameResponse() sees Connection: close and HTTP/1.0", () => {
  const close = "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  assert.equal(frameResponse(close), { kind: "response", status: 500, length: close.length, close: true });
  const old = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
  assert.is((frameResponse(old) as { close: boolean }).close, true);
});

s("frameResponse() answers without a body, and refuses what it cannot frame", () => {
  const noBody = "HTTP/1.1 204 No Content\r\n\r\n";
  assert.equal(frameResponse(noBody), { kind: "response", status: 204, length: noBody.length, close: false });
  assert.is(frameResponse("HTTP/1.1 200 OK\r\n\r\nuntil close").kind, "error");
  assert.is(frameResponse("SSH-2.0-x\r\n\r\n").kind, "error");
  assert.is(frameResponse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").kind, "error");
  assert.is(frameResponse("HTTP/1.1 200 OK\r\n" + "a".repeat(70_000)).kind, "error");
});

s.run();
