// The simulator's clock and agenda: virtual time in milliseconds and a binary min-heap of events
// ordered by (time, insertion sequence), so two events at the same instant run in the order they
// were scheduled and a seed always replays the same interleaving. Must not read a real clock.

export interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

export class Agenda {
  #heap: SimEvent[] = [];
  #seq = 0;
  /** Virtual time of the event being run (ms). */
  now = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules run() after delay ms (>= 0) of virtual time. */
  after(delay: number, run: () => void): void {
    this.at(this.now + Math.max(0, delay), run);
  }

  at(time: number, run: () => void): void {
    const e: SimEvent = { time: Math.max(time, this.now), seq: this.#seq++, run };
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  /** Removes and returns the earliest event, advancing `now` to its time. */
  pop(): SimEvent | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(h[r], h[l]) ? r : l;
        if (!less(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    this.now = top.time;
    return top;
  }

  peekTime(): number {
    return this.#heap.length > 0 ? this.#heap[0].time : Infinity;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
