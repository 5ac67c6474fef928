// The one table of every error the HTTP surface answers with: its HTTP status and its body in the
// protocol's own format. etcd v2 keys errors are {"errorCode","message","cause","index"}+"\n"
// (codes and messages from projections/kv/errors.ts); members/stats errors are {"message"};
// routing errors are Go net/http's plain text. Node failures (NodeError) become etcd's 300
// "Raft Internal Error" with a cause worded like etcd's Go error text.
// Must not build headers (http.ts and the protocols do) and must not catch broken invariants.

import { NodeError, type NodeErrorCode } from "./deps.ts";
import { Ecode, kvErrorHttpStatus, kvErrorMessages } from "../projections/mod.ts";
import type { KvError } from "../projections/mod.ts";
import { etcdErrorJson, messageJson, stripKeysPrefix } from "./etcd_v2/json.ts";

/** An error answer: status, body, and (for keys errors) the X-Etcd-Index it carries. */
export interface ErrorReply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
  /** X-Etcd-Index for a keys error: the body's index. */
  readonly etcdIndex: number;
  /** Go's http.Error adds X-Content-Type-Options: nosniff. */
  readonly nosniff?: boolean;
}

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain; charset=utf-8";

/** A store error from the kv projection: the "/1" store prefix is trimmed from the cause, as v2http does. */
export function kvErrorReply(err: KvError): ErrorReply {
  const cause = err.cause === undefined ? undefined : stripKeysPrefix(err.cause);
  return etcdReply(err.errorCode, cause, err.index);
}

/** A request-validation error (2xx codes, 110): index 0 in the body and in X-Etcd-Index. */
export function requestErrorReply(code: number, cause: string): ErrorReply {
  return etcdReply(code, cause, 0);
}

function etcdReply(code: number, cause: string | undefined, index: number): ErrorReply {
  return {
    status: kvErrorHttpStatus(code),
    body: etcdErrorJson(code, kvErrorMessages.get(code) ?? "", cause, index),
    contentType: JSON_TYPE,
    etcdIndex: index,
  };
}

/** etcd's Go error text for each node failure, so clients see the 300 causes they know. */
const nodeErrorCauses: Readonly<Record<NodeErrorCode, string>> = {
  "node/timeout": "etcdserver: request timed out",
  "node/no-leader": "etcdserver: no leader",
  "node/busy": "etcdserver: too many requests",
  "node/stopped": "etcdserver: server stopped",
  "node/disk-full": "etcdserver: disk is full: no space left on device (the write was not made durable)",
  "node/storage": "etcdserver: storage failure",
  "node/member-not-found": "membership: member not found",
  "node/member-removed": "membership: ID removed",
  "node/member-change-pending": "etcdserver: a membership change is already in progress; retry once it is applied",
};

/** The 300 cause for a node failure; storage failures append the node's message. */
export function nodeErrorCause(err: NodeError): string {
  const base = nodeErrorCauses[err.code] ?? "etcdserver: " + err.message;
  return err.code === "node/storage" && err.message !== "" ? base + ": " + err.message : base;
}

/**
 * A rejected propose()/linearizableRead() as a keys error: NodeError -> 300 Raft Internal Error,
 * index 0, HTTP 500 (node-etcd and the Go client then try another member). Anything else is a
 * bug and is rethrown, never turned into a reply.
 */
export function nodeFailureReply(err: unknown): ErrorReply {
  if (err instanceof NodeError) return etcdReply(Ecode.RaftInternal, nodeErrorCause(err), 0);
  throw err;
}

/**
 * A body over limits.requestBodyBytesMax: what Go's ParseForm says past its form size limit
 * (210 Invalid POST form, cause "http: POST too large"), answered without reading the body.
 */
export function bodyTooLargeReply(): ErrorReply {
  return requestErrorReply(Ecode.InvalidForm, "http: POST too large");
}

/**
 * A value over deps.valueBytesMax. etcd 3.4's v2 path has no value limit of its own; its v3
 * limit (--max-request-bytes, 1.5 MiB) says "etcdserver: request is too large". We answer that
 * text as a 210 Invalid POST form (HTTP 400): a client error, so clients do not retry it on
 * another member as they would a 5xx.
 */
export function valueTooLargeReply(): ErrorReply {
  return requestErrorReply(Ecode.InvalidForm, "etcdserver: request is too large");
}

/** A {"message"} error of the members/stats endpoints (httptypes.HTTPError; no newline). */
export function messageReply(status: number, message: string): ErrorReply {
  return { status, body: messageJson(message), contentType: JSON_TYPE, etcdIndex: 0 };
}

/** The non-keys errors, by name, with etcd's status and message. */
export const apiErrors = Object.freeze({
  notLeader: () => messageReply(403, "not current leader"),
  duringElection: () => messageReply(503, "During election"),
  memberPathNotFound: () => messageReply(404, "Not found"),
  noSuchMember: (id: string) => messageReply(404, `No such member: ${id}`),
  badMembersContentType: (ct: string) => messageReply(415, `Bad Content-Type ${ct}, accept application/json`),
  /** A member-create body etcd cannot read: Go's JSON or URL error text (member_request.ts). */
  badMemberRequest: (message: string) => messageReply(400, message),
  peerUrlExists: () => messageReply(409, "membership: peerURL exists"),
});

/** A failed membership change, as etcd's v2 members handler writes it (httptypes.HTTPError). */
export function memberFailureReply(err: unknown, id: string): ErrorReply {
  if (!(err instanceof NodeError)) throw err;
  switch (err.code) {
    case "node/member-not-found":
      return apiErrors.noSuchMember(id);
    case "node/member-removed":
      return messageReply(410, "membership: ID removed");
    default:
      return messageReply(500, nodeErrorCause(err));
  }
}

/** Go's http.NotFound. */
export function notFoundReply(): ErrorReply {
  return { status: 404, body: "404 page not found\n", contentType: TEXT_TYPE, etcdIndex: 0, nosniff: true };
}

/** Go's http.Error(w, "Method Not Allowed", 405); the caller adds Allow. */
export function methodNotAllowedReply(): ErrorReply {
  return { status: 405, body: "Method Not Allowed\n", contentType: TEXT_TYPE, etcdIndex: 0, nosniff: true };
}

/** A request path Go's server cannot parse (a bad %-escape): its bare "400 Bad Request". */
export function badRequestPathReply(): ErrorReply {
  return { status: 400, body: "400 Bad Request", contentType: TEXT_TYPE, etcdIndex: 0 };
}

/** /health when unhealthy: http.Error(w, `{"health":"false"}`, 503). */
export function unhealthyReply(): ErrorReply {
  return { status: 503, body: '{"health":"false"}\n', contentType: TEXT_TYPE, etcdIndex: 0, nosniff: true };
}
