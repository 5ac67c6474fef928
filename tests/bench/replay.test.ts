// Tests for parseReplayLine() in bench/figures/replay.ts: reading `log replay`'s rate line.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseReplayLine } from "../../bench/figures/replay.ts";

const s = suite("bench/figures/replay");

s("parseReplayLine() reads entries, start point, seconds and rate with thousands separators", () => {
  const out = "state at index 1000005\nreplayed 1,000,005 entries (1..1000005) from empty in 4.61 s: 216,919 entries/s\n";
  assert.equal(parseReplayLine(out), { entries: 1000005, from: "empty", seconds: 4.61, entriesPerS: 216919 });
});

s("parseReplayLine() shows a replay that started from a snapshot", () => {
  const out = "replayed 0 entries (1000006..1000005) from the snapshot at 1000005 in 4.61 s: 0 entries/s";
  assert.equal(parseReplayLine(out), { entries: 0, from: "the snapshot at 1000005", seconds: 4.61, entriesPerS: 0 });
});

s("parseReplayLine() gives nothing for other output", () => {
  assert.is(parseReplayLine("error: no such data dir"), undefined);
});

s.run();
