// The cluster's membership as a projection: who the members are (id, name, peer and client URLs)
// and which ids were removed. Membership changes travel as Raft conf change entries; the applier
// turns one into a MembershipChange (membershipChangeOf) and every projection folds it, this one
// first, so membership is in every snapshot and a log replay rebuilds it. Names and client URLs
// arrive later in member/attributes entries, which each member proposes once it runs (as etcd
// publishes them). Must not do I/O, and must not decide whether a change is allowed (node/ and
// the Raft core's one-change-at-a-time guard do).

import { assert } from "../../internal/mod.ts";
import type { NodeId } from "../../internal/mod.ts";
import { decodeCbor, encodeCbor } from "../../internal/mod.ts";
import { type ConfChange, ConfChangeType } from "../../log/mod.ts";
import type { MembershipChange, Projection } from "../projection.ts";

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
/**
 * member/attributes is the only one proposed as a normal entry; add, remove and update are what a
 * conf change entry stands for (membershipChangeOf), folded through the same apply.
 */
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

/** The membership change a committed conf change entry stands for. */
export function membershipChangeOf(cc: ConfChange): MembershipChange {
  const ctx = decodeContext(cc.context);
  switch (cc.type) {
    case ConfChangeType.AddNode:
    case ConfChangeType.AddLearnerNode:
      return { type: "add", id: cc.nodeId, name: ctx.name, peerURLs: ctx.peerURLs };
    case ConfChangeType.RemoveNode:
      return { type: "remove", id: cc.nodeId, name: "", peerURLs: [] };
    case ConfChangeType.UpdateNode:
      return { type: "update", id: cc.nodeId, name: ctx.name, peerURLs: ctx.peerURLs };
  }
}

/** Whether a conf change context decodes as membershipChangeOf reads it (the leader checks forwarded ones). */
export function confChangeContextOk(ctx: Uint8Array): boolean {
  if (ctx.length === 0) return true;
  try {
    const v = decodeCbor<unknown>(ctx);
    return Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && Array.isArray(v[1]) && v[1].every((x) => typeof x === "string");
  } catch {
    return false;
  }
}

function commandOfChange(c: MembershipChange): MemberCommand {
  switch (c.type) {
    case "add":
      return { type: "member/add", id: c.id, name: c.name, peerURLs: c.peerURLs };
    case "remove":
      return { type: "member/remove", id: c.id };
    case "update":
      return { type: "member/update", id: c.id, peerURLs: c.peerURLs };
  }
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isId = (v: unknown): boolean => isStr(v) && /^[0-9a-f]{1,16}$/.test(v);
const strings = (v: unknown): boolean => Array.isArray(v) && v.every(isStr);

function apply(s: MembersState, c: MemberCommand): MemberResult {
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
}

export const membersProjection: Projection<MembersState, MemberCommand, MemberResult> = Object.freeze({
  name: "members",
  namespace: "member",
  version: 1,
  initialState: (): MembersState => ({ members: new Map(), removed: new Set() }),
  apply,
  encodeState: (s: MembersState) => [[...s.members.values()].map((m) => [m.id, m.name, [...m.peerURLs], [...m.clientURLs]]), [...s.removed]],
  decodeState(data: unknown): MembersState {
    const [ms, removed] = data as [[string, string, string[], string[]][], string[]];
    return {
      members: new Map(ms.map(([id, name, peerURLs, clientURLs]) => [id, { id, name, peerURLs, clientURLs }])),
      removed: new Set(removed),
    };
  },
  // The object form ([type, command]): member/attributes is rare, and logs already hold this form.
  commandToWire: (c: MemberCommand) => [c.type, c],
  commandFromWire(w: readonly unknown[]): MemberCommand {
    const o = w[1] as Record<string, unknown> | null;
    if (w.length !== 2 || o === null || typeof o !== "object" || o.type !== w[0]) throw new TypeError(`unknown member command wire form ${JSON.stringify(w[0])}`);
    return o as unknown as MemberCommand;
  },
  refuseFromPeer(c: MemberCommand): string | undefined {
    const o = c as unknown as Record<string, unknown>;
    // member/add, member/remove and member/update come from conf change entries, never from normal ones.
    if (o.type !== "member/attributes") return `a peer may not propose ${JSON.stringify(o.type)}`;
    return isId(o.id) && isStr(o.name) && strings(o.clientURLs) ? undefined : "malformed member/attributes";
  },
  bootstrap: () => [],
  due: () => [],
  onMembershipChange(s: MembersState, change: MembershipChange): void {
    apply(s, commandOfChange(change));
  },
});
