// The byte form of a ConfChange inside an EntryType.ConfChange entry. The Raft core writes it
// (proposeConfChange, bootstrap) and the driver reads it back when it applies the entry. A tiny
// fixed layout of its own, not the CBOR command codec, so the core depends on nothing else.
// Layout: version(1) type(1) idLength(1) id(ascii hex) context(rest).
// Must not carry anything but the ConfChange fields.

import { assert } from "../internal/mod.ts";
import { ConfChangeType, type ConfChange } from "./types.ts";

const VERSION = 1;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = cc.nodeId;
  assert(/^[0-9a-f]{1,16}$/.test(id), `conf change node id must be lowercase hex: "${id}"`);
  const out = new Uint8Array(3 + id.length + cc.context.byteLength);
  out[0] = VERSION;
  out[1] = cc.type;
  out[2] = id.length;
  for (let i = 0; i < id.length; i++) out[3 + i] = id.charCodeAt(i);
  out.set(cc.context, 3 + id.length);
  return out;
}

/** Decodes a conf change entry's data. A malformed one is a broken invariant (it was committed). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.byteLength >= 3 && data[0] === VERSION, "undecodable conf change entry");
  const type = data[1];
  assert(type <= ConfChangeType.AddLearnerNode, `unknown conf change type ${type}`);
  const n = data[2];
  assert(data.byteLength >= 3 + n, "truncated conf change entry");
  let nodeId = "";
  for (let i = 0; i < n; i++) nodeId += String.fromCharCode(data[3 + i]);
  return { type: type as ConfChangeType, nodeId, context: data.subarray(3 + n) };
}
