// The clock interface that pure code receives when it must render time-relative figures (a TTL
// countdown). Only node/ implements it with the real clock; tests pass a fixed one.
// Must not be implemented here with Date.now(): internal/ reads no clock.

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  nowMs(): number;
}

export function fixedClock(ms: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let now = ms;
  return {
    nowMs: () => now,
    set: (v: number) => { now = v; },
    advance: (d: number) => { now += d; },
  };
}
