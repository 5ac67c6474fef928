// End to end, real 3-member clusters on loopback: a member whose disk fills up, or whose log is
// corrupt, fails loudly and does not take the cluster down (issue 3, section 3).
// - Disk full (a follower, then the leader): each member's data dir is on a tmpfs of its own
//   (mounted here, which needs root); a filler file leaves the victim about 1 MiB, and writes go
//   through the leader until the victim exits. It must exit non-zero saying the disk is full and
//   what to do; the other two go on taking writes and quorum reads (a new leader when the leader
//   died); every acknowledged write is readable with quorum=true; once the filler is gone the
//   victim restarts on the same data dir, catches up and serves every acknowledged write.
//   Without root the disk-full cases print SKIP (and fail under CI=true), as e2e/disk_full does.
// - Corrupt log: a stopped follower's last entry gets one byte flipped; it must refuse to start,
//   naming the entry and how to replace the member, while the others go on; `log repair` refuses
//   on a cluster member (truncating would wedge it: the leader counts what it acknowledged); the
//   member is replaced as with etcd (remove, fresh data dir, add, start with existing) and catches
//   up, writes made while it was down included.
// The cases share one cluster while it stays whole (member starts dominate the run time); a case
// that finds a member down gets a fresh cluster on other ports, so one failure does not cascade.
// Must assert behaviour, never timing (time limits here are liveness bounds only).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../helpers/ports.ts";
import { requires } from "../helpers/requires.ts";
import { mainCommand, type Proc, repoRoot, startCoreplane, tempDir } from "../helpers/procs.ts";
import { corruptEntry } from "../cli/fixtures.ts";
import { loadRuntime } from "../../node/runtime.ts";
import { DB_FILE } from "../../node/storage_sqlite.ts";
import { runLog } from "../../cli/mod.ts";
import { keyPath, pool, sleep } from "./_util.ts";

const s = suite("e2e/cluster_member_faults");

const MEMBERS = [1, 2, 3] as const;
/** Cluster generation g (see cluster()) has ports of its own from the OS: members 1-3's client ports, then their peer ports. */
const generationPorts = new Map<number, number[]>();
const clientPort = (g: number, i: number) => generationPorts.get(g)![i - 1];
const peerPort = (g: number, i: number) => generationPorts.get(g)![2 + i];
const clientUrl = (g: number, i: number) => `http://127.0.0.1:${clientPort(g, i)}`;
const peerUrl = (g: number, i: number) => `http://127.0.0.1:${peerPort(g, i)}`;

const FS_BYTES = 32 * 1024 * 1024;
/** Room left on the victim's file system once the filler is written. */
const FREE_BYTES = 1024 * 1024;
const VALUE_BYTES = 8 * 1024;
const WRITERS = 4;
/** A bound on the writes while filling: ~1 MiB of room holds far fewer 8 KiB entries than this. */
const FILL_WRITES_MAX = 4000;
const MOUNT_PREFIX = "coreplane-e2e-memberfaults-";
const DISK_FULL = /disk (is )?full|no space left|ENOSPC/i;

// ---------------------------------------------------------------------------------------------
// Mounts (as in e2e/disk_full.test.ts, under a prefix of this suite's own)

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function unmount(dir: string): void {
  try {
    execFile("umount", [dir]);
  } catch {
    // Busy (a process still holds a file): detach it now, it goes when the last file closes.
    try {
      execFile("umount", ["-l", dir]);
    } catch { /* not mounted */ }
  }
  try {
    rmdirSync(dir);
  } catch { /* not empty or gone */ }
}

/** Mounts are set up and torn down outside any concurrency, so synchronously. */
function execFile(cmd: string, args: string[]): void {
  const r = spawnSyncText(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
}

function spawnSyncText(cmd: string, args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) return { code: -1, stderr: r.error.message };
  return { code: r.status, stderr: new TextDecoder().decode(r.stderr ?? new Uint8Array()) };
}

