// The last check on a peer's message before RawNode.step, for what decodeMessages cannot see
// because it depends on this member's state: a well-formed message that would trip one of the
// core's asserts (which guard real invariants and stop the member) is refused here instead. Pure:
// reads the core's state, never changes it. Must not judge anything a correct peer may send:
// refusing a message is the same as losing it, which Raft tolerates, so each rule only has to be
// safe for liveness (see each one for why a correct peer never trips it).

import type { RawNode } from "./raw_node.ts";
import { type Message, MessageType, StateType } from "./types.ts";

/**
 * Why `m` (decoded by decodeMessages and addressed to this member) must not be stepped, or
 * undefined to step it. The caller drops a refused message and keeps the connection.
 */
export function refusePeerMessage(raw: RawNode, m: Message): string | undefined {
  const r = raw.raft;
  switch (m.type) {
    case MessageType.Heartbeat:
      // A leader sends commit = min(follower's match, its commit), and match is durable here, so
      // commit beyond our last index means a lost log or a forged heartbeat. raft_log.ts commitTo
      // asserts on it (etcd panics); refused, the leader's appends find and repair a lost log.
      if (m.term >= r.term && m.commit > r.raftLog.lastIndex()) {
        return `heartbeat commit ${m.commit} beyond last index ${r.raftLog.lastIndex()}`;
      }
      return undefined;
    case MessageType.AppResp:
      // A follower acknowledges only entries this leader sent it, in this term: never beyond our
      // last index. Taken, it sets next past our log and the leader asserts for a snapshot it may
      // not have (etcd panics the same way).
      if (!m.reject && m.term === r.term && r.state === StateType.Leader && m.index > r.raftLog.lastIndex()) {
        return `append acknowledged at ${m.index} beyond last index ${r.raftLog.lastIndex()}`;
      }
      return undefined;
    case MessageType.ReadIndexResp:
      // Only the leader we forwarded a read to answers it, in its term; anyone else could make a
      // read be served at a stale index. (A forger with the leader's id still can: peer TLS.)
      if (m.from !== r.lead || m.term !== r.term) return `read index answer from ${m.from}, not the leader ${r.lead || "(none)"}`;
      return undefined;
    default:
      return undefined;
  }
}
