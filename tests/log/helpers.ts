// Raft-level test helpers in the style of etcd-io/raft's raft_test.go: a Raft over a
// MemoryStorage, readMessages() that delivers self-acks like advance() would, and a tiny
// synchronous network of Rafts. Must not hold assertions.

import type { NodeId } from "../../internal/brand.ts";
import { createPrng } from "../../internal/prng.ts";
import { MemoryStorage } from "../../log/memory_storage.ts";
import { Raft, type RaftConfig } from "../../log/raft.ts";
import { type Entry, EntryType, type Message, MessageType } from "../../log/types.ts";

export function storageWith(voters: NodeId[], ents: Array<[number, number]> = []): MemoryStorage {
  const s = new MemoryStorage();
  s.setConfState({ voters, learners: [] });
  s.append(ents.map(([term, index]) => entry(term, index)));
  return s;
}

export function entry(term: number, index: number, data = ""): Entry {
  return { term, index, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

export function newTestRaft(
  id: NodeId,
  election: number,
  heartbeat: number,
  storage: MemoryStorage,
  opts: Partial<RaftConfig> = {},
): Raft {
  return new Raft({
    id, electionTick: election, heartbeatTick: heartbeat, storage, prng: createPrng(parseInt(id, 16)),
    checkQuorum: false, preVote: false, ...opts,
  });
}

/** Steps self-addressed acks and votes (what advance() does) and returns the outgoing messages. */
export function readMessages(r: Raft): Message[] {
  for (;;) {
    const after = r.msgsAfterAppend;
    if (after.length === 0) break;
    r.msgsAfterAppend = [];
    for (const m of after) {
      if (m.to === r.id) r.step(m);
      else r.msgs.push(m);
    }
  }
  const out = r.msgs;
  r.msgs = [];
  return out;
}

export function msg(p: Partial<Message> & { type: Message["type"] }): Message {
  return {
    to: "", from: "", term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
    snapshot: undefined, context: undefined, ...p,
  };
}

export function prop(to: NodeId, data = "somedata"): Message {
  return msg({ type: MessageType.Prop, from: to, to, entries: [entry(0, 0, data)] });
}

/** Delivers messages among `peers` until none are left; a missing or null peer drops them. */
export function deliverAll(peers: Map<NodeId, Raft | null>, first: Message[]): void {
  const q = [...first];
  for (let i = 0; i < q.length; i++) {
    const m = q[i];
    const p = peers.get(m.to);
    if (p == null) continue;
    p.step(m);
    q.push(...readMessages(p));
  }
}

/** Steps a local message at `r` and delivers everything that follows. */
export function sendLocal(peers: Map<NodeId, Raft | null>, r: Raft, m: Message): void {
  r.step(m);
  deliverAll(peers, readMessages(r));
}

export function summarize(ms: readonly Message[]): string[] {
  return ms.map((m) =>
    `${m.type} ${m.from}->${m.to} t${m.term} lt${m.logTerm} i${m.index} c${m.commit}` +
    (m.entries.length ? ` e[${m.entries.map((e) => `${e.term}/${e.index}`).join(",")}]` : "") +
    (m.reject ? ` reject hint${m.rejectHint}` : "")
  ).sort();
}

export function logTerms(r: Raft): string {
  return r.raftLog.allEntries().map((e) => `${e.term}/${e.index}`).join(" ");
}
