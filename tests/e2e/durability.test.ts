// End to end: an acknowledged write survives kill -9. 16 clients PUT distinct keys to a real
// coreplane member; after a random 0.3-1.5 s the member is SIGKILLed, restarted on the same data dir,
// and every write that got 200/201 must be there with its value and modifiedIndex. Rounds accumulate
// (each round also re-checks the writes of earlier rounds), and after each restart a new write must
// succeed with an index above every index acknowledged before. DURABILITY_ROUNDS raises the rounds
// (default 5); SEED=n replays the kill times. --snapshot-count is low so snapshots and compaction
// run (and get killed) during the rounds too.
// Must not assert anything about writes that were in flight at the kill (either outcome is allowed),
// and no timing.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { rmSync } from "node:fs";
import { createPrng } from "../../internal/prng.ts";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane, tempDir } from "../helpers/procs.ts";
import { getKey, killHard, pool, putKey, seedFromEnv, sleep } from "./_util.ts";

/** The member's ports, from the OS; a restart on the same data dir reuses them. */
const [clientPort, peerPort] = await freePorts(2);
const PORTS = { clientPort, peerPort };
const CLIENTS = 16;
/** Low, so that snapshots and log compaction also happen (and get interrupted) during the rounds. */
const SNAPSHOT_COUNT = 1000;

interface Ack {
  readonly key: string;
  readonly value: string;
  /** From the reply body; undefined if the body could not be read although the status arrived. */
  readonly index: number | undefined;
  readonly round: number;
}

interface Node {
  key: string;
  value?: string;
  modifiedIndex: number;
  createdIndex: number;
}

/** One writer: PUTs its own keys until `stop()` says so; records every 200/201. */
async function writer(base: string, round: number, client: number, stop: () => boolean, acks: Ack[], problems: string[]): Promise<number> {
  let sent = 0;
  for (let i = 0; !stop(); i++) {
    const key = `/dur/r${round}/c${client}/k${i}`;
    const value = `r${round}-c${client}-i${i}-${"x".repeat(i % 37)}`;
    let status: number;
    let text = "";
    try {
      const r = await fetch(`${base}/v2/keys${key}`, {
        method: "PUT",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `value=${encodeURIComponent(value)}`,
      });
      status = r.status;
      try {
        text = await r.text();
      } catch {
        // The status line arrived, so the server acknowledged; the body was cut by the kill.
        text = "";
      }
    } catch {
      // Connection refused or reset: the member is gone (or going). Not an acknowledgement.
      if (!stop()) problems.push(`client ${client}: PUT ${key} failed at the connection level before the kill`);
      break;
    }
    sent++;
    if (status === 200 || status === 201) {
      let index: number | undefined;
      try {
        const b = JSON.parse(text) as { node?: Node };
        index = b.node?.modifiedIndex;
      } catch { /* body cut by the kill */ }
      acks.push({ key, value, index, round });
    } else if (!stop()) {
      problems.push(`client ${client}: PUT ${key} answered ${status} before the kill: ${text}`);
    }
  }
  return sent;
}

async function checkAcks(base: string, acks: readonly Ack[], when: string): Promise<void> {
  const missing: string[] = [];
  await pool(acks, 16, async (a) => {
    const r = await getKey(base, a.key);
    const node = (r.body as { node?: Node }).node;
    if (r.status !== 200 || !node) {
      missing.push(`${a.key} (round ${a.round}, acked index ${a.index}): GET ${r.status} ${r.text.trim()}`);
    } else if (node.value !== a.value) {
      missing.push(`${a.key}: value ${JSON.stringify(node.value)}, acked ${JSON.stringify(a.value)}`);
    } else if (a.index !== undefined && (node.modifiedIndex !== a.index || node.createdIndex !== a.index)) {
      missing.push(`${a.key}: modified/created index ${node.modifiedIndex}/${node.createdIndex}, acked ${a.index}`);
    }
  });
  missing.sort();
  assert.ok(
    missing.length === 0,
    `${when}: ${missing.length} of ${acks.length} acknowledged writes are lost or changed:\n  ${missing.slice(0, 40).join("\n  ")}`,
  );
}

const s = suite("e2e/durability");

s("an acknowledged PUT survives SIGKILL of the member while 16 clients write, round after round", async () => {
  const rounds = Math.max(1, Number(process.env.DURABILITY_ROUNDS ?? 5) || 5);
  const prng = createPrng(seedFromEnv("e2e/durability"));
  const dataDir = tempDir("durability");
  const acks: Ack[] = [];
  let p: Proc | undefined;
  let highest = 0;
  try {
    p = await startCoreplane({ ...PORTS, dataDir, extraArgs: ["--snapshot-count", String(SNAPSHOT_COUNT)] });
    for (let round = 1; round <= rounds; round++) {
      const killAfterMs = 300 + prng.int(1201);
      const problems: string[] = [];
      let stopped = false;
      const roundAcks: Ack[] = [];
      const writers = Array.from({ length: CLIENTS }, (_, c) => writer(p!.url, round, c, () => stopped, roundAcks, problems));
      await sleep(killAfterMs);
      stopped = true;
      const victim = p;
      p = undefined;
      await killHard(victim);
      const sent = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
      assert.ok(problems.length === 0, `round ${round}: errors before the kill:\n  ${problems.slice(0, 20).join("\n  ")}\n${victim.output().slice(-3000)}`);
      acks.push(...roundAcks);
      for (const a of roundAcks) if (a.index !== undefined && a.index > highest) highest = a.index;
      console.log(`  round ${round}: killed after ${killAfterMs} ms; ${sent} PUTs answered, ${roundAcks.length} acknowledged; ${acks.length} acknowledged so far`);
      assert.ok(roundAcks.length > 0, `round ${round}: no write was acknowledged in ${killAfterMs} ms:\n${victim.output().slice(-3000)}`);

      p = await startCoreplane({ ...PORTS, dataDir, extraArgs: ["--snapshot-count", String(SNAPSHOT_COUNT)] });
      try {
        await checkAcks(p.url, acks, `after kill -9 in round ${round} and a restart`);
        // The member takes new writes, and the index goes on from where the acknowledged ones ended.
        const after = await putKey(p.url, `/dur/after/r${round}`, `after-${round}`);
        assert.ok(after.status === 201, `PUT after restart in round ${round}: ${after.status} ${after.text}`);
        const idx = (after.body as { node: Node }).node.modifiedIndex;
        assert.ok(idx > highest, `round ${round}: first index after restart is ${idx}, not above the highest acknowledged ${highest}`);
        highest = idx;
        acks.push({ key: `/dur/after/r${round}`, value: `after-${round}`, index: idx, round });
      } catch (e) {
        (e as Error).message += `\n--- coreplane output after restart ---\n${p.output().slice(-3000)}`;
        throw e;
      }
    }
    await checkAcks(p!.url, acks, "at the end");
  } finally {
    await p?.stop({ keepData: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

s.run();
