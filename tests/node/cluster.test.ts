// Real members on loopback talking over the peer transport: a 3-member cluster bootstraps, any
// member takes writes and linearizable reads, watches see writes made elsewhere, the leader
// reports its followers, a member joins (member add, then --initial-cluster-state existing) and
// is removed (and stops), a graceful stop hands leadership over, and a member started for another
// cluster is refused and exits with a clear message.
import { suite } from "uvu";
import { until } from "../helpers/raw_socket.ts";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane } from "../helpers/procs.ts";
import { missingTools, requires } from "../helpers/requires.ts";

const s = suite("node/cluster");

/** Members n1-n6: client port PORTS[i], peer port PORTS[10 + i], all from the OS. */
const PORTS = await freePorts(20);
const clientPort = (i: number) => PORTS[i];
const peerPort = (i: number) => PORTS[10 + i];
const peer = (i: number) => `http://127.0.0.1:${peerPort(i)}`;
const client = (i: number) => `http://127.0.0.1:${clientPort(i)}`;
const IC = [1, 2, 3].map((i) => `n${i}=${peer(i)}`).join(",");

interface Status { id: string; leader: string; state: string; members: { id: string; name: string; clientURLs: string[] }[] }

async function status(i: number): Promise<Status> {
  const r = await fetch(`${client(i)}/v1/cluster/status`);
  return await r.json() as Status;
}

function start(i: number, dataDir?: string, extra: string[] = []): Promise<Proc> {
  return startCoreplane({
    name: `n${i}`,
    clientPort: clientPort(i),
    peerPort: peerPort(i),
    dataDir,
    extraArgs: ["--initial-cluster", IC, "--log-level", "info", ...extra],
    timeoutMs: 30_000,
  });
}

async function put(i: number, key: string, value: string): Promise<Response> {
  return await fetch(`${client(i)}/v2/keys/${key}`, { method: "PUT", body: new URLSearchParams({ value }) });
}

const procs = new Map<number, Proc>();

s.before(async () => {
  // /health answers 200 only once there is a leader, which needs two members: start all at once.
  const ps = await Promise.all([1, 2, 3].map((i) => start(i)));
  ps.forEach((p, k) => procs.set(k + 1, p));
});

s.after(async () => {
  await Promise.all([...procs.values()].map((p) => p.stop()));
});

s("three members agree on one leader and list each other with names and client URLs", async () => {
  const sts = await until("one leader", async () => {
    const all = await Promise.all([1, 2, 3].map(status));
    return all.every((x) => x.leader !== "" && x.leader === all[0].leader) ? all : undefined;
  });
  assert.is(sts.filter((x) => x.state === "StateLeader").length, 1);
  const members = await until("published attributes", async () => {
    const r = await (await fetch(`${client(1)}/v2/members`)).json() as { members: { name: string; clientURLs: string[] }[] };
    return r.members.every((m) => m.clientURLs.length === 1) ? r.members : undefined;
  });
  assert.equal(members.map((m) => m.name).sort(), ["n1", "n2", "n3"]);
});

s("a write to any member is seen by quorum reads everywhere and by a watch on a third member", async () => {
  const lead = (await status(1)).leader;
  const sts = await Promise.all([1, 2, 3].map(status));
  const followers = [1, 2, 3].filter((i) => sts[i - 1].id !== lead);
  const watch = fetch(`${client(followers[1])}/v2/keys/w?wait=true`);
  await new Promise((r) => setTimeout(r, 100));
  const r = await put(followers[0], "w", "from-a-follower");
  assert.is(r.status, 201);
  const created = await r.json() as { node: { modifiedIndex: number } };
  for (const i of [1, 2, 3]) {
    const g = await (await fetch(`${client(i)}/v2/keys/w?quorum=true`)).json() as { node: { value: string; modifiedIndex: number } };
    assert.is(g.node.value, "from-a-follower");
    assert.is(g.node.modifiedIndex, created.node.modifiedIndex);
  }
  const ev = await (await watch).json() as { action: string; node: { value: string } };
  assert.is(ev.action, "set");
  assert.is(ev.node.value, "from-a-follower");
});

s("steady quorum reads on the leader and a follower keep being answered (read-index batches retire)", async () => {
  // Regression: housekeeping once looped forever over young read batches under steady load.
  // A fixed number of reads (16 readers x 12), each of which must be answered; the timeout only stops waiting.
  let n = 0;
  await Promise.all(Array.from({ length: 16 }, async (_, k) => {
    for (let j = 0; j < 12; j++) {
      const r = await fetch(`${client(1 + (k % 3))}/v2/keys/w?quorum=true`, { signal: AbortSignal.timeout(10_000) });
      assert.is(r.status, 200);
      await r.body?.cancel();
      n++;
    }
  }));
  assert.is(n, 16 * 12);
  const st = await fetch(`${client(1)}/v1/cluster/status`, { signal: AbortSignal.timeout(2000) });
  assert.is(st.status, 200);
  await st.body?.cancel();
});

