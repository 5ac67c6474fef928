// Real processes on loopback under faults, the heavy version (`npm run test:faults`): the CI
// scenarios with many more rounds, plus black-hole partitions, one-way cuts, slow links, a rolling
// restart, membership churn, and a long seeded chaos run on 5 members, all with small snapshot
// settings so snapshots, compaction and snapshot transfer happen under the faults. Same checks as the
// CI suite: every acknowledged write is there, the history is linearizable, and a write succeeds
// through the majority after every fault. FAULTS_SCALE=n multiplies the rounds (default 1);
// SEED=n reproduces a schedule; CLUSTER_IMPL=etcd runs the same against etcd 3.4; CLUSTER_CASES=chaos
// runs only the cases whose name contains "chaos".
// Must not assert timings beyond liveness bounds.

import { suite } from "uvu";
import {
  addMember,
  asymmetricLeaderCut,
  chaos,
  isolateLeader,
  killRounds,
  pauseMember,
  removeMember,
  rollingRestart,
  runScenario,
  seedFromEnv,
  splitMinorityMajority,
} from "./scenarios.ts";
import { implementations, scenario } from "./impls.ts";

const s = suite("cluster/faults (heavy)");
const seed = seedFromEnv("cluster/faults heavy");
const scale = Math.max(1, Number(process.env.FAULTS_SCALE ?? 1) || 1);
const snapshots = { count: 200, catchup: 50 };

for (const impl of implementations()) {
  scenario(s, impl, `${impl}: 3 members, ${5 * scale} kill rounds, pauses, partitions (reject and black-hole), one-way cuts`, `${impl} 3 members heavy`, async (name) => {
    await runScenario({ name, impl, size: 3, seed, clients: 8, keys: 4, snapshots }, async (ctx) => {
      for (let r = 0; r < scale; r++) {
        await killRounds(ctx, 5);
        await pauseMember(ctx, 1000, 4000);
        await pauseMember(ctx, 1000, 4000);
        await isolateLeader(ctx, 1000, 3000);
        await ctx.cluster.proxy!.setMode("blackhole");
        await isolateLeader(ctx, 1000, 3000);
        await splitMinorityMajority(ctx, 1000, 3000);
        await ctx.cluster.proxy!.setMode("reject");
        await asymmetricLeaderCut(ctx, 1000, 3000);
      }
    });
  });

  scenario(s, impl, `${impl}: 5 members, ${6 * scale} partitions 2|3, leader kills, one-way cuts, slow links`, `${impl} 5 members heavy`, async (name) => {
    await runScenario({ name, impl, size: 5, seed, clients: 10, keys: 5, snapshots }, async (ctx) => {
      for (let r = 0; r < scale; r++) {
        await splitMinorityMajority(ctx, 1000, 3000, true);
        await splitMinorityMajority(ctx, 1000, 3000, false);
        await ctx.cluster.proxy!.setDelay(20, 30);
        ctx.log("proxy delay 20-50 ms on every link");
        await splitMinorityMajority(ctx, 1000, 3000);
        await killRounds(ctx, 2);
        await ctx.cluster.proxy!.setDelay(0);
        await ctx.cluster.proxy!.setMode("blackhole");
        await splitMinorityMajority(ctx, 1000, 3000);
        await ctx.cluster.proxy!.setMode("reject");
        await asymmetricLeaderCut(ctx, 1000, 3000);
        await splitMinorityMajority(ctx, 1000, 3000);
        await splitMinorityMajority(ctx, 1000, 3000);
      }
    });
  });

  scenario(s, impl, `${impl}: membership churn: grow 3 -> 5, remove the leader and a follower, kill a new member, add again`, `${impl} membership heavy`, async (name) => {
    await runScenario({ name, impl, size: 3, seed, clients: 8, keys: 4, snapshots }, async (ctx) => {
      for (let r = 0; r < scale; r++) {
        const a = await addMember(ctx);
        await ctx.pause(500, 1500);
        await addMember(ctx);
        await ctx.pause(500, 1500);
        await removeMember(ctx, "leader");
        await ctx.pause(500, 1500);
        await ctx.cluster.kill(a, "SIGKILL");
        ctx.log(`SIGKILL new member ${a}`);
        await ctx.progress(ctx.cluster.voters().map((m) => m.index).filter((i) => i !== a), `SIGKILL of new member ${a}`);
        await ctx.pause(500, 2000);
        await ctx.cluster.restart(a);
        ctx.log(`restarted ${a}`);
        await removeMember(ctx, "follower");
        await addMember(ctx);
        await killRounds(ctx, 1);
      }
    });
  });

  scenario(s, impl, `${impl}: rolling restart with SIGTERM, twice`, `${impl} rolling restart`, async (name) => {
    await runScenario({ name, impl, size: 3, seed, clients: 6, snapshots }, async (ctx) => {
      for (let r = 0; r < 2 * scale; r++) await rollingRestart(ctx);
    });
  });

  scenario(s, impl, `${impl}: 5 members, ${25 * scale} seeded chaos steps`, `${impl} chaos`, async (name) => {
    await runScenario({ name, impl, size: 5, seed, clients: 10, keys: 5, snapshots }, async (ctx) => {
      await chaos(ctx, 25 * scale);
    });
  });
}

s.run();
