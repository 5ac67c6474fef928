// Cluster figure 5: failover. On one 3-member cluster, `kills` times: wait until the cluster is
// whole (all three agree on a leader and have a marker write), settle, SIGKILL the leader's
// process group, and time from the signal until the first PUT to a surviving member succeeds.
// Then restart the killed member on its data dir. The figure is the worst time.
//
// Writes are tried on both survivors every `attemptEveryMs`, each attempt with its own timeout and
// overlapping the earlier ones: etcd drops a proposal made while there is no leader and answers it
// only at its request timeout (7 s), so one request at a time would measure that timeout instead
// of the election; a member that queues writes until a leader exists is answered as soon as it
// commits. The resolution is therefore attemptEveryMs plus one write's latency. The survivors'
// /v2/stats/self is polled meanwhile to record when a new leader was first reported.
// Must not kill anything but the cluster's own members.

import { type ClusterCtx, clusterSideName, withFreshCluster } from "../cluster_context.ts";
import { electionMs, type Member, selfStats } from "../cluster_members.ts";
import { clusterFigureDefs, summarizeFailover } from "../cluster_report.ts";
import { cpuSnapshot, otherCores } from "../cpu.ts";
import type { Measurement } from "../report.ts";
import type { Side } from "../servers.ts";

const attemptEveryMs = 20;
const attemptTimeoutMs = 3000;
const giveUpMs = 30_000;
const value = "0123456789abcdef".repeat(4);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface FirstWrite {
  ms: number;
  member: string;
  attempts: number;
  /** When a survivor first reported itself leader, ms after the kill (undefined if never seen). */
  leaderSeenMs?: number;
  newLeader?: string;
  /** Statuses of failed attempts (status → count; 0 = connection error, -1 = timed out). */
  failed: Record<string, number>;
}

/** From t0, try PUTs on the survivors until one succeeds; also watch for the new leader. */
async function firstWrite(survivors: Member[], t0: number, keyBase: string): Promise<FirstWrite> {
  const stop = new AbortController();
  let attempts = 0;
  const failed: Record<string, number> = {};
  let leaderSeenMs: number | undefined;
  let newLeader: string | undefined;

  const watchLeader = (async () => {
    while (!stop.signal.aborted && leaderSeenMs === undefined) {
      const stats = await Promise.all(survivors.map((m) => selfStats(m, 500)));
      const i = stats.findIndex((s) => s?.state === "StateLeader");
      if (i >= 0) {
        leaderSeenMs = performance.now() - t0;
        newLeader = survivors[i].name;
      } else await sleep(10);
    }
  })();

  const won = new Promise<{ ms: number; member: string }>((resolve, reject) => {
    const giveUp = setTimeout(
      () => reject(new Error(`no write succeeded within ${giveUpMs} ms of the kill`)),
      giveUpMs,
    );
    stop.signal.addEventListener("abort", () => clearTimeout(giveUp));
    const attempt = (m: Member) => {
      const n = ++attempts;
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(attemptTimeoutMs)]);
      fetch(`${m.url}/v2/keys/bench/failover/${keyBase}a${n}`, {
        method: "PUT",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `value=${value}`,
        signal,
      }).then(async (res) => {
        await res.body?.cancel();
        if (res.status >= 200 && res.status < 300) {
          if (!stop.signal.aborted) resolve({ ms: performance.now() - t0, member: m.name });
        } else failed[res.status] = (failed[res.status] ?? 0) + 1;
      }).catch(() => {
        if (stop.signal.aborted) return;
        const k = signal.aborted ? "-1" : "0";
        failed[k] = (failed[k] ?? 0) + 1;
      });
    };
    const timer = setInterval(() => {
      for (const m of survivors) attempt(m);
    }, attemptEveryMs);
    stop.signal.addEventListener("abort", () => clearInterval(timer));
    for (const m of survivors) attempt(m);
  });

  try {
    const w = await won;
    return { ...w, attempts, leaderSeenMs, newLeader, failed };
  } finally {
    stop.abort();
    await watchLeader;
  }
}

export interface FailoverKill {
  kill: number;
  killed: string;
  ms: number;
  member: string;
  attempts: number;
  leaderSeenMs?: number;
  newLeader?: string;
  failed: Record<string, number>;
  /** How long the killed member took to come back and the cluster to be whole again. */
  rejoinMs: number;
}

export async function measureClusterFailover(ctx: ClusterCtx, side: Side): Promise<Measurement> {
  const figure = "failover";
  const name = clusterSideName(ctx, side);
  const limit = clusterFigureDefs.failover.bar.kind === "atMost"
    ? clusterFigureDefs.failover.bar.limit
    : Infinity;
  return await withFreshCluster(ctx, side, figure, async (c) => {
    const cpuBefore = cpuSnapshot();
    const kills: FailoverKill[] = [];
    await c.waitHealthy(60_000);
    for (let k = 1; k <= ctx.params.kills; k++) {
      await sleep(ctx.params.settleMs);
      // The leader right now (it may have moved while the cluster settled).
      const leader = await c.waitLeader(30_000, c.members.length);
      const survivors = c.members.filter((m) => m !== leader);
      const t0 = performance.now();
      const killed = c.kill(leader);
      const w = await firstWrite(survivors, t0, `k${k}`);
      await killed;
      const seen = w.leaderSeenMs === undefined
        ? "no leader seen"
        : `${w.newLeader} leader at ${w.leaderSeenMs.toFixed(0)} ms`;
      const fails = Object.entries(w.failed).map(([s, n]) =>
        `${s === "-1" ? "timeout" : s === "0" ? "conn" : s}×${n}`
      ).join(" ");
      ctx.progress.say(
        figure,
        name,
        `kill ${k}/${ctx.params.kills}: ${leader.name} → write ok on ${w.member} after ${
          w.ms.toFixed(0)
        } ms (${seen}; ${w.attempts} attempts${fails ? `, failed ${fails}` : ""})`,
      );
      // Restart the killed member and wait until the cluster is whole before the next kill.
      const r0 = performance.now();
      c.spawn(leader);
      await c.waitHealthy(120_000);
      kills.push({ kill: k, killed: leader.name, ...w, rejoinMs: performance.now() - r0 });
      if (w.ms < electionMs / 2) {
        ctx.progress.say(
          figure,
          name,
          `WARNING: a write got through ${
            w.ms.toFixed(0)
          } ms after the kill, before any election could finish`,
        );
      }
    }
    const s = summarizeFailover(kills.map((x) => x.ms), limit);
    ctx.progress.say(
      figure,
      name,
      `worst ${s.worstMs.toFixed(0)} ms, median ${s.medianMs.toFixed(0)} ms, best ${
        s.bestMs.toFixed(0)
      } ms; ${s.over}/${s.kills} over ${limit} ms`,
    );
    return {
      value: s.worstMs,
      detail: {
        ...s,
        otherCores: otherCores(cpuBefore, cpuSnapshot()),
        electionTimeoutMs: electionMs,
        attemptEveryMs,
        attemptTimeoutMs,
        settleMs: ctx.params.settleMs,
        kills,
      },
    };
  });
}