/** Removes mounts left by earlier runs of this suite whose process is gone. */
function removeStaleMounts(): void {
  let mounts = "";
  try {
    mounts = readFileSync("/proc/mounts", "utf8");
  } catch {
    return;
  }
  for (const line of mounts.split("\n")) {
    const dir = line.split(" ")[1] ?? "";
    const m = new RegExp(`/${MOUNT_PREFIX}(\\d+)-[^/]+$`).exec(dir);
    if (m && !alive(Number(m[1]))) unmount(dir);
  }
}

/** Mounts a tmpfs of `bytes`; returns its dir, or the reason it could not. */
function mountSmallFs(bytes: number): { dir: string } | { why: string } {
  const dir = mkdtempSync(join(tmpdir(), `${MOUNT_PREFIX}${process.pid}-`));
  try {
    execFile("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
    return { dir };
  } catch (e) {
    rmdirSync(dir);
    return { why: (e as Error).message };
  }
}

/** Whether a tmpfs can be mounted here, or why not. */
function mountProbe(): { ok: true } | { ok: false; why: string } {
  removeStaleMounts();
  const probe = mountSmallFs(1024 * 1024);
  if ("why" in probe) return { ok: false, why: probe.why };
  unmount(probe.dir);
  return { ok: true };
}

let mountable: ReturnType<typeof mountProbe> | undefined;

/**
 * Fills the file system holding `dir` with a filler file until the disk refuses more, then gives
 * back `leave` bytes: the room left is what the disk really has, whatever the member already used.
 */
function writeFiller(path: string, leave: number): void {
  const fd = openSync(path, "w");
  try {
    const chunk = new Uint8Array(256 * 1024).fill(0x5a);
    for (;;) {
      try {
        writeSync(fd, chunk);
      } catch (e) {
        const err = e as { code?: string; message: string };
        if (err.code === "ENOSPC" || /no space left|ENOSPC/i.test(err.message)) break;
        throw e;
      }
    }
    const size = fstatSync(fd).size;
    ftruncateSync(fd, Math.max(0, size - leave));
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// A cluster

interface Status {
  id: string;
  leader: string;
  state: string;
}

interface Ack {
  readonly key: string;
  readonly value: string;
}

interface Cluster {
  /** Its generation: a fresh cluster gets the next one, and ports of its own. */
  readonly g: number;
  readonly token: string;
  /** Data dirs by member number (index 0 unused). */
  readonly dirs: string[];
  /** The tmpfs holding each member's data dir ("" when on the plain temp dir). */
  readonly mounts: string[];
  readonly procs: (Proc | undefined)[];
  /** The output of members that were replaced (restarts), for failure messages. */
  readonly pastOutput: string[];
  /** Every write this cluster acknowledged, over all the cases that used it. */
  readonly acks: Ack[];
}

function initialCluster(g: number): string {
  return MEMBERS.map((i) => `n${i}=${peerUrl(g, i)}`).join(",");
}

function memberArgs(c: Cluster): string[] {
  return ["--initial-cluster", initialCluster(c.g), "--initial-cluster-token", c.token, "--log-level", "warn"];
}

async function startMember(c: Cluster, i: number): Promise<Proc> {
  const old = c.procs[i];
  if (old) c.pastOutput.push(`--- n${i} (earlier run) ---\n${old.output().slice(-3000)}`);
  c.procs[i] = undefined;
  const p = await startCoreplane({
    name: `n${i}`,
    clientPort: clientPort(c.g, i),
    peerPort: peerPort(c.g, i),
    dataDir: c.dirs[i],
    extraArgs: memberArgs(c),
    timeoutMs: 30_000,
  });
  c.procs[i] = p;
  return p;
}

/** Starts member i again on its data dir; a failure says what it was restarting after. */
async function restartMember(c: Cluster, i: number, after: string): Promise<Proc> {
  try {
    return await startMember(c, i);
  } catch (e) {
    // What is on its disk, for the report: the stored index range and commit index.
    let verify = "";
    try {
      verify = (await logCli(["verify", "--data-dir", c.dirs[i]])).out;
    } catch (ve) {
      verify = `(log verify failed: ${(ve as Error).message})`;
    }
    throw new Error(`n${i} did not start again ${after} (its data dir ${c.dirs[i]}): ${(e as Error).message}\n--- coreplane log verify --data-dir ${c.dirs[i]} ---\n${verify}`);
  }
}

function outputs(c: Cluster): string {
  return [...c.pastOutput, ...MEMBERS.map((i) => `--- n${i} ---\n${c.procs[i]?.output().slice(-3000) ?? "(not running)"}`)].join("\n");
}

function exited(p: Proc): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

/** Resolves with the exit code (or signal) once the process has exited. */
function exitOf(p: Proc): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    const done = () => resolve({ code: p.child.exitCode, signal: p.child.signalCode });
    if (exited(p)) done();
    else p.child.once("exit", done);
  });
}

