// Real processes on loopback under faults, CI-sized (about a minute per runtime): 3 members with the
// leader and a follower SIGKILLed and restarted, a member paused with SIGSTOP, and the leader cut off
// by the fault proxy; 5 members split 2|3 (leader on each side); a member added and one removed
// through /v2/members. Each scenario checks that every acknowledged write is there, that the recorded
// history of PUT / CAS / quorum GET is linearizable, and that a write succeeds through the majority
// after every fault. SEED=n reproduces a schedule. CLUSTER_IMPL=etcd (or "coreplane,etcd") runs the
// same scenarios against a real etcd 3.4, which proves the harness. Heavier runs: cluster.faults.ts.
// Must not assert timings beyond liveness bounds.

import { suite } from "uvu";
import {
  addMember,
  isolateLeader,
  killRounds,
  pauseMember,
  removeMember,
  runScenario,
  seedFromEnv,
  splitMinorityMajority,
} from "./scenarios.ts";
import { implementations, scenario } from "./impls.ts";

const s = suite("cluster/faults (CI size)");
const seed = seedFromEnv("cluster/faults");

for (const impl of implementations()) {
  scenario(s, impl, `${impl}: 3 members, SIGKILL leader and follower with restarts, SIGSTOP, leader partitioned`, `${impl} 3 members kill/stop/partition`, async (name) => {
    await runScenario({ name, impl, size: 3, seed, snapshots: { count: 200, catchup: 50 } }, async (ctx) => {
      await killRounds(ctx, 2);
      await pauseMember(ctx, 500, 1500);
      await isolateLeader(ctx, 500, 1500);
    });
  });

  scenario(s, impl, `${impl}: 5 members, partition 2|3 with the leader in the minority, then in the majority`, `${impl} 5 members 2|3`, async (name) => {
    await runScenario({ name, impl, size: 5, seed, clients: 10, keys: 5 }, async (ctx) => {
      await splitMinorityMajority(ctx, 500, 1500, true);
      await splitMinorityMajority(ctx, 500, 1500, false);
    });
  });

  scenario(s, impl, `${impl}: add a member, then remove the leader or a follower`, `${impl} membership`, async (name) => {
    await runScenario({ name, impl, size: 3, seed }, async (ctx) => {
      await addMember(ctx);
      await ctx.pause(300, 800);
      await removeMember(ctx);
    });
  });
}

s.run();
