// Which kv commands a member may forward to the leader, field by field: a committed entry that does
// not apply stops every member at every restart, so the leader refuses a malformed one up front
// (projections/proposal_check.ts asks each projection). Must not apply anything.

import type { KvCommand } from "./commands.ts";

const isStr = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const optStr = (v: unknown): boolean => v === undefined || isStr(v);
const optBool = (v: unknown): boolean => v === undefined || isBool(v);
const optIndex = (v: unknown): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
const ttl = (v: unknown): boolean => v === null || (typeof v === "number" && Number.isFinite(v));
const isPath = (v: unknown): boolean => isStr(v) && v.startsWith("/");

/** Why a peer may not propose this decoded kv command, or undefined when it may. */
export function kvRefuseFromPeer(c: KvCommand): string | undefined {
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
    default:
      return `a peer may not propose ${JSON.stringify(o.type)}`;
  }
}