async function status(g: number, i: number): Promise<Status> {
  const r = await fetch(`${clientUrl(g, i)}/v1/cluster/status`, { signal: AbortSignal.timeout(5000) });
  return await r.json() as Status;
}

/** Waits until the members in `among` agree on a leader that is one of them; returns its number. */
async function leaderAmong(c: Cluster, among: readonly number[]): Promise<number> {
  const until = Date.now() + 30_000;
  let last = "";
  while (Date.now() < until) {
    try {
      const sts = await Promise.all(among.map((i) => status(c.g, i)));
      last = JSON.stringify(sts);
      const lead = sts[0].leader;
      const li = among.find((_, j) => sts[j].id === lead && sts[j].state === "StateLeader");
      if (lead !== "" && li !== undefined && sts.every((x) => x.leader === lead)) return li;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`members ${among.join(",")} did not agree on a leader among them (last: ${last})`);
}

// Starting members is most of this suite's cost (a couple of CPU seconds each under tsx), so the
// cases share one cluster: each leaves all three members running. A case that finds one not
// running (an earlier case failed) gets a fresh cluster instead, so one failure does not cascade.
let current: Cluster | undefined;
let generations = 0;
/** More fresh clusters than this would mean something failed over and over. */
const GENERATIONS_MAX = 5;

async function dispose(c: Cluster): Promise<void> {
  await Promise.all(c.procs.map((p) => p?.stop({ keepData: true })));
  for (const d of c.dirs) if (d) rmSync(d, { recursive: true, force: true });
  for (const m of c.mounts) if (m) unmount(m);
}

/** Whether `c` still has three running members that agree on a leader. */
async function healthy(c: Cluster): Promise<boolean> {
  if (!MEMBERS.every((i) => c.procs[i] && !exited(c.procs[i]!))) return false;
  try {
    await leaderAmong(c, MEMBERS);
    return true;
  } catch {
    return false;
  }
}

/**
 * A running 3-member cluster: the one the previous case left if it is whole, else a fresh one,
 * whose data dirs are each on a tmpfs of their own when this machine can mount one.
 */
async function cluster(needTmpfs: boolean): Promise<Cluster> {
  if (current && (!needTmpfs || current.mounts[1] !== "") && await healthy(current)) return current;
  if (current) await dispose(current);
  current = undefined;
  const g = generations++;
  if (g >= GENERATIONS_MAX) throw new Error(`a fresh cluster was needed ${g + 1} times: earlier cases left broken ones`);
  generationPorts.set(g, await freePorts(6));
  const c: Cluster = { g, token: `member-faults-${g}-${process.pid}`, dirs: [""], mounts: [""], procs: [], pastOutput: [], acks: [] };
  current = c;
  mountable ??= mountProbe();
  const tmpfs = mountable.ok;
  if (needTmpfs && !tmpfs) throw new Error("a disk-full case needs a tmpfs, and none can be mounted");
  for (const i of MEMBERS) {
    if (tmpfs) {
      const m = mountSmallFs(FS_BYTES);
      if ("why" in m) throw new Error(`mounting a tmpfs for n${i}: ${m.why}`);
      c.mounts[i] = m.dir;
      c.dirs[i] = join(m.dir, "data");
      mkdirSync(c.dirs[i]);
    } else {
      c.mounts[i] = "";
      c.dirs[i] = tempDir("member-faults");
    }
  }
  // /health answers 200 only once there is a leader, which needs two members: start all at once.
  const started = await Promise.allSettled(MEMBERS.map((i) => startMember(c, i)));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) throw new Error(`starting a fresh cluster: ${(failed as PromiseRejectedResult).reason}`);
  return c;
}

