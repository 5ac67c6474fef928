// The kv service as one complete projection: etcd's v2 store (store.ts) with its commands' wire form
// (wire.ts), what peers may propose (peer_check.ts), the /0 keys a new cluster writes, and TTL
// expiry as the leader's due command. Must not do I/O or read a clock (due() is handed the time).

import type { EpochMs } from "../../internal/mod.ts";
import type { BootstrapContext, Projection } from "../projection.ts";
import type { KvCommand } from "./commands.ts";
import { kvRefuseFromPeer } from "./peer_check.ts";
import { KV_STATE_VERSION, kvApply, kvDecodeState, kvEncodeState, type KvResult, KvState } from "./store.ts";
import { kvCommandFromWire, kvCommandToWire } from "./wire.ts";

/** Go encoding/json escapes <, >, & and U+2028/9 inside strings. */
function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * The three internal writes a fresh etcd 3.4 cluster makes before the first user write (indexes
 * 1-3 there, 2-4 here after the conf change): the member's raftAttributes (create), its published
 * attributes (set), the cluster version. So etcd indexes line up with etcd's.
 */
export function kvBootstrapCommands(memberId: string, name: string, peerURLs: readonly string[], clientURLs: readonly string[]): KvCommand[] {
  const member = `/0/members/${memberId}`;
  const attributes: { name?: string; clientURLs?: string[] } = {};
  if (name !== "") attributes.name = name;
  if (clientURLs.length > 0) attributes.clientURLs = [...clientURLs];
  return [
    {
      type: "kv/set",
      path: `${member}/raftAttributes`,
      value: goJson({ peerURLs: [...peerURLs] }),
      dir: false,
      ttlSec: null,
      refresh: false,
      prevExist: false,
    },
    { type: "kv/set", path: `${member}/attributes`, value: goJson(attributes), dir: false, ttlSec: null, refresh: false },
    { type: "kv/set", path: "/0/version", value: "3.4.0", dir: false, ttlSec: null, refresh: false },
  ];
}

/** The earliest expiration in the store, for the leader's expire tick; undefined when no node has a TTL. */
export function kvNextExpirationMs(state: KvState): number | undefined {
  return state.ttlHeap.top()?.expirationMs;
}

const EXPIRE: readonly KvCommand[] = Object.freeze([{ type: "kv/expire" }]);

export const kvProjection: Projection<KvState, KvCommand, KvResult> = Object.freeze({
  name: "kv",
  namespace: "kv",
  version: KV_STATE_VERSION,
  initialState: () => new KvState(),
  apply: kvApply,
  encodeState: kvEncodeState,
  decodeState: kvDecodeState,
  commandToWire: kvCommandToWire,
  commandFromWire: kvCommandFromWire,
  refuseFromPeer: kvRefuseFromPeer,
  bootstrap: (c: BootstrapContext) => kvBootstrapCommands(c.memberId, c.name, c.peerURLs, c.clientURLs),
  /** One kv/expire when the earliest TTL is due: it removes everything due at the entry's time. */
  due(state: KvState, nowMs: EpochMs): KvCommand[] {
    const next = kvNextExpirationMs(state);
    return next !== undefined && next <= nowMs ? [...EXPIRE] : [];
  },
  // The v2 store keeps its own /0/members keys only from bootstrap, as etcd 3.4's v2 store does.
  onMembershipChange(): void {},
});
