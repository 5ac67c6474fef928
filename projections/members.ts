// The cluster's membership as a projection: who the members are (id, name, peer and client URLs)
// and which ids were removed. Membership changes travel as Raft conf change entries; the member
// applying one turns its context into a member/* command (memberCommandOfConfChange) and folds it
// here, so membership is in every snapshot and a log replay rebuilds it. Names and client URLs
// arrive later in member/attributes entries, which each member proposes once it runs (as etcd
// publishes them). Must not do I/O, and must not decide whether a change is allowed (node/ and
// the Raft core's one-change-at-a-time guard do).

import { assert } from "../internal/assert.ts";
import type { NodeId } from "../internal/brand.ts";
import { decodeCbor, encodeCbor } from "../log/codec.ts";
import { type ConfChange, ConfChangeType } from "../log/types.ts";
import type { Projection } from "./projection.ts";

export interface Member {
  readonly id: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

export interface MembersState {
  readonly members: Map<NodeId, Member>;
  readonly removed: Set<NodeId>;
}

export interface MemberAdd {
  readonly type: "member/add";
  readonly id: NodeId;
  readonly name: string;
  readonly peerURLs: readonly string[];
}
export interface MemberRemove {
  readonly type: "member/remove";
  readonly id: NodeId;
}
export interface MemberUpdate {
  readonly type: "member/update";
  readonly id: NodeId;
  readonly peerURLs: readonly string[];
}
export interface MemberAttributes {
  readonly type: "member/attributes";
  readonly id: NodeId;
  readonly name: string;
  readonly clientURLs: readonly string[];
}
export type MemberCommand = MemberAdd | MemberRemove | MemberUpdate | MemberAttributes;

export interface MemberResult {
  readonly type: "member/result";
  readonly ok: boolean;
  readonly member?: Member;
}

/** What a conf change entry's context carries: the member as the proposer saw it. */
export interface ConfChangeContext {
  readonly name: string;
  readonly peerURLs: readonly string[];
}

export function encodeConfChangeContext(c: ConfChangeContext): Uint8Array {
  return encodeCbor([c.name, [...c.peerURLs]]);
}

function decodeContext(b: Uint8Array): ConfChangeContext {
  if (b.length === 0) return { name: "", peerURLs: [] };
  const v = decodeCbor<unknown>(b);
  assert(Array.isArray(v) && v.length === 2 && Array.isArray(v[1]), "undecodable conf change context");
  return { name: String(v[0]), peerURLs: (v[1] as unknown[]).map(String) };
}

/** The member/* command a committed conf change stands for. */
export function memberCommandOfConfChange(cc: ConfChange): MemberCommand {
  const ctx = decodeContext(cc.context);
  switch (cc.type) {
    case ConfChangeType.AddNode:
    case ConfChangeType.AddLearnerNode:
      return { type: "member/add", id: cc.nodeId, name: ctx.name, peerURLs: ctx.peerURLs };
    case ConfChangeType.RemoveNode:
      return { type: "member/remove", id: cc.nodeId };
    case ConfChangeType.UpdateNode:
      return { type: "member/update", id: cc.nodeId, peerURLs: ctx.peerURLs };
  }
}

export const membersProjection: Projection<MembersState, MemberCommand, MemberResult> = {
  name: "members",
  version: 1,
  namespace: "member",
  initialState: () => ({ members: new Map(), removed: new Set() }),
  apply(s, c) {
    const cur = s.members.get(c.id);
    switch (c.type) {
      case "member/add": {
        if (s.removed.has(c.id)) return { type: "member/result", ok: false };
        // Re-adding keeps a known name and client URLs (a member restarted with the same id).
        const m: Member = { id: c.id, name: c.name || cur?.name || "", peerURLs: [...c.peerURLs], clientURLs: cur?.clientURLs ?? [] };
        s.members.set(c.id, m);
        return { type: "member/result", ok: true, member: m };
      }
      case "member/remove":
        s.members.delete(c.id);
        s.removed.add(c.id);
        return { type: "member/result", ok: cur !== undefined };
      case "member/update": {
        if (!cur) return { type: "member/result", ok: false };
        const m = { ...cur, peerURLs: [...c.peerURLs] };
        s.members.set(c.id, m);
        return { type: "member/result", ok: true, member: m };
      }
      case "member/attributes": {
        if (!cur) return { type: "member/result", ok: false };
        const m = { ...cur, name: c.name, clientURLs: [...c.clientURLs] };
        s.members.set(c.id, m);
        return { type: "member/result", ok: true, member: m };
      }
    }
  },
  encodeState: (s) => [[...s.members.values()].map((m) => [m.id, m.name, [...m.peerURLs], [...m.clientURLs]]), [...s.removed]],
  decodeState(data) {
    const [ms, removed] = data as [[string, string, string[], string[]][], string[]];
    return {
      members: new Map(ms.map(([id, name, peerURLs, clientURLs]) => [id, { id, name, peerURLs, clientURLs }])),
      removed: new Set(removed),
    };
  },
};
