// Plain CBOR for every byte form the daemon stores or sends (entry envelopes, snapshots, conf change
// contexts, peer frames, export files): one encoder and one decoder with one set of options, so every
// part reads what any other wrote. The only importer of cbor-x. Must not know what it encodes.

// The "encode"/"decode" entry points are cbor-x in plain JavaScript: its main entry loads the
// native cbor-extract addon, which Deno cannot load (the process dies with a symbol error).
import { Encoder } from "cbor-x/encode";
import { Decoder } from "cbor-x/decode";

// useRecords:false keeps the bytes self-describing: a log written today replays without the
// encoder's structure table, and `coreplane log export` files are plain CBOR.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value) as Uint8Array;
}

/** Throws on bytes that are not CBOR; callers turn that into their own typed error. */
export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  return decoder.decode(bytes) as T;
}
