// The fault scenarios shared by the CI-sized suite (cluster.test.ts) and the heavier runs
// (cluster.faults.ts): a cluster of real processes, a recording workload, a seeded schedule of faults
// (SIGKILL, SIGSTOP/SIGCONT, proxy partitions and one-way cuts, member add/remove), and the three
// checks after every scenario: every acknowledged write is there, the history is linearizable, and
// the cluster made progress whenever a majority could talk (a probe write through the majority side
// must succeed within a bound after each fault).
// Must not retry a failed check, and must print the seed with every failure. Timing bounds here are
// liveness limits (generous), never performance assertions.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPrng, type Prng } from "../../internal/prng.ts";
import { Cluster, type ClusterOptions, type Implementation, runtimeName, sleep } from "../helpers/cluster.ts";
import { Workload } from "./workload.ts";

/** SEED=n reproduces a run; otherwise a seed is made up. Printed either way. */
export function seedFromEnv(name: string): number {
  const env = process.env.SEED;
  const seed = env !== undefined && /^\d+$/.test(env) ? Number(env) : (Date.now() ^ (process.pid << 10)) >>> 0;
  console.log(`  ${name}: seed=${seed} (SEED=${seed} reproduces the schedule)`);
  return seed;
}

export interface ScenarioOptions {
  readonly name: string;
  readonly impl: Implementation;
  readonly size: number;
  readonly seed: number;
  readonly clients?: number;
  readonly keys?: number;
  readonly proxy?: boolean;
  readonly cluster?: Partial<ClusterOptions>;
  /** Small snapshot settings so snapshots, compaction and snapshot transfer happen during faults. */
  readonly snapshots?: { count: number; catchup: number };
  /** Liveness bound for a probe write through a majority after a fault. */
  readonly progressLimitMs?: number;
  readonly opTimeoutMs?: number;
  /** Time limit of the linearizability search. */
  readonly checkTimeoutMs?: number;
}

export interface Ctx {
  readonly cluster: Cluster;
  readonly workload: Workload;
  readonly prng: Prng;
  /** A line in the scenario's log (printed on failure, and as it goes when CLUSTER_VERBOSE is set). */
  log(line: string): void;
  /**
   * A probe write through the members of `side` (which can talk to a majority) must succeed within
   * the liveness bound. Returns the ms it took.
   */
  progress(side: readonly number[], what: string): Promise<number>;
  /** The liveness bound (ms) for progress and leader waits. */
  readonly limitMs: number;
  /** Sleeps a seeded time in [minMs, maxMs]. */
  pause(minMs: number, maxMs: number): Promise<void>;
  /** A seeded pick. */
  pick<T>(items: readonly T[]): T;
}

class ScenarioFailure extends Error {}

/**
 * Runs one scenario end to end. After `body`, every fault is undone (heal, SIGCONT, restart), the
 * cluster must make progress, the workload stops, and the checks run. Throws with the seed, the
 * schedule, the workload summary and the members' log tails when a check fails.
 */
