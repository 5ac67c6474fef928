// A simulated disk for one member, with the distinction a real one has between written (in the
// page cache: the running process reads it back) and synced (survives a power cut). The driver
// writes each Ready as one batch when it takes the Ready and syncs when the Ready needs it; a
// crash keeps every synced batch, then, depending on its kind, all, some or none of the unsynced
// ones in write order, and may tear the last kept one (a prefix of its entries, without its
// snapshot or hard state). The Raft core reads the written view, a MemoryStorage.
// Must not decide anything by itself: every choice comes from the prng the simulator passes in.

import type { Prng } from "../../../internal/prng.ts";
import { MemoryStorage } from "../../../log/memory_storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../../../log/types.ts";

export type DiskRecord =
  | { readonly kind: "snap"; readonly snap: Snapshot }
  | { readonly kind: "ents"; readonly ents: readonly Entry[] }
  | { readonly kind: "hs"; readonly hs: HardState }
  /** The driver's own snapshot of its state machine at `index`, then log compaction up to compactTo. */
  | { readonly kind: "compact"; readonly index: number; readonly cs: ConfState; readonly data: Uint8Array; readonly compactTo: number };

export type Batch = readonly DiskRecord[];

/** How a crash treats unsynced writes: a killed process keeps them (the OS has them), a power cut may not. */
export type CrashKind = "kill" | "power";

export interface CrashOutcome {
  /** Unsynced batches at the crash, kept whole, and whether one more was torn (kept in part). */
  readonly pending: number;
  readonly kept: number;
  readonly torn: boolean;
}

function applyRecord(s: MemoryStorage, r: DiskRecord): void {
  switch (r.kind) {
    case "snap":
      s.applySnapshot(r.snap);
      return;
    case "ents":
      s.append(r.ents);
      return;
    case "hs":
      s.setHardState(r.hs);
      return;
    case "compact":
      s.createSnapshot(r.index, r.cs, r.data);
      if (r.compactTo >= s.firstIndex()) s.compact(r.compactTo);
      return;
  }
}

/** A copy of a storage's whole content, as a restart would read it back. */
function copyStorage(src: MemoryStorage): MemoryStorage {
  const out = new MemoryStorage();
  const snap = src.snapshot();
  const first = src.firstIndex();
  const last = src.lastIndex();
  if (first - 1 < snap.metadata.index) {
    // Entries older than the snapshot are still kept: rebuild the compaction point, then the snapshot.
    const baseTerm = src.term(first - 1);
    if (first - 1 > 0) {
      out.applySnapshot({ metadata: { index: first - 1, term: baseTerm, confState: snap.metadata.confState }, data: snap.data });
    }
    if (last >= first) out.append(src.entries(first, last + 1, Infinity));
    out.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data);
  } else {
    if (snap.metadata.index > 0) out.applySnapshot(snap);
    if (last >= first) out.append(src.entries(first, last + 1, Infinity));
  }
  out.setHardState(src.initialState().hardState);
  return out;
}

export class SimDisk {
  /** What survives a power cut. */
  #durable = new MemoryStorage();
  /** Written, not yet synced, in write order. */
  #pending: Batch[] = [];
  /** What the running process sees: durable plus pending. */
  live = new MemoryStorage();
  writes = 0;
  syncs = 0;

  write(batch: Batch): void {
    if (batch.length === 0) return;
    for (const r of batch) applyRecord(this.live, r);
    this.#pending.push(batch);
    this.writes++;
  }

  /** fsync: everything written so far becomes durable (the file is synced in write order). */
  sync(): void {
    for (const b of this.#pending) for (const r of b) applyRecord(this.#durable, r);
    this.#pending = [];
    this.syncs++;
  }

  get unsynced(): number {
    return this.#pending.length;
  }

  /** The process dies. Returns what happened to unsynced writes; `live` becomes what a restart reads. */
  crash(kind: CrashKind, prng: Prng, tearRate: number): CrashOutcome {
    const pending = this.#pending;
    this.#pending = [];
    let kept = pending.length;
    let torn = false;
    if (kind === "power" && pending.length > 0) {
      kept = prng.int(pending.length + 1);
      if (kept < pending.length && prng.next() < tearRate) {
        const part = tear(pending[kept], prng);
        if (part.length > 0) {
          pending[kept] = part;
          kept++;
          torn = true;
        }
      }
    }
    for (let i = 0; i < kept; i++) for (const r of pending[i]) applyRecord(this.#durable, r);
    this.live = copyStorage(this.#durable);
    return { pending: pending.length, kept: torn ? kept - 1 : kept, torn };
  }

  /** The synced view (for invariant checks after a crash). */
  durable(): MemoryStorage {
    return this.#durable;
  }
}

/**
 * A torn batch keeps a prefix of its entries and nothing else: the hard state is written after the
 * entries, and a batch carrying a snapshot is all or nothing (entries after a lost snapshot would
 * not join the log).
 */
function tear(b: Batch, prng: Prng): Batch {
  if (b.some((r) => r.kind === "snap" || r.kind === "compact")) return [];
  const ents = b.find((r) => r.kind === "ents") as { kind: "ents"; ents: readonly Entry[] } | undefined;
  if (ents === undefined || ents.ents.length === 0) return [];
  // Losing the batch whole is the un-torn case; a tear keeps at least one entry.
  const n = 1 + prng.int(ents.ents.length);
  return [{ kind: "ents", ents: ents.ents.slice(0, n) }];
}
