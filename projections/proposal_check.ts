// Checks the entries of a proposal that arrived from a peer (a follower forwards its clients'
// writes to the leader as MsgProp) before the leader appends them. A committed entry is applied by
// every member, and an entry whose envelope or command does not decode, or whose conf change
// context does not decode, stops every member on apply, at every restart, for as long as it is in
// the log. So the one place where such bytes can enter the log from the network is closed here:
// the leader refuses the proposal (it is dropped like a lost message; the honest proposer's
// request times out, which never happens for what api/ builds).
// Must not apply anything or touch state: a pure function of the entry bytes and the sender.

import { CorruptEntryError, decodeCbor } from "../log/codec.ts";
import { type Entry, EntryType } from "../log/types.ts";
import type { Command } from "./command.ts";
import { decodeEntry } from "./entry.ts";

const isStr = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const optStr = (v: unknown): boolean => v === undefined || isStr(v);
const optBool = (v: unknown): boolean => v === undefined || isBool(v);
const optIndex = (v: unknown): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
const ttl = (v: unknown): boolean => v === null || (typeof v === "number" && Number.isFinite(v));
const isPath = (v: unknown): boolean => isStr(v) && v.startsWith("/");
const isId = (v: unknown): boolean => isStr(v) && /^[0-9a-f]{1,16}$/.test(v);
const strings = (v: unknown): boolean => Array.isArray(v) && v.every(isStr);

/** Why a decoded command may not be proposed by a peer, or undefined when it may. */
export function refuseCommand(c: Command): string | undefined {
  const o = c as unknown as Record<string, unknown>;
  switch (o.type) {
    case "kv/set":
      return isPath(o.path) && isStr(o.value) && isBool(o.dir) && ttl(o.ttlSec) && isBool(o.refresh) &&
          optBool(o.prevExist) && optStr(o.prevValue) && optIndex(o.prevIndex)
        ? undefined
        : "malformed kv/set";
    case "kv/create-in-order":
      return isPath(o.path) && isStr(o.value) && isBool(o.dir) && ttl(o.ttlSec) ? undefined : "malformed kv/create-in-order";
    case "kv/delete":
      return isPath(o.path) && isBool(o.dir) && isBool(o.recursive) && optStr(o.prevValue) && optIndex(o.prevIndex)
        ? undefined
        : "malformed kv/delete";
    case "kv/expire":
      // Only a leader proposes expiry, with its own clock; one from a peer would expire keys at a time it chose.
      return "kv/expire is proposed by the leader only";
    case "member/attributes":
      return isId(o.id) && isStr(o.name) && strings(o.clientURLs) ? undefined : "malformed member/attributes";
    default:
      // member/add, member/remove and member/update come from conf change entries, never from normal ones.
      return `a peer may not propose ${JSON.stringify(o.type)}`;
  }
}

/** Whether a conf change entry's context (after the layout log/message_codec.ts checks) decodes as members.ts reads it. */
function confChangeContextOk(data: Uint8Array): boolean {
  const n = data[2];
  const ctx = data.subarray(3 + n);
  if (ctx.length === 0) return true;
  try {
    const v = decodeCbor<unknown>(ctx);
    return Array.isArray(v) && v.length === 2 && isStr(v[0]) && strings(v[1]);
  } catch {
    return false;
  }
}

/**
 * Why the entries of a proposal from peer `from` may not be appended, or undefined when they may.
 * Every normal entry must decode (CRC, envelope, command), name `from` as its proposer (a request
 * id answers only its own member's waiter), carry a finite time, and hold a command a peer may propose.
 */
export function refuseProposal(entries: readonly Entry[], from: string): string | undefined {
  for (const e of entries) {
    if (e.type === EntryType.ConfChange) {
      if (!confChangeContextOk(e.data)) return "a conf change whose context does not decode";
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