s.after(async () => {
  if (current) await dispose(current);
  current = undefined;
});

// ---------------------------------------------------------------------------------------------
// Client calls

type WriteResult = { ok: true } | { ok: false; why: string };

function valueFor(key: string, bytes: number): string {
  return (key + ":").padEnd(bytes, key.length % 2 ? "abcdefgh" : "01234567");
}

/** One PUT; anything but 200/201 (an error answer, a failed connection, no answer) is not an ack. */
async function put(c: Cluster, i: number, key: string, value: string): Promise<WriteResult> {
  try {
    const r = await fetch(`${clientUrl(c.g, i)}${keyPath(key)}`, {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ value }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    if (r.status === 200 || r.status === 201) return { ok: true };
    return { ok: false, why: `HTTP ${r.status} ${text.slice(0, 300).trim()}` };
  } catch (e) {
    return { ok: false, why: `no answer: ${(e as Error).message}` };
  }
}

/** The value member i serves for `key` (quorum read or local read), or why not. */
async function read(c: Cluster, i: number, key: string, quorum: boolean): Promise<{ value?: string; why: string }> {
  try {
    const r = await fetch(`${clientUrl(c.g, i)}${keyPath(key)}${quorum ? "?quorum=true" : ""}`, { signal: AbortSignal.timeout(20_000) });
    const text = await r.text();
    if (r.status !== 200) return { why: `HTTP ${r.status} ${text.slice(0, 200).trim()}` };
    const v = (JSON.parse(text) as { node?: { value?: string } }).node?.value;
    return v === undefined ? { why: `no value in ${text.slice(0, 200)}` } : { value: v, why: "" };
  } catch (e) {
    return { why: `no answer: ${(e as Error).message}` };
  }
}

/** Every write the cluster acknowledged must read back from member i with its value. */
async function checkAcks(c: Cluster, i: number, quorum: boolean, when: string): Promise<void> {
  const bad: string[] = [];
  await pool(c.acks, 8, async (a) => {
    const r = await read(c, i, a.key, quorum);
    if (r.value !== a.value) bad.push(`${a.key}: ${r.value !== undefined ? `value ${JSON.stringify(r.value.slice(0, 40))}...` : r.why}`);
  });
  assert.ok(
    bad.length === 0,
    `${when}: ${bad.length} of ${c.acks.length} acknowledged writes are not readable from n${i} (quorum=${quorum}):\n  ${bad.slice(0, 20).join("\n  ")}`,
  );
}

/** Writes `n` keys through member i; each must be acknowledged. */
async function writeAll(c: Cluster, i: number, prefix: string, n: number, bytes: number, when: string): Promise<void> {
  for (let j = 0; j < n; j++) {
    const key = `${prefix}/k${j}`;
    const value = valueFor(key, bytes);
    const r = await put(c, i, key, value);
    assert.ok(r.ok, `${when}: PUT ${key} through n${i} was not acknowledged: ${r.ok ? "" : r.why}`);
    c.acks.push({ key, value });
  }
}

/** Waits until member i serves the newest acknowledged write from its own state (it caught up). */
async function caughtUp(c: Cluster, i: number): Promise<void> {
  const last = c.acks[c.acks.length - 1];
  const until = Date.now() + 30_000;
  let why = "";
  while (Date.now() < until) {
    const r = await read(c, i, last.key, false);
    if (r.value === last.value) return;
    why = r.value !== undefined ? "another value" : r.why;
    await sleep(100);
  }
  throw new Error(`n${i} did not come to serve ${last.key} from its own state (last answer: ${why})`);
}

// ---------------------------------------------------------------------------------------------
// Disk full

/**
 * One disk-full scenario: `victimRole` picks the member whose disk fills (a follower or the
 * leader). Writes go through the leader until the victim exits.
 */
async function diskFullCase(name: string, victimRole: "follower" | "leader"): Promise<void> {
  const c = await cluster(true);
  let filler = "";
  try {
    const leader = await leaderAmong(c, MEMBERS);
    const victim = victimRole === "leader" ? leader : MEMBERS.find((i) => i !== leader)!;
    const survivors = MEMBERS.filter((i) => i !== victim);
    const vp = c.procs[victim]!;

    // Some writes everyone has, before the disk gets tight.
    await writeAll(c, leader, `/${name}/before`, 10, 100, "before the filler");
    await caughtUp(c, victim);

    filler = join(c.mounts[victim], "filler");
    writeFiller(filler, FREE_BYTES);

    // Fill: writers PUT through the leader until the victim exits. With a follower as the victim
    // the leader keeps a quorum, so every write must be acknowledged; with the leader as the victim
    // writes in flight when it stops have an unknown outcome (not checked either way).
    const problems: string[] = [];
    let unknown = 0;
    let n = 0;
    const acked = c.acks.length;
    await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
      for (let j = 0; !exited(vp) && n < FILL_WRITES_MAX && problems.length === 0; j++, n++) {
        const key = `/${name}/fill/w${w}/k${j}`;
        const value = valueFor(key, VALUE_BYTES);
        const r = await put(c, leader, key, value);
        if (r.ok) c.acks.push({ key, value });
        else if (victimRole === "leader") unknown++;
        else problems.push(`PUT ${key} through the leader n${leader}: ${r.why}`);
      }
    }));
    assert.ok(problems.length === 0, `a follower's disk filling up must not fail writes through the leader:\n  ${problems.slice(0, 10).join("\n  ")}`);
    // The victim may still be on its way out when the writers stop; 30 s is a liveness bound.
    const { code, signal } = await Promise.race([
      exitOf(vp),
      sleep(30_000).then(() => ({ code: null, signal: "none: still running" })),
    ]);
    const out = vp.output();
    assert.ok(
      signal === null && code !== null && code !== 0,
      `the ${victimRole} n${victim} whose disk filled must exit with a non-zero code (after ${n} writes), got code ${code} signal ${signal}`,
    );
    assert.match(out, DISK_FULL, `n${victim} exited (code ${code}) without saying its disk is full:\n${out.slice(-3000)}`);
    assert.ok(
      /free space/i.test(out) && out.includes(c.dirs[victim]),
      `n${victim}'s message must say what to do (free space in ${c.dirs[victim]}, then start it again):\n${out.slice(-3000)}`,
    );
    console.log(`  ${victimRole} n${victim}: disk full after ${n} writes (${c.acks.length - acked} acknowledged, ${unknown} unknown), exit code ${code}`);

    // The other two go on: a leader among them (a new one if the leader died), writes, quorum reads.
    const lead2 = await leaderAmong(c, survivors);
    if (victimRole === "follower") assert.is(lead2, leader, "a follower's exit must not change the leader");
    await writeAll(c, lead2, `/${name}/after-exit`, 20, 100, `after n${victim} exited`);
    for (const i of survivors) await checkAcks(c, i, true, `after the ${victimRole} n${victim} exited`);

    // Room again: the victim restarts on the same data dir, catches up and serves every write.
    unlinkSync(filler);
    filler = "";
    await restartMember(c, victim, "after its disk had room again");
    await writeAll(c, lead2, `/${name}/after-restart`, 10, 100, `after n${victim} restarted`);
    await caughtUp(c, victim);
    await checkAcks(c, victim, false, `n${victim} restarted with room on its disk`);
    await checkAcks(c, victim, true, `n${victim} restarted with room on its disk`);
  } catch (e) {
    (e as Error).message += `\n--- member output (cluster ${c.g}) ---\n${outputs(c)}`;
    throw e;
  } finally {
    // A failed case leaves the filler: the next case then finds a member down and starts afresh.
    if (filler) rmSync(filler, { force: true });
  }
}

