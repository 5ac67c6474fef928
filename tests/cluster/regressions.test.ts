// Deterministic real-process reproductions of bugs the fault runs found in coreplane, one per test,
// each a few seconds: they stay as regression tests once fixed (both are). 1) A member added
// after the leader compacted its log must catch up from a snapshot.
// 2) A restarted member must never answer a new request with the result of an entry proposed by its
// previous incarnation (request ids must not repeat across restarts).
// Must not depend on timing beyond liveness bounds.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Cluster, sleep } from "../helpers/cluster.ts";
import { selected } from "./impls.ts";
import { skip } from "../helpers/requires.ts";

const s = suite("cluster/regressions");

/** Registers a case, skipped (with its SKIP line) when CLUSTER_CASES leaves `name` out. */
function regression(name: string, title: string, body: () => Promise<void>): void {
  if (selected(name)) s(title, body);
  else skip(s, title, `not selected by CLUSTER_CASES=${process.env.CLUSTER_CASES}`, body);
}

async function put(base: string, key: string, value: string, timeoutMs = 8000): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`${base}/v2/keys${key}`, {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `value=${encodeURIComponent(value)}`,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: r.status, body: await r.text() };
  } catch (e) {
    return { status: 0, body: String(e) };
  }
}

async function withCluster(c: Cluster, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    c.keepOnFailure();
    (e as Error).message += `\n${c.describe()}\n${c.tails(1500)}`;
    throw e;
  } finally {
    await c.stop();
  }
}

regression("regression: join after compaction", "a member added after log compaction catches up through a snapshot that includes it", async () => {
  const c = await Cluster.start({ impl: "coreplane", size: 3, snapshotCount: 200, snapshotCatchupEntries: 50, label: "join-after-compaction" });
  await withCluster(c, async () => {
    const base = c.member(0).clientUrl;
    for (let i = 0; i < 300; i++) {
      const r = await put(base, `/pre/k${i}`, `v${i}`);
      assert.ok(r.status === 200 || r.status === 201, `PUT ${i}: ${r.status} ${r.body}`);
    }
    const n = await c.addMember();
    let last = "";
    const until = Date.now() + 15_000;
    for (;;) {
      const r = await fetch(`${c.member(n).clientUrl}/v2/keys/pre/k299?quorum=true`, { signal: AbortSignal.timeout(5000) }).catch((e) => e as Error);
      last = r instanceof Error ? r.message : `${r.status} ${await r.text()}`;
      if (!(r instanceof Error) && r.status === 200) break;
      assert.ok(Date.now() < until, `the new member ${n} did not serve a quorum read within 15 s (it needs a snapshot that lists it); last answer: ${last}`);
      await sleep(200);
    }
    assert.ok(last.includes('"value":"v299"'), `quorum read through the new member: ${last}`);
  });
});

regression("regression: request ids across restarts", "a restarted member never answers a new request with an entry of its previous incarnation", async () => {
  const c = await Cluster.start({ impl: "coreplane", size: 3, proxy: true, label: "request-ids" });
  await withCluster(c, async () => {
    const l = await c.waitForLeader();
    const x = [0, 1, 2].find((i) => i !== l)!;
    const xu = c.member(x).clientUrl;
    // Appends from the leader no longer reach x, heartbeats still do: x knows the leader and forwards
    // its clients' writes, which commit without x; x cannot apply them.
    await c.proxy!.cut(l, x, "app");
    const old = Array.from({ length: 10 }, (_, k) => put(xu, `/old/k${k}`, `old${k}`));
    await sleep(500);
    await c.kill(x, "SIGKILL");
    await Promise.all(old);
    // The new process starts its request ids again; its writes also commit without it.
    await c.restart(x);
    await sleep(500);
    const fresh = Array.from({ length: 10 }, (_, k) => put(xu, `/new/k${k}`, `new${k}`));
    await sleep(500);
    // Now x receives the log: the previous incarnation's entries first, then its own.
    await c.proxy!.heal();
    const answers = await Promise.all(fresh);
    const wrong: string[] = [];
    answers.forEach((r, k) => {
      if (r.status === 200 || r.status === 201) {
        const node = (JSON.parse(r.body) as { node?: { key?: string; value?: string } }).node;
        if (node?.key !== `/new/k${k}` || node?.value !== `new${k}`) wrong.push(`PUT /new/k${k}=new${k} answered ${r.status} ${r.body.trim()}`);
      } else if (r.status !== 0 && !r.body.includes('"errorCode"')) {
        // An etcd-style error (e.g. a timeout) is a fair answer; a bare 500 is a crash in the handler.
        wrong.push(`PUT /new/k${k}=new${k} answered ${r.status} ${r.body.trim()}`);
      }
    });
    assert.ok(wrong.length === 0, `${wrong.length} of 10 writes through the restarted member ${x} got another request's answer:\n  ${wrong.join("\n  ")}`);
  });
});

s.run();
