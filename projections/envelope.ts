// The entry envelope: how a command travels in Entry.data, versioned and checksummed, so that a
// torn or corrupt record is detected and named instead of applied. The Raft core never looks inside
// Entry.data; this is the projections' side of it. Must not know what a command means (entry.ts
// gives commands their wire form, the registry routes them).
//
// Layout: byte 0 = envelope version (1); bytes 1..4 = CRC-32 (little endian) of bytes 5..end;
// bytes 5..end = CBOR of [timeMs, proposer, requestId, command]. An empty Entry.data is the
// leader's no-op and carries no envelope.

import { decodeCbor, encodeCbor } from "../internal/mod.ts";
import { crc32 } from "../internal/mod.ts";
import type { EpochMs, Index, NodeId } from "../internal/mod.ts";

export const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 5;

export interface Envelope<C = unknown> {
  /** The proposing member's wall clock when it proposed the command (the member the client talked to). */
  readonly timeMs: EpochMs;
  /**
   * The member that proposed it and its request id, so that member can answer its client. The id is
   * unique across the member's restarts (node/ puts a persisted start counter in its high bits).
   */
  readonly proposer: NodeId;
  readonly requestId: number;
  readonly command: C;
}

/** A record that fails its checksum or does not decode. Stops the daemon at start; never skipped. */
export class CorruptEntryError extends Error {
  override name = "CorruptEntryError";
  readonly code = "log/corrupt-entry";
  readonly index: Index;
  constructor(index: Index, reason: string) {
    super(`log entry ${index} is corrupt: ${reason}`);
    this.index = index;
  }
}

export function encodeEnvelope<C>(env: Envelope<C>): Uint8Array {
  const body = encodeCbor([env.timeMs, env.proposer, env.requestId, env.command]);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out[0] = ENVELOPE_VERSION;
  out.set(body, HEADER_BYTES);
  const c = crc32(out, HEADER_BYTES);
  out[1] = c & 0xff;
  out[2] = (c >>> 8) & 0xff;
  out[3] = (c >>> 16) & 0xff;
  out[4] = (c >>> 24) & 0xff;
  return out;
}

/** Checks version and CRC, then decodes. `index` only names the entry in the error. */
export function decodeEnvelope<C = unknown>(data: Uint8Array, index: Index): Envelope<C> {
  if (data.length < HEADER_BYTES) throw new CorruptEntryError(index, `${data.length} bytes is shorter than the header`);
  if (data[0] !== ENVELOPE_VERSION) throw new CorruptEntryError(index, `unknown envelope version ${data[0]}`);
  const stored = (data[1] | (data[2] << 8) | (data[3] << 16) | (data[4] << 24)) >>> 0;
  const actual = crc32(data, HEADER_BYTES);
  if (stored !== actual) {
    throw new CorruptEntryError(index, `CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
  }
  let decoded: unknown;
  try {
    decoded = decodeCbor(data.subarray(HEADER_BYTES));
  } catch (e) {
    throw new CorruptEntryError(index, `CBOR does not decode (${(e as Error).message})`);
  }
  if (!Array.isArray(decoded) || decoded.length !== 4 || typeof decoded[0] !== "number") {
    throw new CorruptEntryError(index, "envelope is not [timeMs, proposer, requestId, command]");
  }
  return { timeMs: decoded[0], proposer: String(decoded[1]), requestId: Number(decoded[2]), command: decoded[3] as C };
}

/** Checks the CRC only, without decoding (fast verification at start). */
export function checkEnvelope(data: Uint8Array, index: Index): void {
  if (data.length === 0) return;
  if (data.length < HEADER_BYTES || data[0] !== ENVELOPE_VERSION) {
    throw new CorruptEntryError(index, "bad envelope header");
  }
  const stored = (data[1] | (data[2] << 8) | (data[3] << 16) | (data[4] << 24)) >>> 0;
  if (stored !== crc32(data, HEADER_BYTES)) throw new CorruptEntryError(index, "CRC mismatch");
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
