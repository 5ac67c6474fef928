// The kv store's expiration queue: a binary min-heap of TTL entries ordered by (expirationMs,
// seq), with each entry's position stored in it so update and remove are O(log n).
// Private to projections/. Must not read a clock: callers pass the cutoff.

import { assert } from "../../internal/mod.ts";
import type { TtlEntry } from "./_tree.ts";

function less(a: TtlEntry, b: TtlEntry): boolean {
  return a.expirationMs < b.expirationMs || (a.expirationMs === b.expirationMs && a.seq < b.seq);
}

export class TtlHeap {
  #items: TtlEntry[] = [];

  get size(): number {
    return this.#items.length;
  }

  top(): TtlEntry | undefined {
    return this.#items[0];
  }

  push(e: TtlEntry): void {
    assert(e.pos === -1, "ttl entry pushed twice");
    e.pos = this.#items.length;
    this.#items.push(e);
    this.#up(e.pos);
  }

  /** Re-positions `e` after its expiration or seq changed. */
  update(e: TtlEntry): void {
    assert(this.#items[e.pos] === e, "ttl entry not in heap");
    if (!this.#up(e.pos)) this.#down(e.pos);
  }

  remove(e: TtlEntry): void {
    const items = this.#items;
    const i = e.pos;
    assert(items[i] === e, "ttl entry not in heap");
    const last = items.pop()!;
    e.pos = -1;
    if (last === e) return;
    items[i] = last;
    last.pos = i;
    if (!this.#up(i)) this.#down(i);
  }

  /** Builds the heap from unordered entries in O(n) (snapshot decode). */
  rebuild(entries: TtlEntry[]): void {
    this.#items = entries;
    for (let i = 0; i < entries.length; i++) entries[i].pos = i;
    for (let i = (entries.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #up(i: number): boolean {
    const items = this.#items;
    const e = items[i];
    const start = i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, items[p])) break;
      items[i] = items[p];
      items[i].pos = i;
      i = p;
    }
    items[i] = e;
    e.pos = i;
    return i !== start;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const e = items[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && less(items[c + 1], items[c])) c++;
      if (!less(items[c], e)) break;
      items[i] = items[c];
      items[i].pos = i;
      i = c;
    }
    items[i] = e;
    e.pos = i;
  }
}
