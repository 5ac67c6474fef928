// Parses the text wrk 4.x prints (with --latency) into numbers. Pure: no I/O, so it is unit
// tested in tests/bench/. Must not run wrk (bench/wrk.ts does that).

export interface WrkResult {
  requestsPerS: number;
  requests: number;
  durationS: number;
  latencyAvgMs: number;
  latencyStdevMs: number;
  latencyMaxMs: number;
  /** Percentile (50, 75, 90, 99) → milliseconds; empty without --latency. */
  percentilesMs: Record<string, number>;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

const timeUnitsMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "640.12us" → 0.64012 (ms). Throws on anything else. */
export function parseWrkTimeMs(text: string): number {
  const m = /^([0-9.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`wrk: cannot parse time "${text}"`);
  return Number(m[1]) * timeUnitsMs[m[2]];
}

/** "12.50k" → 12500, "1.2M" → 1200000. */
export function parseWrkCount(text: string): number {
  const m = /^([0-9.]+)([kMGT]?)$/.exec(text.trim());
  if (!m) throw new Error(`wrk: cannot parse count "${text}"`);
  const mult: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * mult[m[2]];
}

export function parseWrkOutput(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([0-9.]+)/m.exec(text);
  if (!rps) throw new Error(`wrk: no "Requests/sec" in output:\n${text}`);
  const total = /^\s*(\d+) requests in ([0-9.]+(?:us|ms|s|m|h)),/m.exec(text);
  if (!total) throw new Error(`wrk: no "N requests in T" in output:\n${text}`);
  const lat = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%?$/m.exec(text);
  const percentilesMs: Record<string, number> = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)$/gm)) {
    percentilesMs[m[1]] = parseWrkTimeMs(m[2]);
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerS: Number(rps[1]),
    requests: Number(total[1]),
    durationS: parseWrkTimeMs(total[2]) / 1000,
    latencyAvgMs: lat ? parseWrkTimeMs(lat[1]) : NaN,
    latencyStdevMs: lat ? parseWrkTimeMs(lat[2]) : NaN,
    latencyMaxMs: lat ? parseWrkTimeMs(lat[3]) : NaN,
    percentilesMs,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

/** The "LOAD ok=N err=M" line bench/lua/load.lua prints from done(). */
export function parseLoadLine(text: string): { ok: number; err: number } | undefined {
  const m = /^LOAD ok=(\d+) err=(\d+)$/m.exec(text);
  return m ? { ok: Number(m[1]), err: Number(m[2]) } : undefined;
}