export async function runScenario(o: ScenarioOptions, body: (ctx: Ctx) => Promise<void>): Promise<void> {
  const prng = createPrng(o.seed);
  const lines: string[] = [];
  const t0 = Date.now();
  const log = (line: string) => {
    const l = `+${((Date.now() - t0) / 1000).toFixed(2)}s ${line}`;
    lines.push(l);
    if (process.env.CLUSTER_VERBOSE) console.log(`    ${o.name}: ${l}`);
  };
  const cluster = await Cluster.start({
    impl: o.impl,
    size: o.size,
    proxy: o.proxy ?? true,
    label: `${o.impl}-${o.name.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40)}`,
    snapshotCount: o.snapshots?.count,
    snapshotCatchupEntries: o.snapshots?.catchup,
    ...o.cluster,
  });
  const keys = Array.from({ length: o.keys ?? 3 }, (_, i) => `/lin/k${i}`);
  const workload = new Workload({
    keys,
    clients: o.clients ?? 6,
    prng: createPrng(prng.int(2 ** 31)),
    // Members that are up or paused: a paused one answers late (or the client gives up), which is
    // the case where a stale leader could answer wrongly. Down and removed members are skipped.
    targets: () => cluster.members.filter((m) => m.state === "up" || m.state === "paused").map((m) => m.clientUrl),
    opTimeoutMs: o.opTimeoutMs ?? 2500,
    uniquePrefix: "/acks",
  });
  const limit = o.progressLimitMs ?? 15_000;
  let probes = 0;
  const progress = async (side: readonly number[], what: string): Promise<number> => {
    const start = Date.now();
    let last = "";
    for (let attempt = 0; ; attempt++) {
      const ups = side.filter((i) => cluster.member(i).state === "up");
      if (ups.length === 0) throw new ScenarioFailure(`progress after ${what}: no member of ${JSON.stringify(side)} is up`);
      const m = cluster.member(ups[attempt % ups.length]);
      try {
        const r = await fetch(`${m.clientUrl}/v2/keys/probe/p${probes++}`, {
          method: "PUT",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "value=probe",
          signal: AbortSignal.timeout(Math.min(3000, Math.max(500, limit - (Date.now() - start)))),
        });
        const text = await r.text();
        if (r.status === 200 || r.status === 201) {
          const ms = Date.now() - start;
          log(`progress after ${what}: a write through member ${m.index} succeeded after ${ms} ms`);
          return ms;
        }
        last = `member ${m.index}: ${r.status} ${text.trim().slice(0, 200)}`;
      } catch (e) {
        last = `member ${m.index}: ${(e as Error).message}`;
      }
      if (Date.now() - start > limit) {
        throw new ScenarioFailure(`no progress within ${limit} ms after ${what}, although members ${JSON.stringify(side)} can talk to a majority (last: ${last})`);
      }
      await sleep(100);
    }
  };
  const ctx: Ctx = {
    cluster,
    workload,
    prng,
    log,
    progress,
    limitMs: limit,
    pause: (minMs, maxMs) => sleep(minMs + prng.int(Math.max(1, maxMs - minMs + 1))),
    pick: <T>(items: readonly T[]) => items[prng.int(items.length)],
  };
  let failed = true;
  try {
    log(`started ${o.size} ${o.impl} members on ${runtimeName}; leader ${await cluster.leader()}`);
    workload.start();
    await sleep(500);
    await body(ctx);
    // Undo every fault, then the whole cluster must serve again.
    await cluster.proxy?.heal();
    for (const m of cluster.members) {
      if (m.state === "paused") await cluster.kill(m.index, "SIGCONT");
      else if (m.state === "down") await cluster.restart(m.index);
    }
    const voters = cluster.voters().map((m) => m.index);
    await progress(voters, "healing everything");
    await cluster.waitForLeader(limit);
    await sleep(300);
    await workload.stop();
    log(`workload: ${workload.summary()}`);
    if (workload.wrongAnswers.length > 0) {
      throw new ScenarioFailure(`${workload.wrongAnswers.length} answers described another request:\n  ${workload.wrongAnswers.slice(0, 10).join("\n  ")}`);
    }
    const bases = cluster.upUrls();
    const finals = await workload.finalReads(bases);
    const lost = await workload.lostWrites(bases, finals);
    if (lost.length > 0) throw new ScenarioFailure(`acknowledged writes lost:\n  ${lost.join("\n  ")}`);
    if (workload.counts.acked === 0) throw new ScenarioFailure("no write was acknowledged during the whole run");
    const lin = workload.checkLinearizable(o.checkTimeoutMs ?? 60_000);
    log(`linearizability: ${lin.result} in ${Math.round(lin.elapsedMs)} ms`);
    if (lin.result !== "ok") throw new ScenarioFailure(lin.text);
    failed = false;
  } catch (e) {
    const err = e as Error;
    const kept = cluster.keepOnFailure();
    // Operations still in flight are recorded when they end: stop first, then save the history.
    await workload.stop().catch(() => {});
    if (!kept) lines.push("rerun with CLUSTER_KEEP=1 to keep the run dir (data dirs, logs, history.json)");
    else {
      try {
        writeFileSync(join(cluster.runDir, "history.json"), JSON.stringify(workload.history.map((op) => ({ ...op, return: op.return === Infinity ? null : op.return }))));
        lines.push(`history written to ${join(cluster.runDir, "history.json")} (return null = unknown)`);
      } catch { /* the run dir may be gone */ }
    }
    err.message =
      `${o.name} (${o.impl} on ${runtimeName}) failed with seed ${o.seed}; rerun with SEED=${o.seed}\n${err.message}\n` +
      `--- schedule ---\n${lines.join("\n")}\n--- workload ---\n${workload.summary()}\n${cluster.describe()}\n${cluster.tails()}`;
    throw err;
  } finally {
    await workload.stop().catch(() => {});
    await cluster.stop();
    if (!failed) console.log(`  ${o.name} (${o.impl}): ok in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${workload.summary()}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The scenarios. Each takes its sizes so CI runs a short version and test:faults a long one.

const others = (c: Cluster, i: number) => c.voters().map((m) => m.index).filter((x) => x !== i);

/** SIGKILL the leader, then a follower, `rounds` times, restarting each on its data dir. */
export async function killRounds(ctx: Ctx, rounds: number): Promise<void> {
  const { cluster: c } = ctx;
  for (let r = 1; r <= rounds; r++) {
    const l = await c.waitForLeader();
    await c.kill(l, "SIGKILL");
    ctx.log(`round ${r}: SIGKILL leader ${l}`);
    await ctx.progress(others(c, l), `SIGKILL of leader ${l}`);
    await ctx.pause(100, 1000);
    await c.restart(l);
    ctx.log(`round ${r}: restarted ${l}`);
    const l2 = await c.waitForLeader();
    const f = ctx.pick(others(c, l2));
    await c.kill(f, "SIGKILL");
    ctx.log(`round ${r}: SIGKILL follower ${f}`);
    await ctx.progress(others(c, f), `SIGKILL of follower ${f}`);
    await ctx.pause(100, 1000);
    await c.restart(f);
    ctx.log(`round ${r}: restarted ${f}`);
  }
}

/** SIGSTOP a member (the leader or a follower, seeded) for a while, then SIGCONT. */
export async function pauseMember(ctx: Ctx, minMs: number, maxMs: number): Promise<void> {
  const { cluster: c } = ctx;
  const l = await c.waitForLeader();
  const victim = ctx.prng.int(2) === 0 ? l : ctx.pick(others(c, l));
  await c.kill(victim, "SIGSTOP");
  ctx.log(`SIGSTOP ${victim === l ? "leader" : "follower"} ${victim}`);
  await ctx.progress(others(c, victim), `SIGSTOP of member ${victim}`);
  await ctx.pause(minMs, maxMs);
  await c.kill(victim, "SIGCONT");
  ctx.log(`SIGCONT ${victim}`);
  await ctx.progress(c.voters().map((m) => m.index), `SIGCONT of member ${victim}`);
}

/** Cuts the leader off from every other member with the proxy, then heals. */
export async function isolateLeader(ctx: Ctx, minMs: number, maxMs: number): Promise<void> {
  const { cluster: c } = ctx;
  const l = await c.waitForLeader();
  const rest = others(c, l);
  await c.proxy!.partition([[l], rest]);
  ctx.log(`partition: leader ${l} | ${rest.join(",")}`);
  await ctx.progress(rest, `isolating leader ${l}`);
  // A leader agreed on by the majority side alone: proves the proxy really cut the old leader off.
  const nl = await c.waitForLeader(ctx.limitMs, rest);
  ctx.log(`new leader ${nl} on the majority side`);
  await ctx.pause(minMs, maxMs);
  await c.proxy!.heal();
  ctx.log("healed");
  await ctx.progress(c.voters().map((m) => m.index), "healing the partition");
}

/**
 * A symmetric partition into a minority and a majority (e.g. 2|3 of 5); the leader is put on the
 * minority side or the majority side (seeded), then healed.
 */
export async function splitMinorityMajority(ctx: Ctx, minMs: number, maxMs: number, leaderInMinority?: boolean): Promise<void> {
  const { cluster: c } = ctx;
  const all = c.voters().map((m) => m.index);
  const l = await c.waitForLeader();
  const minoritySize = Math.floor((all.length - 1) / 2);
  const inMinority = leaderInMinority ?? ctx.prng.int(2) === 0;
  const pool = all.filter((x) => x !== l);
  // Seeded shuffle of the others.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = ctx.prng.int(i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const minority = inMinority ? [l, ...pool.slice(0, minoritySize - 1)] : pool.slice(0, minoritySize);
  const majority = all.filter((x) => !minority.includes(x));
  await c.proxy!.partition([minority, majority]);
  ctx.log(`partition: ${minority.join(",")} | ${majority.join(",")} (leader ${l} in the ${inMinority ? "minority" : "majority"})`);
  await ctx.progress(majority, `partition ${minority.join(",")}|${majority.join(",")}`);
  const nl = await c.waitForLeader(ctx.limitMs, majority);
  ctx.log(`leader ${nl} on the majority side`);
  await ctx.pause(minMs, maxMs);
  await c.proxy!.heal();
  ctx.log("healed");
  await ctx.progress(all, "healing the partition");
}

/**
 * One-way cuts: the leader's messages stop reaching the followers while theirs still reach it (the
 * followers elect a new leader; the old one must step down), then heal.
 */
export async function asymmetricLeaderCut(ctx: Ctx, minMs: number, maxMs: number): Promise<void> {
  const { cluster: c } = ctx;
  const l = await c.waitForLeader();
  const rest = others(c, l);
  for (const f of rest) await c.proxy!.cut(l, f);
  ctx.log(`one-way cut: leader ${l} -> ${rest.join(",")}`);
  await ctx.progress(rest, `one-way cut from leader ${l}`);
  const nl = await c.waitForLeader(ctx.limitMs, rest);
  ctx.log(`new leader ${nl} among the members the old one cannot reach`);
  await ctx.pause(minMs, maxMs);
  await c.proxy!.heal();
  ctx.log("healed");
  await ctx.progress(c.voters().map((m) => m.index), "healing the one-way cut");
}

/** Adds a member (POST /v2/members, then start it with --initial-cluster-state existing). */
export async function addMember(ctx: Ctx): Promise<number> {
  const { cluster: c } = ctx;
  const i = await c.addMember();
  ctx.log(`added member ${i}`);
  await ctx.progress(c.voters().map((m) => m.index), `adding member ${i}`);
  // The new member must catch up and serve: a quorum read through it sees a write made through another.
  const key = `/probe/added-${i}`;
  const w = await fetch(`${c.upUrls()[0]}/v2/keys${key}`, {
    method: "PUT",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `value=m${i}`,
    signal: AbortSignal.timeout(10_000),
  }).catch((e) => e as Error);
  if (w instanceof Error || (w.status !== 200 && w.status !== 201)) {
    throw new ScenarioFailure(`a write after adding member ${i} failed: ${w instanceof Error ? w.message : `${w.status} ${await w.text()}`}`);
  }
  await w.text();
  const r = await fetch(`${c.member(i).clientUrl}/v2/keys${key}?quorum=true`, { signal: AbortSignal.timeout(10_000) }).catch((e) => e as Error);
  const text = r instanceof Error ? r.message : await r.text();
  if (r instanceof Error || r.status !== 200 || (JSON.parse(text) as { node?: { value?: string } }).node?.value !== `m${i}`) {
    throw new ScenarioFailure(`the new member ${i} does not serve a quorum read of ${key}: ${r instanceof Error ? text : `${r.status} ${text}`}`);
  }
  return i;
}

/** Removes a member (the leader or a follower, seeded, unless given); it must stop by itself. */
export async function removeMember(ctx: Ctx, which?: "leader" | "follower"): Promise<number> {
  const { cluster: c } = ctx;
  const l = await c.waitForLeader();
  const kind = which ?? (ctx.prng.int(2) === 0 ? "leader" : "follower");
  const victim = kind === "leader" ? l : ctx.pick(others(c, l));
  const via = ctx.pick(others(c, victim).filter((i) => c.member(i).state === "up"));
  const { stoppedByItself } = await c.removeMember(victim, { via });
  ctx.log(`removed ${kind} ${victim} via ${via}; it ${stoppedByItself ? "stopped by itself" : "did NOT stop by itself and was killed"}`);
  if (!stoppedByItself) throw new ScenarioFailure(`member ${victim} was removed but did not stop within 15 s`);
  await ctx.progress(c.voters().map((m) => m.index), `removing ${kind} ${victim}`);
  return victim;
}

/**
 * A rolling restart: each member in turn gets SIGTERM (a graceful stop, which should hand leadership
 * over first) and is started again; writes must keep succeeding through the others.
 */
export async function rollingRestart(ctx: Ctx): Promise<void> {
  const { cluster: c } = ctx;
  for (const m of c.voters().map((x) => x.index)) {
    const l = await c.waitForLeader();
    await c.kill(m, "SIGTERM");
    ctx.log(`SIGTERM ${m === l ? "leader" : "follower"} ${m}`);
    await ctx.progress(others(c, m), `SIGTERM of member ${m}`);
    await c.restart(m);
    ctx.log(`restarted ${m}`);
    await ctx.progress(c.voters().map((x) => x.index), `restarting member ${m}`);
  }
}

/**
 * Seeded chaos: `steps` rounds; in each, a random minority of members (the leader half of the time)
 * each get their own fault: SIGKILL, SIGSTOP, isolation by the proxy, or one-way cuts to or from
 * every healthy member; sometimes every link is slowed as well. The faults are held for a while and
 * then undone. The healthy majority can always talk, so a write through it must get through.
 */
export async function chaos(ctx: Ctx, steps: number, holdMinMs = 300, holdMaxMs = 2000): Promise<void> {
  const { cluster: c } = ctx;
  type Kind = "kill" | "stop" | "isolate" | "cut";
  for (let step = 1; step <= steps; step++) {
    const all = c.voters().map((m) => m.index);
    const minority = Math.floor((all.length - 1) / 2);
    const shuffled = [...all];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = ctx.prng.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    // Aim at the leader half of the time: it is where most bugs hide.
    const l = await c.waitForLeader();
    if (ctx.prng.int(2) === 0) {
      shuffled.splice(shuffled.indexOf(l), 1);
      shuffled.unshift(l);
    }
    const victims = shuffled.slice(0, 1 + ctx.prng.int(minority));
    const healthy = all.filter((x) => !victims.includes(x));
    const kinds = victims.map(() => ctx.pick(["kill", "stop", "isolate", "cut"] as const satisfies readonly Kind[]));
    const slow = ctx.prng.int(4) === 0;
    const what = victims.map((v, i) => `${kinds[i]} ${v}`).join(", ") + (slow ? ", slow links" : "");
    ctx.log(`chaos step ${step}: ${what} (leader ${l})`);
    if (slow) await c.proxy!.setDelay(5 + ctx.prng.int(40), ctx.prng.int(30));
    for (let i = 0; i < victims.length; i++) {
      const v = victims[i];
      switch (kinds[i]) {
        case "kill":
          await c.kill(v, "SIGKILL");
          break;
        case "stop":
          await c.kill(v, "SIGSTOP");
          break;
        case "isolate":
          await c.proxy!.isolate(v);
          break;
        case "cut":
          // One direction between the victim and each healthy member, chosen per pair.
          for (const h of healthy) {
            if (ctx.prng.int(2) === 0) await c.proxy!.cut(v, h);
            else await c.proxy!.cut(h, v);
          }
          break;
      }
    }
    await ctx.progress(healthy, `chaos step ${step} (${what})`);
    await ctx.pause(holdMinMs, holdMaxMs);
    await c.proxy!.heal();
    if (slow) await c.proxy!.setDelay(0);
    for (let i = 0; i < victims.length; i++) {
      if (kinds[i] === "kill") await c.restart(victims[i]);
      if (kinds[i] === "stop") await c.kill(victims[i], "SIGCONT");
    }
    await ctx.progress(all, `undoing chaos step ${step}`);
  }
}
