// Checks the entries of a proposal that arrived from a peer (a follower forwards its clients'
// writes to the leader as MsgProp) before the leader appends them. A committed entry is applied by
// every member, and an entry whose envelope or command does not decode, or whose conf change
// context does not decode, stops every member on apply, at every restart, for as long as it is in
// the log. So the one place where such bytes can enter the log from the network is closed here:
// the leader refuses the proposal (it is dropped like a lost message; the honest proposer's
// request times out, which never happens for what api/ builds).
// Must not apply anything or touch state: a pure function of the entry bytes and the sender.

import { decodeConfChange, type Entry, EntryType } from "../log/mod.ts";
import { CorruptEntryError } from "./envelope.ts";
import { decodeEntry } from "./entry.ts";
import { confChangeContextOk } from "./members/members.ts";
import { type Command, projectionFor } from "./registry.ts";

/** Why a decoded command may not be proposed by a peer (asked of the projection that owns it), or undefined when it may. */
export function refuseCommand(c: Command): string | undefined {
  const type = (c as { type?: unknown }).type;
  const p = typeof type === "string" ? projectionFor(type) : undefined;
  if (!p) return `a peer may not propose ${JSON.stringify(type)}`;
  return p.refuseFromPeer(c);
}

/**
 * Why the entries of a proposal from peer `from` may not be appended, or undefined when they may.
 * Every normal entry must decode (CRC, envelope, command), name `from` as its proposer (a request
 * id answers only its own member's waiter), carry a finite time, and hold a command a peer may propose.
 */
export function refuseProposal(entries: readonly Entry[], from: string): string | undefined {
  for (const e of entries) {
    if (e.type === EntryType.ConfChange) {
      let context: Uint8Array;
      try {
        context = decodeConfChange(e.data).context; // the layout is conf_change.ts's, checked again here
      } catch {
        return "a conf change entry that does not decode";
      }
      if (!confChangeContextOk(context)) return "a conf change whose context does not decode";
      continue;
    }
    if (e.data.length === 0) continue;
    let env;
    try {
      env = decodeEntry(e.data, e.index);
    } catch (err) {
      if (err instanceof CorruptEntryError) return `an entry that does not decode (${err.message})`;
      return `an entry that does not decode (${(err as Error).message})`;
    }
    if (env.proposer !== from) return `an entry proposed by ${env.proposer}, sent by ${from}`;
    if (!Number.isSafeInteger(env.timeMs) || env.timeMs < 0) return "an entry without a valid time";
    if (!Number.isSafeInteger(env.requestId) || env.requestId < 0) return "an entry without a valid request id";
    const why = refuseCommand(env.command);
    if (why !== undefined) return why;
  }
  return undefined;
}
