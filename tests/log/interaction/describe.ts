// Text forms of the Raft core's values for the interaction scripts, after etcd-io/raft's util.go
// (DescribeReady, DescribeMessage, DescribeEntry, ...) and tracker's Progress.String, so that our
// golden files read like etcd's and can be compared with them line by line. Ids print as etcd
// prints them: hex (%x) in messages and logs, decimal (%d) where etcd uses %d (Lead, status).
// Must not change any state: it only reads.

import type { NodeId } from "../../../internal/brand.ts";
import { decodeConfChange } from "../../../log/conf_change.ts";
import type { Progress } from "../../../log/progress.ts";
import type { ProgressTracker } from "../../../log/tracker.ts";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type Ready,
  type Snapshot,
  type SoftState,
} from "../../../log/types.ts";

/** etcd's %x of a node id: our ids are already lowercase hex; none is 0. */
export function hex(id: NodeId): string {
  return id === "" ? "0" : id;
}

/** etcd's %d of a node id. */
export function dec(id: NodeId): string {
  return id === "" ? "0" : BigInt("0x" + id).toString(10);
}

/** Go's %q of a byte string (ASCII; other bytes as \xNN). */
export function goQuote(data: Uint8Array): string {
  let s = '"';
  for (const b of data) {
    if (b === 0x22) s += '\\"';
    else if (b === 0x5c) s += "\\\\";
    else if (b === 0x07) s += "\\a";
    else if (b === 0x08) s += "\\b";
    else if (b === 0x0c) s += "\\f";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x0d) s += "\\r";
    else if (b === 0x09) s += "\\t";
    else if (b === 0x0b) s += "\\v";
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += "\\x" + b.toString(16).padStart(2, "0");
  }
  return s + '"';
}

const CC_LETTER: Record<ConfChangeType, string> = {
  [ConfChangeType.AddNode]: "v",
  [ConfChangeType.RemoveNode]: "r",
  [ConfChangeType.UpdateNode]: "u",
  [ConfChangeType.AddLearnerNode]: "l",
};

/** raftpb.ConfChangesToString: "v2" adds voter 2, "l4" learner 4, "r1" removes 1, "u3" updates 3. */
export function describeConfChange(cc: ConfChange): string {
  return CC_LETTER[cc.type] + hex(cc.nodeId);
}

/** The inverse of describeConfChange for one token of a propose-conf-change input. */
export function parseConfChange(tok: string): ConfChange | undefined {
  const m = /^([vlru])([0-9a-f]+)$/.exec(tok);
  if (m === null) return undefined;
  const type = m[1] === "v" ? ConfChangeType.AddNode : m[1] === "l" ? ConfChangeType.AddLearnerNode
    : m[1] === "r" ? ConfChangeType.RemoveNode : ConfChangeType.UpdateNode;
  return { type, nodeId: m[2], context: new Uint8Array(0) };
}

export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) return `${e.term}/${e.index} EntryConfChange ${describeConfChange(decodeConfChange(e.data))}`;
  return `${e.term}/${e.index} EntryNormal ${goQuote(e.data)}`;
}

export function describeEntries(ents: readonly Entry[]): string {
  return ents.map((e) => describeEntry(e) + "\n").join("");
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term}${hs.vote !== "" ? ` Vote:${dec(hs.vote)}` : ""} Commit:${hs.commit}`;
}

export function describeSoftState(ss: SoftState): string {
  return `Lead:${dec(ss.lead)} State:${ss.raftState}`;
}

const ids = (xs: readonly NodeId[]): string => xs.map(dec).join(" ");

/** Our ConfState has no joint fields, so this prints only what exists (etcd adds VotersOutgoing etc.). */
export function describeConfState(cs: ConfState): string {
  return `Voters:[${ids(cs.voters)}] Learners:[${ids(cs.learners)}]`;
}

export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)}`;
}

function target(id: NodeId): string {
  return id === "" ? "None" : hex(id);
}

export function describeMessage(m: Message, indent = ""): string {
  let s = `${indent}${target(m.from)}->${target(m.to)} ${m.type} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length === 1) {
    s += ` Entries:[${describeEntry(m.entries[0])}]`;
  } else if (m.entries.length > 1) {
    s += " Entries:[";
    for (const e of m.entries) s += `\n${indent}  ${describeEntry(e)}`;
    s += `\n${indent}]`;
  }
  if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) {
    s += `\n${indent}  Snapshot: ${describeSnapshot(m.snapshot)}`;
  }
  return s;
}

export function describeReady(rd: Ready): string {
  let buf = "";
  if (rd.softState !== undefined) buf += describeSoftState(rd.softState) + "\n";
  if (rd.hardState !== undefined) buf += `HardState ${describeHardState(rd.hardState)}\n`;
  if (rd.readStates.length > 0) {
    const rs = rd.readStates.map((r) => `{Index:${r.index} RequestCtx:${goQuote(r.requestCtx)}}`).join(" ");
    buf += `ReadStates [${rs}]\n`;
  }
  if (rd.entries.length > 0) buf += "Entries:\n" + describeEntries(rd.entries);
  if (rd.snapshot !== undefined) buf += `Snapshot ${describeSnapshot(rd.snapshot)}\n`;
  if (rd.committedEntries.length > 0) buf += "CommittedEntries:\n" + describeEntries(rd.committedEntries);
  if (rd.messages.length > 0) buf += "Messages:\n" + rd.messages.map((m) => describeMessage(m) + "\n").join("");
  return buf !== "" ? `Ready MustSync=${rd.mustSync}:\n${buf}` : "<empty Ready>";
}

/** tracker.Progress.String. */
export function describeProgress(pr: Progress): string {
  let s = `${pr.state} match=${pr.match} next=${pr.next}`;
  if (pr.isLearner) s += " learner";
  if (pr.isPaused()) s += " paused";
  if (pr.pendingSnapshot > 0) s += ` pendingSnap=${pr.pendingSnapshot}`;
  if (!pr.recentActive) s += " inactive";
  const n = pr.inflights.count;
  if (n > 0) s += ` inflight=${n}${pr.inflights.full() ? "[full]" : ""}`;
  return s;
}

/** tracker.ProgressMap.String: one line per member in id order. */
export function describeProgressMap(trk: ProgressTracker): string {
  return trk.ids.map((id) => `${dec(id)}: ${describeProgress(trk.progress.get(id)!)}\n`).join("");
}

/** tracker.Config.String, for "switched to configuration ...". */
export function describeConfig(trk: ProgressTracker): string {
  let s = `voters=(${ids(trk.voters)})`;
  if (trk.learners.length > 0) s += ` learners=(${ids(trk.learners)})`;
  return s;
}
