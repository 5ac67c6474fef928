// The offline log tools (`coreplane log dump|replay|history|export|verify|repair`) on data dirs written
// by real `coreplane serve` processes, not by fixtures: a single member with --snapshot-count 50 after
// 70 writes and SIGTERM (the case issue 7 reports), a 3-member cluster that snapshots, adds a fourth member,
// removes one and keeps writing, and the single member's dir again after a SIGKILL mid-writes and a
// recovering restart. On every dir `log verify` must exit 0 with its snapshots matching a replay, and
// the tools must give the values the members served before they stopped.
// Must not build logs itself: a fixture writes a log the way replay reads one, so it cannot show the
// live member and the offline tools disagreeing. Asserts no durations; every port comes from the OS.

import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { freePorts } from "../helpers/ports.ts";
import { mainCommand, type Proc, repoRoot, startCoreplane, tempDir } from "../helpers/procs.ts";
import { pool, waitUntil } from "./_util.ts";

const s = suite("e2e/log_tools_real");

// ---------------------------------------------------------------------------------------------
// plumbing

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `main.ts <args>` on the runtime running the tests; SIGKILLed after a minute so a hung tool cannot hang the suite. */
function cli(args: readonly string[]): Promise<CliRun> {
  const { cmd, args: pre } = mainCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr: stderr.replace(/^npm warn.*\n/gm, "") });
    });
  });
}

/** The command line and everything it printed, for a failure message. */
function shown(args: readonly string[], r: CliRun): string {
  return `coreplane ${args.join(" ")} -> exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-2000)}`;
}

/** Runs a log command and asserts its exit code. */
async function logCmd(args: readonly string[], code = 0): Promise<CliRun> {
  const full = ["log", ...args];
  const r = await cli(full);
  assert.is(r.code, code, shown(full, r));
  return r;
}

interface VerifyJson {
  ok: boolean;
  firstIndex: number;
  lastIndex: number;
  commitIndex: number;
  snapshots: { index: number; decodes: boolean; matchesReplay: boolean | null; note: string }[];
  problems: string[];
  checks: string[];
}

interface Verified {
  readonly rep: VerifyJson;
  readonly run: CliRun;
  readonly args: string[];
}

/** `log verify --json` on a source, whatever it concludes (for the index range and the snapshots). */
async function verifyReport(source: readonly string[]): Promise<Verified> {
  const args = ["log", "verify", ...source, "--json"];
  const run = await cli(args);
  let rep: VerifyJson | undefined;
  try {
    rep = JSON.parse(run.stdout) as VerifyJson;
  } catch { /* shown below */ }
  assert.ok(rep && typeof rep.lastIndex === "number", `verify --json printed no report:\n${shown(args, run)}`);
  return { rep: rep!, run, args };
}

/**
 * What verify must conclude on a healthy dir: exit 0, no problems, no snapshot that differs from a
 * replay. Tests assert it after their other checks, so those run even while verify fails.
 */
function assertClean(v: Verified, who = ""): void {
  const why = `${who}${who ? ": " : ""}${shown(v.args, v.run)}`;
  assert.is(v.run.code, 0, why);
  assert.equal(v.rep.problems, [], why);
  assert.ok(v.rep.ok, why);
  for (const sn of v.rep.snapshots) assert.not.equal(sn.matchesReplay, false, `${why}\nsnapshot ${sn.index}: ${sn.note}`);
}