s("the leader reports its followers' heartbeat round trips; followers answer 403", async () => {
  const sts = await Promise.all([1, 2, 3].map(status));
  const li = sts.findIndex((x) => x.state === "StateLeader") + 1;
  const fi = li === 1 ? 2 : 1;
  const st = await (await fetch(`${client(li)}/v2/stats/leader`)).json() as { followers: Record<string, { counts: { success: number } }> };
  assert.is(Object.keys(st.followers).length, 2);
  for (const f of Object.values(st.followers)) assert.ok(f.counts.success > 0);
  const r = await fetch(`${client(fi)}/v2/stats/leader`);
  assert.is(r.status, 403);
  await r.body?.cancel();
  const self = await (await fetch(`${client(fi)}/v2/stats/self`)).json() as { recvAppendRequestCnt: number; state: string };
  assert.is(self.state, "StateFollower");
  assert.ok(self.recvAppendRequestCnt > 0);
});

s("a member is added, joins with --initial-cluster-state existing, catches up, and stops when removed", async () => {
  const r = await fetch(`${client(2)}/v2/members`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ peerURLs: [peer(4)] }),
  });
  assert.is(r.status, 201);
  const added = await r.json() as { id: string; name: string; peerURLs: string[] };
  assert.is(added.name, "");
  assert.equal(added.peerURLs, [peer(4)]);
  const p4 = await startCoreplane({
    name: "n4",
    clientPort: clientPort(4),
    peerPort: peerPort(4),
    extraArgs: ["--initial-cluster", `${IC},n4=${peer(4)}`, "--initial-cluster-state", "existing"],
  });
  try {
    const g = await until("n4 to catch up", async () => {
      const x = await (await fetch(`${client(4)}/v2/keys/w?quorum=true`)).json() as { node?: { value: string } };
      return x.node;
    });
    assert.is(g.value, "from-a-follower");
    assert.is((await status(4)).id, added.id);
    const d = await fetch(`${client(1)}/v2/members/${added.id}`, { method: "DELETE" });
    assert.is(d.status, 204);
    const code = await until("n4 to exit", () => Promise.resolve(p4.child.exitCode ?? undefined));
    assert.is(code, 0, p4.output());
    assert.match(p4.output(), /removed from the cluster/);
    const again = await fetch(`${client(1)}/v2/members/${added.id}`, { method: "DELETE" });
    assert.is(again.status, 404);
    await again.body?.cancel();
  } finally {
    await p4.stop();
  }
});

requires(s, "the real etcdctl (v2) lists, adds and removes members of a coreplane cluster", missingTools("etcdctl"), () => {
  const ctl = (...args: string[]) =>
    execFileSync("etcdctl", ["--endpoints", client(1), ...args], { env: { ...process.env, ETCDCTL_API: "2" }, encoding: "utf8" });
  const list = ctl("member", "list");
  assert.is(list.trim().split("\n").length, 3, list);
  assert.ok(list.includes(`name=n1 peerURLs=${peer(1)} clientURLs=${client(1)} isLeader=`), list);
  assert.match(list, /name=n1 peerURLs=\S+ clientURLs=\S+ isLeader=(true|false)/);
  assert.is((list.match(/isLeader=true/g) ?? []).length, 1, list);
  const added = ctl("member", "add", "n6", peer(6));
  const id = /Added member named n6 with ID ([0-9a-f]+) to cluster/.exec(added)?.[1];
  assert.ok(id, added);
  assert.match(added, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
  assert.match(ctl("member", "list"), new RegExp(`${id}\\[unstarted\\]: peerURLs=${peer(6).replaceAll(".", "\\.")}`));
  assert.match(ctl("member", "remove", id!), new RegExp(`Removed member ${id} from cluster`));
  assert.is(ctl("member", "list").trim().split("\n").length, 3);
});

s("a member started for another cluster is refused and exits saying why", async () => {
  const p = startCoreplane({
    name: "n5",
    clientPort: clientPort(5),
    peerPort: peerPort(5),
    extraArgs: ["--initial-cluster", `${IC},n5=${peer(5)}`, "--initial-cluster-token", "another"],
    timeoutMs: 8000,
  });
  const err = await p.then(() => undefined, (e: Error) => e);
  assert.ok(err, "the member must not become healthy");
  assert.match(err!.message, /cluster id mismatch/);
});

/** Brings removed member `i` back as a new member (member add through `via`, then a fresh data dir with existing). */
async function readd(i: number, via: number): Promise<void> {
  const add = await fetch(`${client(via)}/v2/members`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ peerURLs: [peer(i)] }),
  });
  assert.is(add.status, 201);
  await add.body?.cancel();
  await procs.get(i)!.stop();
  procs.set(i, await start(i, undefined, ["--initial-cluster-state", "existing"]));
}

