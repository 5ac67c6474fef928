// All projection states <-> bytes, versioned and checksummed, for Raft snapshots and for restart.
// Must not know about SQLite or files: node/ stores the bytes.
//
// Layout: byte 0 = format version (1); bytes 1..4 = CRC-32 LE of the rest; then CBOR of
// [[name, projectionVersion, encodedState], ...] in registry order.

import { crc32 } from "../internal/mod.ts";
import { decodeCbor, encodeCbor } from "../internal/mod.ts";
import { projectionList, type States } from "./registry.ts";

const FORMAT_VERSION = 1;

export class CorruptSnapshotError extends Error {
  override name = "CorruptSnapshotError";
  readonly code = "snapshot/corrupt";
}

export function encodeSnapshot(states: States): Uint8Array {
  const all = states as unknown as Record<string, unknown>;
  const parts = projectionList.map((p) => [p.name, p.version, p.encodeState(all[p.name])]);
  const body = encodeCbor(parts);
  const out = new Uint8Array(5 + body.length);
  out[0] = FORMAT_VERSION;
  out.set(body, 5);
  const c = crc32(out, 5);
  out[1] = c & 0xff;
  out[2] = (c >>> 8) & 0xff;
  out[3] = (c >>> 16) & 0xff;
  out[4] = (c >>> 24) & 0xff;
  return out;
}

export function decodeSnapshot(bytes: Uint8Array): States {
  if (bytes.length < 5 || bytes[0] !== FORMAT_VERSION) {
    throw new CorruptSnapshotError(`snapshot format ${bytes[0]} is not ${FORMAT_VERSION}`);
  }
  const stored = (bytes[1] | (bytes[2] << 8) | (bytes[3] << 16) | (bytes[4] << 24)) >>> 0;
  if (stored !== crc32(bytes, 5)) throw new CorruptSnapshotError("snapshot CRC mismatch");
  const parts = decodeCbor<[string, number, unknown][]>(bytes.subarray(5));
  const byName = new Map(parts.map(([n, v, d]) => [n, { v, d }]));
  const states: Record<string, unknown> = {};
  for (const p of projectionList) {
    const part = byName.get(p.name);
    // A projection added after the snapshot was taken starts empty; its commands come later in the log.
    states[p.name] = part ? p.decodeState(part.d, part.v) : p.initialState();
  }
  return states as States;
}