async function put(url: string, key: string, value: string, q = ""): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/v2/keys${key}${q}`, {
    method: "PUT",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `value=${encodeURIComponent(value)}`,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: r.status, body: await r.json() as Record<string, unknown> };
}

async function putOk(url: string, key: string, value: string, q = ""): Promise<void> {
  const r = await put(url, key, value, q);
  assert.ok(r.status === 200 || r.status === 201, `PUT ${key}${q} = ${value}: ${r.status} ${JSON.stringify(r.body)}`);
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.json() as Record<string, unknown> };
}

interface EtcdNode {
  key?: string;
  value?: string;
  dir?: boolean;
  createdIndex?: number;
  modifiedIndex?: number;
  expiration?: string;
  ttl?: number;
  nodes?: EtcdNode[];
}

/** A node tree without what depends on when it is read (ttl counts down), children sorted by key. */
function comparable(n: EtcdNode): unknown {
  const o: Record<string, unknown> = { key: n.key ?? "/", dir: n.dir === true };
  if (n.value !== undefined) o.value = n.value;
  if (n.key !== undefined && n.key !== "/") {
    o.createdIndex = n.createdIndex;
    o.modifiedIndex = n.modifiedIndex;
  }
  if (n.expiration !== undefined) o.expiration = n.expiration;
  if (n.nodes && n.nodes.length > 0) o.nodes = [...n.nodes].sort((a, b) => (a.key! < b.key! ? -1 : 1)).map(comparable);
  return o;
}

/** The whole client key tree a member serves (local read, or a quorum read). */
async function servedTree(url: string, quorum = false): Promise<unknown> {
  const r = await getJson(`${url}/v2/keys/?recursive=true&sorted=true${quorum ? "&quorum=true" : ""}`);
  assert.is(r.status, 200, JSON.stringify(r.body));
  return comparable((r.body as { node: EtcdNode }).node);
}

/** The whole client key tree `log replay --json` rebuilds at index `to` (default: the last entry). */
async function replayedTree(source: readonly string[], to?: number): Promise<unknown> {
  const r = await logCmd(["replay", ...source, ...(to === undefined ? [] : ["--to", String(to)]), "--json"]);
  const j = JSON.parse(r.stdout) as { keys: EtcdNode };
  return comparable(j.keys);
}

/** A key (or with recursive, its subtree) as `log replay --key` rebuilds it at `to` (exit 0). */
async function replayedKey(source: readonly string[], to: number, key: string, recursive = false): Promise<unknown> {
  const r = await logCmd(["replay", ...source, "--to", String(to), "--key", key, ...(recursive ? ["--recursive"] : [])]);
  return comparable(JSON.parse(r.stdout) as EtcdNode);
}

interface DumpLine {
  index: number;
  kind: string;
  command?: { type: string };
  result?: unknown;
  resultUnknown?: boolean;
  confChange?: { type: number; nodeId: string };
}

/** `log dump --json`: one JSON object per line, indexes first..last without a gap. */
async function dumpJson(source: readonly string[], first: number, last: number): Promise<DumpLine[]> {
  const r = await logCmd(["dump", ...source, "--json"]);
  const rows = r.stdout.trimEnd().split("\n");
  const lines = rows.map((l, i) => {
    try {
      return JSON.parse(l) as DumpLine;
    } catch (e) {
      throw new Error(`dump --json line ${i + 1} is not JSON (${(e as Error).message}): ${l.slice(0, 300)}`);
    }
  });
  assert.equal(lines.map((l) => l.index), Array.from({ length: last - first + 1 }, (_, i) => first + i), "dump lists every index once, in order");
  return lines;
}

async function memberStatus(url: string): Promise<{ id: string; leader: string; state: string }> {
  const r = await getJson(`${url}/v1/cluster/status`);
  return r.body as unknown as { id: string; leader: string; state: string };
}

/** Waits until the process has exited (by itself); kills it after limitMs. Returns whether it exited by itself. */
async function exitedByItself(p: Proc, limitMs: number): Promise<boolean> {
  const gone = () => p.child.exitCode !== null || p.child.signalCode !== null;
  try {
    await waitUntil("the removed member to stop", gone, limitMs, 100);
    return true;
  } catch {
    await p.kill("SIGKILL");
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// A. one member, --snapshot-count 50, 70 writes, SIGTERM

interface Single {
  readonly dir: string;
  readonly ports: { clientPort: number; peerPort: number };
  /** /k/5 as a GET served it right before the stop. */
  readonly k5node: EtcdNode;
  /** The whole tree served right before the stop. */
  readonly tree: unknown;
  /** Values /k/5 took, in order (its history). */
  readonly k5: string[];
  /** `log verify --json` on the dir as the member left it. */
  readonly verified: Verified;
}

const SNAPSHOT_COUNT = 50;
let single: Promise<Single> | undefined;
const dirs: string[] = [];

function singleMember(): Promise<Single> {
  single ??= (async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const dir = tempDir("logtools-single");
    dirs.push(dir);
    const m = await startCoreplane({ clientPort, peerPort, dataDir: dir, extraArgs: ["--snapshot-count", String(SNAPSHOT_COUNT)] });
    const k5: string[] = [];
    try {
      // 70 PUTs: a directory and two keys in it, 60 sets over /k/0..9, a key with a long TTL, one
      // with a TTL that expires (the member proposes its expiry), 4 more keys, and a compare-and-swap;
      // then a DELETE.
      await putOk(m.url, "/d", "", "?dir=true");
      for (let i = 0; i < 60; i++) {
        await putOk(m.url, `/k/${i % 10}`, `v${i}`);
        if (i % 10 === 5) k5.push(`v${i}`);
      }
      await putOk(m.url, "/d/x", "dx");
      await putOk(m.url, "/d/y", "dy");
      await putOk(m.url, "/t/long", "stays", "?ttl=3600");
      await putOk(m.url, "/t/short", "goes", "?ttl=1");
      for (let i = 0; i < 4; i++) await putOk(m.url, `/m/${i}`, `m${i}`);
      await putOk(m.url, "/k/5", "swapped", "?prevValue=v55");
      k5.push("swapped");
      const del = await fetch(`${m.url}/v2/keys/k/3`, { method: "DELETE", signal: AbortSignal.timeout(10_000) });
      assert.is(del.status, 200, await del.text());
      await waitUntil("/t/short to expire", async () => (await getJson(`${m.url}/v2/keys/t/short`)).status === 404, 20_000, 100);
      const got = await getJson(`${m.url}/v2/keys/k/5`);
      assert.is(got.status, 200, `GET /k/5: ${JSON.stringify(got.body)}`);
      const k5node = (got.body as { node: EtcdNode }).node;
      const tree = await servedTree(m.url);
      await m.stop({ keepData: true });
      return { dir, ports: { clientPort, peerPort }, k5node, tree, k5, verified: await verifyReport(["--data-dir", dir]) };
    } catch (e) {
      (e as Error).message += `\n--- member output ---\n${m.output().slice(-3000)}`;
      throw e;
    } finally {
      await m.stop({ keepData: true });
    }
  })();
  return single;
}

s("A: one member (--snapshot-count 50, 70 writes, SIGTERM): log verify exits 0 and its snapshot matches a replay from index 1", async () => {
  const { verified } = await singleMember();
  const rep = verified.rep;
  assert.is(rep.firstIndex, 1, "a single member with the default catch-up entries does not compact 70 entries");
  assert.ok(rep.snapshots.length >= 1, `at least one snapshot was taken: ${JSON.stringify(rep.snapshots)}`);
  assertClean(verified);
  // The lines the text report prints after "ok".
  for (const sn of rep.snapshots) {
    assert.is(sn.matchesReplay, true, `snapshot ${sn.index}: ${sn.note}`);
    assert.ok(rep.checks.includes(`snapshot ${sn.index}: replaying from index 1 gives the same encoded state`), JSON.stringify(rep.checks));
  }
});

s("A: log dump lists every index with its result (none unknown after the snapshot)", async () => {
  const { dir, verified: { rep } } = await singleMember();
  const lines = await dumpJson(["--data-dir", dir], rep.firstIndex, rep.lastIndex);
  const commands = lines.filter((l) => l.command !== undefined);
  assert.ok(commands.length >= 72, `70 PUTs, a DELETE and an expiry are commands: ${commands.length}`);
  const unknown = lines.filter((l) => l.resultUnknown === true || (l.command !== undefined && (l.result === null || l.result === undefined)));
  assert.equal(unknown.map((l) => l.index), [], "entries whose result dump does not know");
  assert.ok(lines.some((l) => l.kind === "conf-change"), "the member's own AddNode is in the log");
});

s("A: log replay --to <last> gives the tree and the keys a GET served before the stop", async () => {
  const { dir, k5node, tree, verified: { rep } } = await singleMember();
  const src = ["--data-dir", dir];
  assert.equal(await replayedTree(src, rep.lastIndex), tree);
  assert.equal(await replayedKey(src, rep.lastIndex, "/k/5"), comparable(k5node), "replay --key /k/5");
  const gone = await logCmd(["replay", ...src, "--to", String(rep.lastIndex), "--key", "/k/3"], 4);
  assert.match(gone.stderr, /100: Key not found/);
});

s("A: log history --key shows every write to the key, and the expiry", async () => {
  const { dir, k5 } = await singleMember();
  const r = await logCmd(["history", "--data-dir", dir, "--key", "/k/5", "--json"]);
  const rows = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { action: string; value: string | null; prevValue?: string | null });
  assert.equal(rows.map((h) => h.value), k5, r.stdout);
  assert.equal(rows.map((h) => h.prevValue ?? null), [null, ...k5.slice(0, -1)], r.stdout);
  const t = await logCmd(["history", "--data-dir", dir, "--key", "/t/short", "--json"]);
  const ts = t.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { action: string; value: string | null });
  assert.equal(ts.map((h) => [h.action, h.value]), [["set", "goes"], ["expire", null]], t.stdout);
});

s("A: log export, then verify --file exits 0 and replay --file agrees", async () => {
  const { dir, tree, verified: { rep: fromDir } } = await singleMember();
  const out = tempDir("logtools-export");
  dirs.push(out);
  const file = join(out, "real.cplog");
  await logCmd(["export", "--data-dir", dir, "--file", file]);
  assert.equal(await replayedTree(["--file", file], fromDir.lastIndex), tree);
  const v = await verifyReport(["--file", file]);
  assert.is(v.rep.lastIndex, fromDir.lastIndex);
  assert.equal(v.rep.snapshots.map((x) => x.index), fromDir.snapshots.map((x) => x.index), "the export carries the snapshots");
  assertClean(v, "verify --file");
  for (const sn of v.rep.snapshots) assert.is(sn.matchesReplay, true, `snapshot ${sn.index} in the export: ${sn.note}`);
});

s("A: log repair --truncate-after <last> changes nothing and verify still passes", async () => {
  const { dir, verified: { rep: before } } = await singleMember();
  await logCmd(["repair", "--data-dir", dir, "--truncate-after", String(before.lastIndex)]);
  const v = await verifyReport(["--data-dir", dir]);
  assert.is(v.rep.lastIndex, before.lastIndex);
  assert.is(v.rep.commitIndex, before.commitIndex);
  assert.equal(v.rep.snapshots.map((x) => x.index), before.snapshots.map((x) => x.index));
  assertClean(v, "after repair");
});

// ---------------------------------------------------------------------------------------------
// C. the same dir: SIGKILL mid-writes, a recovering restart, SIGTERM

s("C: after a SIGKILL mid-writes and a recovering restart, verify passes and replay gives the served tree", async () => {
  const { dir, ports, verified: { rep: first } } = await singleMember();
  const args = ["--snapshot-count", String(SNAPSHOT_COUNT)];
  let m = await startCoreplane({ ...ports, dataDir: dir, extraArgs: args });
  try {
    let acked = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await put(m.url, `/c/w${w}/k${i % 20}`, `w${w}-${i}`);
          if (r.status === 200 || r.status === 201) acked++;
        } catch {
          return; // the member is gone
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    // Enough writes for two more snapshots, then the kill lands while the writers are still sending.
    await waitUntil("120 acknowledged writes", () => acked >= 120, 30_000, 10);
    await m.kill("SIGKILL");
    stop = true;
    await Promise.all(writers);
    m = await startCoreplane({ ...ports, dataDir: dir, extraArgs: args });
    await putOk(m.url, "/c/after", "restart");
    const tree = await servedTree(m.url);
    await m.stop({ keepData: true });
    const v = await verifyReport(["--data-dir", dir]);
    assert.ok(v.rep.snapshots.some((sn) => sn.index > first.lastIndex), `snapshots were taken during the writes: ${JSON.stringify(v.rep.snapshots)}`);
    assert.equal(await replayedKey(["--data-dir", dir], v.rep.lastIndex, "/", true), tree, "replay --key / --recursive at the last index");
    assertClean(v, "after SIGKILL and a restart");
    assert.ok(v.rep.snapshots.some((sn) => sn.matchesReplay === true), JSON.stringify(v.rep.snapshots));
  } catch (e) {
    (e as Error).message += `\n--- member output ---\n${m.output().slice(-3000)}`;
    throw e;
  } finally {
    await m.stop({ keepData: true });
  }
});

// ---------------------------------------------------------------------------------------------
// B. 3 members, snapshots, a fourth added, one removed, more writes, all stopped

s("B: a 3-member cluster with snapshots, a member added and one removed: on every member's dir verify passes and replay gives the served tree", async () => {
  const SNAP = 20;
  const ports = await freePorts(8);
  const client = (i: number) => ports[2 * i];
  const peer = (i: number) => ports[2 * i + 1];
  const peerUrl = (i: number) => `http://127.0.0.1:${peer(i)}`;
  const ic3 = [0, 1, 2].map((i) => `n${i}=${peerUrl(i)}`).join(",");
  const flags = ["--snapshot-count", String(SNAP), "--heartbeat-interval", "100", "--election-timeout", "1000"];
  const procs: Proc[] = [];
  const runDir = tempDir("logtools-cluster");
  dirs.push(runDir);
  const start = async (i: number, ic: string, state: "new" | "existing") => {
    const p = await startCoreplane({
      name: `n${i}`,
      clientPort: client(i),
      peerPort: peer(i),
      dataDir: join(runDir, `n${i}`),
      extraArgs: ["--initial-cluster", ic, "--initial-cluster-state", state, ...flags],
    });
    procs[i] = p;
    return p;
  };
  const outputs = () => procs.map((p, i) => `--- n${i} ---\n${p?.output().slice(-1500) ?? ""}`).join("\n");
  try {
    await Promise.all([0, 1, 2].map((i) => start(i, ic3, "new")));
    const leaderOf = async (among: number[]) => {
      let li = -1;
      await waitUntil("an agreed leader", async () => {
        const st = await Promise.all(among.map((i) => memberStatus(procs[i].url).catch(() => undefined)));
        const l = st.findIndex((x) => x?.state === "StateLeader");
        if (l < 0 || !st.every((x) => x?.leader === st[l]!.id)) return false;
        li = among[l];
        return true;
      }, 20_000, 100);
      return li;
    };
    let l = await leaderOf([0, 1, 2]);
    // Phase 1: 3 members, a few snapshots each.
    for (let i = 0; i < 3 * SNAP; i++) await putOk(procs[l].url, `/a/${i % 7}`, `a${i}`);
    // Add n3 (POST /v2/members, then start it with --initial-cluster-state existing).
    const add = await fetch(`${procs[l].url}/v2/members`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ peerURLs: [peerUrl(3)] }),
      signal: AbortSignal.timeout(15_000),
    });
    const added = await add.text();
    assert.is(add.status, 201, added);
    await start(3, [0, 1, 2, 3].map((i) => `n${i}=${peerUrl(i)}`).join(","), "existing");
    // Phase 2: 4 members.
    for (let i = 0; i < 3 * SNAP; i++) await putOk(procs[l].url, `/b/${i % 7}`, `b${i}`);
    // Remove a follower that is not the new member; first let it apply everything, so the tree it
    // served is the tree its log must replay to (nothing is written until it is gone).
    l = await leaderOf([0, 1, 2, 3]);
    const victim = [0, 1, 2].find((i) => i !== l)!;
    const before = await servedTree(procs[l].url, true);
    await waitUntil(`n${victim} to apply every write`, async () => JSON.stringify(await servedTree(procs[victim].url)) === JSON.stringify(before), 15_000, 100);
    const vid = (await memberStatus(procs[victim].url)).id;
    const rm = await fetch(`${procs[l].url}/v2/members/${vid}`, { method: "DELETE", signal: AbortSignal.timeout(15_000) });
    assert.is(rm.status, 204, await rm.text());
    assert.ok(await exitedByItself(procs[victim], 15_000), `n${victim} was removed but did not stop by itself`);
    const rest = [0, 1, 2, 3].filter((i) => i !== victim);
    // Phase 3: 3 members again, enough writes for snapshots after both changes.
    l = await leaderOf(rest);
    for (let i = 0; i < 3 * SNAP; i++) await putOk(procs[l].url, `/c/${i % 7}`, `c${i}`);
    const after = await servedTree(procs[l].url, true);
    for (const i of rest) {
      await waitUntil(`n${i} to apply every write`, async () => JSON.stringify(await servedTree(procs[i].url)) === JSON.stringify(after), 15_000, 100);
    }
    await Promise.all(rest.map((i) => procs[i].stop({ keepData: true })));

    // The tools on every dir; verify's verdict last, so the other checks run even while it fails.
    const all = [...rest, victim];
    const who = (i: number) => `n${i}${i === victim ? " (removed)" : i === 3 ? " (added)" : ""}`;
    const verdicts: [number, Verified][] = [];
    await pool(all, 2, async (i) => {
      const src = ["--data-dir", procs[i].dataDir];
      const v = await verifyReport(src);
      verdicts.push([i, v]);
      const lines = await dumpJson(src, v.rep.firstIndex, v.rep.lastIndex);
      const changes = lines.filter((x) => x.kind === "conf-change");
      assert.ok(changes.some((x) => x.confChange?.type === 0), `${who(i)}: AddNode entries in the log: ${JSON.stringify(changes)}`);
      if (i !== victim) {
        // Its log holds the removal, and a snapshot taken after it.
        const removal = changes.filter((x) => x.confChange?.type === 1).map((x) => x.index);
        assert.is(removal.length, 1, `${who(i)}: one RemoveNode entry: ${JSON.stringify(changes)}`);
        assert.ok(v.rep.snapshots.some((sn) => sn.index > removal[0]), `${who(i)}: a snapshot after the removal at ${removal[0]}: ${JSON.stringify(v.rep.snapshots)}`);
      }
      assert.equal(await replayedKey(src, v.rep.lastIndex, "/", true), i === victim ? before : after, `${who(i)}: replay --key / --recursive at the last index`);
    });
    verdicts.sort((a, b) => a[0] - b[0]);
    const failures: string[] = [];
    for (const [i, v] of verdicts) {
      try {
        assertClean(v, who(i));
        assert.ok(v.rep.snapshots.some((sn) => sn.matchesReplay === true), `${who(i)}: no snapshot was compared with a replay: ${JSON.stringify(v.rep.snapshots)}`);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    assert.ok(failures.length === 0, `log verify on ${failures.length} of ${all.length} member dirs:\n${failures.join("\n\n")}`);
  } catch (e) {
    (e as Error).message += `\n${outputs()}`;
    throw e;
  } finally {
    await Promise.all(procs.filter((p) => p !== undefined).map((p) => p.stop({ keepData: true })));
  }
});

s.after(() => {
  for (const d of dirs) if (existsSync(d)) rmSync(d, { recursive: true, force: true });
});

s.run();
