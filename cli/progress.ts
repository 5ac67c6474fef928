// A one-line progress meter on stderr for long CLI runs (replay, dump, verify, export): percent,
// count and rate, redrawn at most a few times a second, erased when done. Silent unless stderr is
// a terminal (CliIo.progress), so piped and --json output never carry it.
// Must not write to stdout.

import type { CliIo } from "./io.ts";

const REDRAW_MS = 200;

export class Progress {
  readonly #io: CliIo;
  readonly #label: string;
  readonly #t0 = performance.now();
  #lastDraw = 0;
  #drawn = false;

  constructor(io: CliIo, label: string) {
    this.#io = io;
    this.#label = label;
  }

  /** Seconds since the meter started. */
  elapsedS(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  update(done: number, total: number): void {
    if (!this.#io.progress) return;
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS && done < total) return;
    this.#lastDraw = now;
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
    const rate = done / Math.max(1e-3, (now - this.#t0) / 1000);
    this.#io.err(`\r\x1b[2K${this.#label}: ${pct.toFixed(1)}% ${fmtInt(done)}/${fmtInt(total)} entries, ${fmtInt(rate)} entries/s`);
    this.#drawn = true;
  }

  /** Erases the meter line. */
  done(): void {
    if (this.#drawn) this.#io.err("\r\x1b[2K");
    this.#drawn = false;
  }
}

/** 1234567 -> "1,234,567". */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