s("removing the leader hands leadership over first, then the removed member stops", async () => {
  const sts = await Promise.all([1, 2, 3].map(status));
  const li = sts.findIndex((x) => x.state === "StateLeader") + 1;
  const lead = sts[li - 1].id;
  // Ask the leader itself, so it is the one that must move leadership before the change.
  const d = await fetch(`${client(li)}/v2/members/${lead}`, { method: "DELETE" });
  assert.is(d.status, 204, await d.clone().text());
  await d.body?.cancel();
  const old = procs.get(li)!;
  const code = await until("the removed leader to exit", () => Promise.resolve(old.child.exitCode ?? undefined));
  assert.is(code, 0, old.output());
  assert.match(old.output(), /transferring leadership/);
  const others = [1, 2, 3].filter((i) => i !== li);
  await until("a write after the removal", async () => {
    const r = await put(others[0], "after-removal", "x");
    await r.body?.cancel();
    return r.status === 201 || r.status === 200 ? true : undefined;
  });
  await readd(li, others[0]);
  const g = await until("the re-added member to catch up", async () => {
    const x = await (await fetch(`${client(li)}/v2/keys/after-removal?quorum=true`)).json() as { node?: { value: string } };
    return x.node;
  });
  assert.is(g.value, "x");
});

s("removing the leader through a follower: the follower takes leadership first, then removes it", async () => {
  const sts = await Promise.all([1, 2, 3].map(status));
  const li = sts.findIndex((x) => x.state === "StateLeader") + 1;
  const lead = sts[li - 1].id;
  const fi = [1, 2, 3].find((i) => i !== li)!;
  const d = await fetch(`${client(fi)}/v2/members/${lead}`, { method: "DELETE" });
  assert.is(d.status, 204, await d.clone().text());
  await d.body?.cancel();
  const old = procs.get(li)!;
  const code = await until("the removed leader to exit", () => Promise.resolve(old.child.exitCode ?? undefined));
  assert.is(code, 0, old.output());
  // The leader handed over before the change: it never applied its own removal as leader.
  assert.match(procs.get(fi)!.output(), /asking the leader to hand over leadership/);
  assert.is((await status(fi)).state, "StateLeader");
  await readd(li, fi);
  await until("the re-added member to serve a quorum read", async () => {
    const r = await fetch(`${client(li)}/v2/keys/after-removal?quorum=true`);
    await r.body?.cancel();
    return r.status === 200 ? true : undefined;
  });
});

s("stopping the leader hands leadership over: writes go on without an election timeout", async () => {
  const sts = await Promise.all([1, 2, 3].map(status));
  const li = sts.findIndex((x) => x.state === "StateLeader") + 1;
  const old = procs.get(li)!;
  await old.stop({ keepData: true });
  // The old leader saw the member it chose lead before it exited: no follower could have timed out
  // (they heard heartbeats until then), so the new leader came from the handover, not an election.
  const out = old.output();
  const to = /"msg":"transferring leadership before stopping"[^\n]*"to":"([0-9a-f]+)"/.exec(out)?.[1];
  assert.ok(to, `no handover started:\n${out.slice(-2000)}`);
  const led = /"msg":"leadership transferred"[^\n]*"leader":"([0-9a-f]+)"/.exec(out)?.[1];
  assert.is(led, to, `the chosen member did not lead before the old leader exited:\n${out.slice(-2000)}`);
  const others = [1, 2, 3].filter((i) => i !== li);
  await until("a write after the handover", async () => {
    const r = await put(others[0], "after", "x");
    await r.body?.cancel();
    return r.status === 201 || r.status === 200 ? true : undefined;
  });
  // Back in, on the same data dir: it rejoins as a follower and sees the write made without it.
  const again = await start(li, old.dataDir);
  procs.set(li, again);
  const g = await until("the restarted member to catch up", async () => {
    const x = await (await fetch(`${client(li)}/v2/keys/after?quorum=true`)).json() as { node?: { value: string } };
    return x.node;
  });
  assert.is(g.value, "x");
});

s.run();
