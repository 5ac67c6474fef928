// Hostile but well-formed peer messages against a real RawNode: a 3-member in-memory cluster
// (tests/log/network.ts) in some state (leader, follower, candidate; with or without a snapshot),
// then a member is stepped with random messages addressed to it that pass decodeMessages, each
// followed by a Ready cycle, ticks and sometimes a round of the real network. Shared by
// message_codec_hostile.test.ts (quick) and message_codec_fuzz.abuse.ts (long). The property:
// no AssertionError anywhere (the member would stop). Must not hold uvu suites.

import fc from "fast-check";
import { AssertionError } from "../../internal/assert.ts";
import { decodeMessages, encodeMessages } from "../../node/message_codec.ts";
import { refusePeerMessage } from "../../log/message_guard.ts";
import { EntryType, type Entry, type Message, MessageType } from "../../log/types.ts";
import { Network, text } from "../log/network.ts";
import { WIRE_TYPES } from "./message_codec_arb.ts";

export interface Scenario {
  /** Which member leads before the attack ("" = nobody: elections are left undone). */
  leader: string;
  /** The member attacked. */
  target: string;
  proposals: number;
  /** Compact the target's storage after the setup (so old indexes are gone). */
  compact: boolean;
  steps: Array<{ msg: Partial<Message> & { type: MessageType }; ticks: number; network: boolean }>;
}

/** A message close to the target's state, so that it reaches deep paths: terms and indexes near its own. */
function arbNear(): fc.Arbitrary<Partial<Message> & { type: MessageType }> {
  const small = fc.oneof(fc.nat(12), fc.constantFrom(0, 1, 2, 100, 2 ** 40));
  return fc.record({
    type: fc.constantFrom(...WIRE_TYPES),
    from: fc.constantFrom("1", "2", "3", "9"),
    term: small,
    logTerm: small,
    index: small,
    commit: small,
    reject: fc.boolean(),
    rejectHint: small,
    nEntries: fc.nat(3),
    entryType: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
    snap: fc.record({ index: small, term: small, voters: fc.subarray(["1", "2", "3", "9"]), learners: fc.subarray(["4", "5"]) }),
    context: fc.option(fc.constantFrom(text("CampaignTransfer"), text("r1"), new Uint8Array(0)), { nil: undefined }),
  }).map((r) => {
    const entries: Entry[] = [];
    for (let i = 0; i < r.nEntries; i++) {
      entries.push({ term: r.logTerm + (i > 0 ? 1 : 0), index: r.index + 1 + i, type: r.entryType, data: text(`e${i}`) });
    }
    return {
      type: r.type, from: r.from, term: r.term, logTerm: r.logTerm, index: r.index, commit: r.commit, reject: r.reject,
      rejectHint: r.rejectHint, entries,
      snapshot: {
        metadata: { index: r.snap.index, term: r.snap.term, confState: { voters: r.snap.voters, learners: r.snap.learners } },
        data: new Uint8Array(0),
      },
      context: r.context,
    };
  });
}

export const arbScenario: fc.Arbitrary<Scenario> = fc.record({
  leader: fc.constantFrom("", "1", "2"),
  target: fc.constantFrom("1", "2", "3"),
  proposals: fc.nat(4),
  compact: fc.boolean(),
  steps: fc.array(fc.record({ msg: arbNear(), ticks: fc.nat(3), network: fc.boolean() }), { minLength: 1, maxLength: 12 }),
});

/**
 * The message as the wire would deliver it to `to` (encoded, then decoded and validated), or
 * undefined when decodeMessages refuses it (the peer port would drop the connection).
 */
function throughWire(p: Partial<Message> & { type: MessageType }, to: string): Message | undefined {
  const m: Message = {
    to, from: "2", term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
    snapshot: undefined, context: undefined, ...p,
  };
  // What a real sender's shape would be: snapshots only on MsgSnap, term 0 only on relayed requests.
  const shaped: Message = { ...m, snapshot: m.type === MessageType.Snap ? m.snapshot : undefined };
  try {
    return decodeMessages(encodeMessages([shaped]).subarray(4))[0];
  } catch {
    return undefined;
  }
}

/** What node/node.ts #onPeerMessages does with a decoded message (kept in step with it). */
export type Deliver = (net: Network, target: string, m: Message) => void;

/** As node.ts did before issue 12: only the addressee check. */
export const stepUnguarded: Deliver = (net, target, m) => {
  if (m.to !== target) return;
  net.raw(target).step(m);
};

/** As node.ts does now: the addressee check, then log/message_guard.ts. */
export const stepLikeNode: Deliver = (net, target, m) => {
  if (m.to !== target) return;
  if (refusePeerMessage(net.raw(target), m) !== undefined) return;
  net.raw(target).step(m);
};

/** Network.stabilize, but every member takes its peers' messages through `deliver` (as every member runs node.ts). */
function stabilize(net: Network, deliver: Deliver): void {
  for (let i = 0; i < 200; i++) {
    let moved = false;
    for (const id of net.members.keys()) while (net.processReady(id)) moved = true;
    const batch = net.queue;
    net.queue = [];
    for (const m of batch) {
      if (!net.members.has(m.to)) continue;
      deliver(net, m.to, m);
      moved = true;
    }
    if (!moved) return;
  }
}

/** Runs one scenario; returns the AssertionError it provoked (with the message that did), if any. */
export function runScenario(sc: Scenario, deliver: Deliver = stepLikeNode): { error: AssertionError; msg?: Message } | undefined {
  const net = new Network(["1", "2", "3"], { checkQuorum: true, preVote: true });
  let current: Message | undefined;
  try {
    if (sc.leader !== "") {
      net.campaign(sc.leader);
      for (let i = 0; i < sc.proposals; i++) net.propose(sc.leader, `p${i}`);
    }
    net.stabilize();
    if (sc.compact) {
      const st = net.m(sc.target).storage;
      const applied = net.raw(sc.target).status().applied;
      if (applied > st.firstIndex()) {
        st.createSnapshot(applied, undefined, text("snap"));
        st.compact(applied);
      }
    }
    for (const step of sc.steps) {
      const m = throughWire(step.msg, sc.target);
      current = m;
      if (m !== undefined) deliver(net, sc.target, m);
      while (net.processReady(sc.target)) { /* persist, send, apply */ }
      net.tick(sc.target, step.ticks);
      while (net.processReady(sc.target)) { /* again after ticks */ }
      current = undefined;
      if (step.network) stabilize(net, deliver);
      else net.queue = [];
    }
  } catch (e) {
    if (e instanceof AssertionError) return { error: e, msg: current };
    if (e instanceof Error && e.message === "network did not stabilize") return undefined;
    throw e;
  }
  return undefined;
}
