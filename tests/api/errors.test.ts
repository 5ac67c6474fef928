// Unit tests for api/errors.ts: etcd's code -> HTTP status table, the "/1" cause trim, node
// failures as 300 Raft Internal Error, and that a non-NodeError is never turned into a reply.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { NodeError, type NodeErrorCode } from "../../api/mod.ts";
import { kvErrorReply, memberFailureReply, nodeFailureReply, requestErrorReply, valueTooLargeReply } from "../../api/errors.ts";

const s = suite("api/errors");

s("kvErrorReply() maps codes to etcd's statuses and trims /1 from the cause", () => {
  const cases: [number, number][] = [[100, 404], [101, 412], [105, 412], [102, 403], [108, 403], [110, 401], [300, 500], [301, 500], [104, 400], [107, 400], [401, 400], [209, 400]];
  for (const [code, status] of cases) {
    assert.is(kvErrorReply({ errorCode: code, message: "m", cause: "/1/k", index: 7 }).status, status, String(code));
  }
  const r = kvErrorReply({ errorCode: 100, message: "Key not found", cause: "/1/foo/bar", index: 9 });
  assert.is(r.body, '{"errorCode":100,"message":"Key not found","cause":"/foo/bar","index":9}\n');
  assert.is(r.etcdIndex, 9);
  // The root's internal path trims to "", so the cause is omitted as Go's omitempty does.
  assert.is(kvErrorReply({ errorCode: 102, message: "Not a file", cause: "/1", index: 3 }).body, '{"errorCode":102,"message":"Not a file","index":3}\n');
});

s("requestErrorReply() uses etcd's message for the code and index 0", () => {
  const r = requestErrorReply(202, 'invalid value for "ttl"');
  assert.is(r.status, 400);
  assert.is(r.etcdIndex, 0);
  assert.is(r.body, '{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \\"ttl\\"","index":0}\n');
  assert.is(valueTooLargeReply().body, '{"errorCode":210,"message":"Invalid POST form","cause":"etcdserver: request is too large","index":0}\n');
});

s("nodeFailureReply() gives 300 Raft Internal Error, HTTP 500, for every NodeError code", () => {
  const causes: Record<NodeErrorCode, string> = {
    "node/timeout": "etcdserver: request timed out",
    "node/no-leader": "etcdserver: no leader",
    "node/busy": "etcdserver: too many requests",
    "node/stopped": "etcdserver: server stopped",
    "node/disk-full": "etcdserver: disk is full: no space left on device (the write was not made durable)",
    "node/storage": "etcdserver: storage failure: SQLITE_IOERR",
    "node/member-not-found": "membership: member not found",
    "node/member-removed": "membership: ID removed",
    "node/member-change-pending": "etcdserver: a membership change is already in progress; retry once it is applied",
  };
  for (const [code, cause] of Object.entries(causes)) {
    const r = nodeFailureReply(new NodeError(code as NodeErrorCode, code === "node/storage" ? "SQLITE_IOERR" : ""));
    assert.is(r.status, 500);
    assert.is(r.body, `{"errorCode":300,"message":"Raft Internal Error","cause":"${cause}","index":0}\n`);
  }
});

s("memberFailureReply(): 404 for an unknown id, 410 for a removed one, 500 with etcd's text otherwise", () => {
  let r = memberFailureReply(new NodeError("node/member-not-found", ""), "abc");
  assert.is(r.status, 404);
  assert.is(r.body, '{"message":"No such member: abc"}');
  r = memberFailureReply(new NodeError("node/member-removed", ""), "abc");
  assert.is(r.status, 410);
  assert.is(r.body, '{"message":"membership: ID removed"}');
  r = memberFailureReply(new NodeError("node/timeout", ""), "abc");
  assert.is(r.status, 500);
  assert.is(r.body, '{"message":"etcdserver: request timed out"}');
  assert.throws(() => memberFailureReply(new TypeError("bug"), "x"), /bug/);
});

s("nodeFailureReply() rethrows anything that is not a NodeError", () => {
  assert.throws(() => nodeFailureReply(new TypeError("bug")), /bug/);
});

s.run();
