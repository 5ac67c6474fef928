// Progress lines on stderr while the suite runs: elapsed time since the start, which figure,
// which server, what is happening. Stdout is kept for the result tables.
// Must not decide anything about results; it only prints.

export class Progress {
  #t0 = performance.now();

  /** Seconds since the suite started. */
  elapsedS(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  say(figure: string, server: string, message: string): void {
    const t = this.elapsedS();
    const mm = Math.floor(t / 60).toString().padStart(2, "0");
    const ss = (t % 60).toFixed(1).padStart(4, "0");
    const who = server ? `${figure} · ${server}` : figure;
    process.stderr.write(`[${mm}:${ss}] ${who.padEnd(26)} ${message}\n`);
  }

  /**
   * Prints `message` now and then every `everyMs` while `work` runs, with the step's own elapsed
   * time and whatever `status()` reports (e.g. keys loaded so far).
   */
  async during<T>(
    figure: string,
    server: string,
    message: string,
    work: Promise<T>,
    status?: () => Promise<string>,
    everyMs = 5000,
  ): Promise<T> {
    const started = performance.now();
    this.say(figure, server, message);
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const extra = status ? await status().catch(() => "") : "";
        const s = ((performance.now() - started) / 1000).toFixed(0);
        this.say(figure, server, `${message} ${s}s${extra ? ` (${extra})` : ""}`);
      } finally {
        busy = false;
      }
    }, everyMs);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }
}
