// Encodings of large listings kept for sharing: reads of the same node with the same flags use
// one encoding (one walk of the tree, one copy of its bytes) for as long as no write has touched
// the node's subtree, whatever else the store's index did meanwhile (the body of a get carries no
// index; the X-Etcd-Index header is the reader's own). Bounded in bytes, least recently used out.
// Listings holding a TTL are never kept (their ttl fields change with the time of the read).
// Must not do I/O or read a clock; must not decide what is large (etcd_v2.ts does).

import { kvChangedSince, type KvState } from "../../projections/mod.ts";

export interface SharedListing {
  readonly chunks: readonly Uint8Array[];
  readonly bytes: number;
  /** The store index the encoding is known to be current at. */
  index: number;
}

export class SharedListings {
  readonly #bytesMax: number;
  /** Insertion order is recency: the first entry is the least recently used. */
  readonly #entries = new Map<string, SharedListing>();
  #bytes = 0;

  constructor(bytesMax: number) {
    this.#bytesMax = bytesMax;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The shared encoding of this read if it is still what the store shows, else undefined. */
  get(state: KvState, path: string, recursive: boolean, sorted: boolean): SharedListing | undefined {
    const key = keyOf(path, recursive, sorted);
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (kvChangedSince(state, path, e.index)) {
      this.#bytes -= e.bytes;
      return undefined;
    }
    e.index = state.index;
    this.#entries.set(key, e);
    return e;
  }

  put(state: KvState, path: string, recursive: boolean, sorted: boolean, chunks: readonly Uint8Array[], bytes: number): void {
    if (bytes > this.#bytesMax) return;
    const key = keyOf(path, recursive, sorted);
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    for (const [k, e] of this.#entries) {
      if (this.#bytes + bytes <= this.#bytesMax) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
    }
    this.#entries.set(key, { chunks, bytes, index: state.index });
    this.#bytes += bytes;
  }
}

function keyOf(path: string, recursive: boolean, sorted: boolean): string {
  return (recursive ? "r" : "-") + (sorted ? "s" : "-") + path;
}
