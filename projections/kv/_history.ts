// The kv store's event history: a ring of the last N events across the whole store (etcd's
// EventHistory), scanned by watches that start from a past index. Private to projections/.
// Must not notify anyone (the watch hub does) and must not filter hidden keys (etcd does not here).

import { assert } from "../../internal/mod.ts";
import type { KvEvent } from "./store.ts";

export class EventHistory {
  readonly capacity: number;
  #ring: (KvEvent | undefined)[];
  #front = 0;
  #size = 0;

  constructor(capacity: number) {
    assert(capacity > 0, "event history capacity must be positive");
    this.capacity = capacity;
    this.#ring = new Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Index of the oldest event held (0 when empty). */
  get oldestIndex(): number {
    return this.#size === 0 ? 0 : this.#ring[this.#front]!.index;
  }

  /** Index of the newest event held (0 when empty). */
  get newestIndex(): number {
    return this.#size === 0 ? 0 : this.#ring[(this.#front + this.#size - 1) % this.capacity]!.index;
  }

  add(e: KvEvent): void {
    // Every successful mutation takes the next index and adds one event, so the ring holds a
    // contiguous run of indexes and a scan can seek by subtraction.
    assert(this.#size === 0 || e.index === this.newestIndex + 1, "event history must be contiguous");
    if (this.#size < this.capacity) {
      this.#ring[(this.#front + this.#size) % this.capacity] = e;
      this.#size++;
    } else {
      this.#ring[this.#front] = e;
      this.#front = (this.#front + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): KvEvent[] {
    const out: KvEvent[] = new Array(this.#size);
    for (let i = 0; i < this.#size; i++) out[i] = this.#ring[(this.#front + i) % this.capacity]!;
    return out;
  }

  /**
   * Whether any event in (sinceIndex, currentIndex] is at `path`, under it or at an ancestor of
   * it (refreshes included: they change a TTL); true when the ring does not hold them all.
   */
  touchedSince(path: string, sinceIndex: number, currentIndex: number): boolean {
    if (this.#size === 0 || sinceIndex + 1 < this.oldestIndex || this.newestIndex !== currentIndex) return true;
    const under = path === "/" ? "/" : path + "/";
    for (let i = sinceIndex + 1 - this.oldestIndex; i < this.#size; i++) {
      const k = this.#ring[(this.#front + i) % this.capacity]!.node.key ?? "/";
      if (k === path || k.startsWith(under) || path.startsWith(k === "/" ? "/" : k + "/")) return true;
    }
    return false;
  }

  /**
   * The first non-refresh event at or after `sinceIndex` that a watch on `key` matches (§6).
   * The caller has checked sinceIndex >= oldestIndex. Matches: the key itself; with `recursive`,
   * keys under `key + "/"`; and deletes/expires of a directory whose key is a plain string
   * prefix of `key` (etcd's check, no slash boundary).
   */
  scan(key: string, recursive: boolean, sinceIndex: number): KvEvent | undefined {
    if (this.#size === 0 || sinceIndex > this.newestIndex) return undefined;
    const prefix = key.endsWith("/") ? key : key + "/";
    for (let i = sinceIndex - this.oldestIndex; i < this.#size; i++) {
      const e = this.#ring[(this.#front + i) % this.capacity]!;
      if (e.refresh) continue;
      const k = e.node.key ?? "/";
      if (k === key || (recursive && k.startsWith(prefix))) return e;
      if ((e.action === "delete" || e.action === "expire") && e.prevNode?.dir && key.startsWith(e.prevNode.key ?? "/")) {
        return e;
      }
    }
    return undefined;
  }
}
