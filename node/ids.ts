// Member and cluster ids derived exactly as etcd derives them (etcdserver/api/membership), so a
// coreplane member started with etcd's flags gets the id etcd would give it. Uses SHA-1 from
// node:crypto, which is why it lives in node/. Must not be used for anything secret.

import { createHash } from "node:crypto";
import type { NodeId } from "../internal/mod.ts";

function first8Hex(bytes: Uint8Array): string {
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(bytes[i]);
  return n.toString(16);
}

/** etcd NewMember(name, peerURLs, clusterToken, nil): sha1(sorted peer URLs joined + token)[:8]. */
export function memberIdFor(peerURLs: readonly string[], clusterToken: string): NodeId {
  const b = [...peerURLs].sort().join("") + clusterToken;
  return first8Hex(createHash("sha1").update(b).digest());
}

/** etcd RaftCluster.genID(): sha1 over the sorted member ids as big-endian uint64s, first 8 bytes. */
export function clusterIdFor(memberIds: readonly NodeId[]): string {
  const sorted = [...memberIds].map((h) => BigInt("0x" + h)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = new Uint8Array(8 * sorted.length);
  sorted.forEach((v, i) => {
    for (let j = 0; j < 8; j++) buf[i * 8 + j] = Number((v >> BigInt(56 - 8 * j)) & 0xffn);
  });
  return first8Hex(createHash("sha1").update(buf).digest());
}

/**
 * etcd NewMember(name, peerURLs, clusterName, &now) as the v2 members API calls it for a member
 * add: sha1(sorted peer URLs joined + "" + unix seconds)[:8], so two adds of one URL set differ.
 */
export function newMemberIdFor(peerURLs: readonly string[], unixSeconds: number): NodeId {
  const b = [...peerURLs].sort().join("") + String(unixSeconds);
  return first8Hex(createHash("sha1").update(b).digest());
}