/** Why the disk-full cases cannot run here (decided when the suite registers), or undefined. */
function noTmpfs(): string | undefined {
  mountable ??= mountProbe();
  return mountable.ok ? undefined : `cannot mount a tmpfs here (needs root): ${mountable.why}`;
}

requires(s, "disk full on a follower: it exits non-zero saying so, the other two go on, nothing acknowledged is lost, it catches up after a restart", noTmpfs(), async () => {
  await diskFullCase("df-follower", "follower");
});

requires(s, "disk full on the leader: it exits non-zero saying so, the others elect a leader and go on, nothing acknowledged is lost, it catches up after a restart", noTmpfs(), async () => {
  await diskFullCase("df-leader", "leader");
});

// ---------------------------------------------------------------------------------------------
// Corrupt log

interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly output: string;
  /** True when the member answered /health instead of exiting. */
  readonly healthy: boolean;
}

/** Starts member i and waits until it exits or turns healthy (which, here, it must not). */
async function startExpectingRefusal(c: Cluster, i: number): Promise<Exit> {
  const { cmd, args } = mainCommand();
  const client = clientUrl(c.g, i);
  const peer = peerUrl(c.g, i);
  const child = spawn(cmd, [
    ...args, "serve",
    "--name", `n${i}`,
    "--data-dir", c.dirs[i],
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    ...memberArgs(c),
  ], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  // "close" comes once the pipes are drained too: the output is then complete.
  const closed = new Promise<void>((r) => child.once("close", () => r()));
  let healthy = false;
  const until = Date.now() + 30_000;
  let result: { code: number | null; signal: string | null } | undefined;
  while (!result && Date.now() < until) {
    result = await Promise.race([exit, sleep(200).then(() => undefined)]);
    if (result) break;
    try {
      const r = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      if (r.status === 200) {
        healthy = true;
        break;
      }
    } catch { /* not listening */ }
  }
  if (!result) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch { /* gone */ }
    result = await exit;
  }
  await closed;
  return { ...result, output, healthy };
}

