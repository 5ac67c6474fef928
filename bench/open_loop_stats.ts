// The pure parts of the open-loop load generator (bench/open_loop.ts): when request i is due, how
// many are due by a given time, and latency percentiles. Pure: no I/O, no clock (the caller
// passes times in), tested in tests/bench/. Must not send anything.

/**
 * The time request i (0-based) is scheduled for, at a constant `rate` per second from `startMs`.
 * Latency is measured from this time, not from when the request was actually sent, so a server
 * (or a generator) that falls behind cannot hide its delay (no coordinated omission).
 */
export function scheduledAt(startMs: number, rate: number, i: number): number {
  return startMs + (i * 1000) / rate;
}

/** How many requests (of `total`) are due at `nowMs`: those with scheduledAt <= nowMs. */
export function dueBy(startMs: number, rate: number, nowMs: number, total: number): number {
  if (nowMs < startMs) return 0;
  // floor((now - start) * rate / 1000) + 1, guarded against float error at exact boundaries.
  let n = Math.floor(((nowMs - startMs) * rate) / 1000) + 1;
  while (n > 0 && scheduledAt(startMs, rate, n - 1) > nowMs) n--;
  while (n < total && scheduledAt(startMs, rate, n) <= nowMs) n++;
  return Math.min(n, total);
}

/**
 * Nearest-rank percentile of an ascending array (q in 0..1): the smallest value with at least
 * q of the values at or below it. Infinity entries (requests that never finished) sort last.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Percentiles of a list of latencies in ms (Infinity = never answered; it counts as slowest). */
export function summarize(latencies: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    meanMs: sorted.length ? sum / sorted.length : NaN,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

export interface SecondSummary {
  /** Seconds since the start of the measured window (by scheduled time). */
  second: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The latencies cut into whole seconds of schedule (request j of the measured window was due at
 * j/rate s), each summarised: shows whether a bad p99 comes from a few stalls or from the whole run.
 */
export function perSecond(latencies: ArrayLike<number>, rate: number): SecondSummary[] {
  const out: SecondSummary[] = [];
  const perS = Math.max(1, Math.round(rate));
  for (let start = 0, second = 0; start < latencies.length; start += perS, second++) {
    const part = Array.prototype.slice.call(
      latencies,
      start,
      Math.min(latencies.length, start + perS),
    ) as number[];
    const sm = summarize(part);
    out.push({ second, count: sm.count, p50Ms: sm.p50Ms, p99Ms: sm.p99Ms, maxMs: sm.maxMs });
  }
  return out;
}
