// Tests for the pure parts of bench/cpu.ts: reading /proc lines and the other-processes share.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { busyJiffies, otherCores, processJiffies } from "../../bench/cpu.ts";

const s = suite("bench/cpu");

s("busyJiffies() adds user, nice, system, irq, softirq and steal but not idle or iowait", () => {
  const stat = "cpu  100 2 30 5000 7 1 4 3 0 0\ncpu0 50 1 15 2500 3 0 2 1 0 0\n";
  assert.is(busyJiffies(stat), 100 + 2 + 30 + 1 + 4 + 3);
});

s("processJiffies() reads utime+stime after a command name with spaces and parentheses", () => {
  const rest = "S 1 2 3 4 5 6 7 8 9 10 11 22 33 44 55 20 0 1 0";
  const stat = `1234 (my (odd) cmd) ${rest}`;
  assert.is(processJiffies(stat, false), 11 + 22);
  assert.is(processJiffies(stat, true), 11 + 22 + 33 + 44);
});

s("otherCores() is the machine's busy time minus ours, in cores", () => {
  const a = { atMs: 0, busy: 1000, ours: 500 };
  const b = { atMs: 2000, busy: 1400, ours: 700 }; // 400 busy, 200 ours, over 2 s
  assert.is(otherCores(a, b), 1);
  assert.is(otherCores(a, { ...b, ours: 1000 }), 0); // never negative
});

s.run();