/** Runs `main.ts <args>` on this runtime, as an operator would run the command: exit code and output. */
function runMain(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  const { cmd, args: pre } = mainCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
}

/** `coreplane log <args>` in this process (the same code as the CLI, without a runtime start-up). */
async function logCli(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runLog(args, { out: (t) => (out += t), err: (t) => (out += t), env: {}, progress: false });
  return { code, out };
}

async function lastIndexIn(dir: string): Promise<number> {
  const rt = await loadRuntime();
  const db = rt.openSqlite(join(dir, DB_FILE), { readOnly: true });
  try {
    const row = db.prepare("SELECT max(idx) AS last FROM entries").get() as { last: number | bigint | null } | undefined;
    return Number(row?.last ?? 0);
  } finally {
    db.close();
  }
}

s("a corrupt log entry: the member refuses to start naming the entry and the way out, the cluster goes on, log repair refuses in a cluster, and the replaced member catches up", async () => {
  const c = await cluster(false);
  try {
    const leader = await leaderAmong(c, MEMBERS);
    const victim = MEMBERS.find((i) => i !== leader)!;
    const survivors = MEMBERS.filter((i) => i !== victim);
    const dir = c.dirs[victim];
    await writeAll(c, leader, "/corrupt/before", 20, 64, "before the stop");
    await caughtUp(c, victim);

    await c.procs[victim]!.stop({ keepData: true });
    c.pastOutput.push(`--- n${victim} (before the corruption) ---\n${c.procs[victim]!.output().slice(-3000)}`);
    c.procs[victim] = undefined;
    const bad = await lastIndexIn(dir);
    assert.ok(bad > 0, `n${victim}'s data dir holds no entries`);
    await corruptEntry(dir, bad);

    await writeAll(c, leader, "/corrupt/while-down", 20, 64, `while n${victim} is down`);

    // It must refuse to start, loudly: the entry, and the repair command.
    const refused = await startExpectingRefusal(c, victim);
    c.pastOutput.push(`--- n${victim} (refused start) ---\n${refused.output.slice(-3000)}`);
    assert.not.ok(refused.healthy, `n${victim} started on a log whose entry ${bad} is corrupt`);
    assert.ok(
      refused.signal === null && refused.code !== null && refused.code !== 0,
      `n${victim} on a corrupt log must exit non-zero, got code ${refused.code} signal ${refused.signal}`,
    );
    assert.match(refused.output, new RegExp(`log entry ${bad} is corrupt`), `the refusal must name entry ${bad}`);
    // In a cluster the way out is etcd's: replace the member (truncating would wedge it, because the
    // leader counts the entries it acknowledged and never sends them again).
    assert.match(refused.output, /v2\/members/, `the refusal must say how to replace the member`);
    assert.match(refused.output, /--initial-cluster-state existing/);

    // The cluster did not notice: writes and quorum reads on both others.
    await writeAll(c, leader, "/corrupt/after-refusal", 10, 64, `after n${victim} refused to start`);
    for (const i of survivors) await checkAcks(c, i, true, `after n${victim} refused to start`);

    // `log verify` agrees (exit 6, the same index, the same advice); `log repair` refuses, whatever the flags.
    const verify = await logCli(["verify", "--data-dir", dir]);
    assert.is(verify.code, 6, `log verify on the damaged dir must exit 6:\n${verify.out}`);
    assert.ok(verify.out.includes(`damaged from index ${bad}`), `log verify must name index ${bad}:\n${verify.out}`);
    assert.ok(verify.out.includes("v2/members"), `log verify must give the replace procedure:\n${verify.out}`);
    const repair = await runMain(["log", "repair", "--data-dir", dir, "--truncate-after", String(bad - 1), "--force"]);
    assert.is(repair.code, 6, `log repair on a cluster member must refuse:\n${repair.out}`);
    assert.match(repair.out, /belongs to a cluster/);

    // Replace it: remove, a fresh data dir, add, start with --initial-cluster-state existing.
    const st = await (await fetch(`${clientUrl(c.g, leader)}/v1/cluster/status`)).json() as { members: { id: string; peerURLs: string[] }[] };
    const old = st.members.find((m) => m.peerURLs.includes(peerUrl(c.g, victim)))!;
    const del = await fetch(`${clientUrl(c.g, leader)}/v2/members/${old.id}`, { method: "DELETE" });
    assert.is(del.status, 204, `member remove: ${await del.text()}`);
    renameSync(dir, `${dir}.corrupt`);
    const add = await fetch(`${clientUrl(c.g, leader)}/v2/members`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ peerURLs: [peerUrl(c.g, victim)] }),
    });
    assert.is(add.status, 201, `member add: ${await add.clone().text()}`);
    await add.body?.cancel();
    const p = await startCoreplane({
      name: `n${victim}`,
      clientPort: clientPort(c.g, victim),
      peerPort: peerPort(c.g, victim),
      dataDir: dir,
      extraArgs: [...memberArgs(c), "--initial-cluster-state", "existing"],
      timeoutMs: 30_000,
    });
    c.procs[victim] = p;
    await writeAll(c, leader, "/corrupt/after-replace", 10, 64, `after n${victim} was replaced`);
    await caughtUp(c, victim);
    await checkAcks(c, victim, false, `n${victim} after the replacement`);
    await checkAcks(c, victim, true, `n${victim} after the replacement`);
  } catch (e) {
    (e as Error).message += `\n--- member output (cluster ${c.g}) ---\n${outputs(c)}`;
    throw e;
  }
});

s.run();
