// A member that fell behind the leader's compacted log catches up by a snapshot streamed over the
// peer transport: stop a follower, write past the retained entries, start it again, and it must
// install the snapshot (its log says so) and then serve every key.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane } from "../helpers/procs.ts";

const s = suite("node/cluster snapshot catch-up");

/** Members 1-4: client port PORTS[i], peer port PORTS[5 + i], all from the OS. */
const PORTS = await freePorts(10);
const clientPort = (i: number) => PORTS[i];
const peerPort = (i: number) => PORTS[5 + i];
const peer = (i: number) => `http://127.0.0.1:${peerPort(i)}`;
const client = (i: number) => `http://127.0.0.1:${clientPort(i)}`;
const IC = [1, 2, 3].map((i) => `n${i}=${peer(i)}`).join(",");

function start(i: number, dataDir?: string): Promise<Proc> {
  return startCoreplane({
    name: `n${i}`,
    clientPort: clientPort(i),
    peerPort: peerPort(i),
    dataDir,
    extraArgs: ["--initial-cluster", IC, "--snapshot-count", "50", "--snapshot-catchup-entries", "10", "--log-level", "info"],
  });
}

s("a follower behind the compacted log gets a snapshot, then serves every key", async () => {
  const ps = await Promise.all([1, 2, 3].map((i) => start(i)));
  try {
    // Stop a follower (not the leader, so the other two keep a quorum without an election).
    const st = await (await fetch(`${client(1)}/v1/cluster/status`)).json() as { leader: string; id: string };
    const ids = await Promise.all([1, 2, 3].map(async (i) => (await (await fetch(`${client(i)}/v1/cluster/status`)).json() as { id: string }).id));
    const fi = [1, 2, 3].find((i) => ids[i - 1] !== st.leader)!;
    const li = [1, 2, 3].find((i) => ids[i - 1] === st.leader)!;
    await ps[fi - 1].stop({ keepData: true });
    for (let k = 0; k < 300; k += 30) {
      await Promise.all(Array.from({ length: 30 }, async (_, j) => {
        const r = await fetch(`${client(li)}/v2/keys/k${k + j}`, { method: "PUT", body: new URLSearchParams({ value: `v${k + j}` }) });
        assert.is(r.status, 201);
        await r.body?.cancel();
      }));
    }
    const lst = await (await fetch(`${client(li)}/v1/cluster/status`)).json() as { firstIndex: number; snapshotIndex: number };
    assert.ok(lst.firstIndex > 20 && lst.snapshotIndex > 0, `leader compacted: ${JSON.stringify(lst)}`);
    ps[fi - 1] = await start(fi, ps[fi - 1].dataDir);
    const until = Date.now() + 15_000;
    let got: { node?: { nodes?: unknown[] } } = {};
    while (Date.now() < until) {
      got = await (await fetch(`${client(fi)}/v2/keys/?quorum=true`)).json();
      if ((got.node?.nodes?.length ?? 0) === 300) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(got.node?.nodes?.length, 300);
    const one = await (await fetch(`${client(fi)}/v2/keys/k299`)).json() as { node: { value: string } };
    assert.is(one.node.value, "v299");
    assert.match(ps[fi - 1].output(), /installed a snapshot from the leader/);
    assert.match(ps[li - 1].output(), /snapshot sent/);
  } finally {
    await Promise.all(ps.map((p) => p.stop()));
  }
});

s("a member added after compaction joins from a snapshot that lists it, and serves every key", async () => {
  const ps = await Promise.all([1, 2, 3].map((i) => start(i)));
  let p4: Proc | undefined;
  try {
    for (let k = 0; k < 200; k += 25) {
      await Promise.all(Array.from({ length: 25 }, async (_, j) => {
        const r = await fetch(`${client(1)}/v2/keys/j${k + j}`, { method: "PUT", body: new URLSearchParams({ value: `v${k + j}` }) });
        assert.is(r.status, 201);
        await r.body?.cancel();
      }));
    }
    const st = await (await fetch(`${client(1)}/v1/cluster/status`)).json() as { firstIndex: number };
    assert.ok(st.firstIndex > 1, "the log was compacted");
    const r = await fetch(`${client(2)}/v2/members`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ peerURLs: [peer(4)] }),
    });
    assert.is(r.status, 201);
    await r.body?.cancel();
    p4 = await startCoreplane({
      name: "n4",
      clientPort: clientPort(4),
      peerPort: peerPort(4),
      extraArgs: ["--initial-cluster", `${IC},n4=${peer(4)}`, "--initial-cluster-state", "existing", "--log-level", "info"],
    });
    const until = Date.now() + 15_000;
    let n = 0;
    while (Date.now() < until) {
      const g = await (await fetch(`${client(4)}/v2/keys/?quorum=true`)).json() as { node?: { nodes?: unknown[] } };
      n = g.node?.nodes?.length ?? 0;
      if (n === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.is(n, 200, p4.output().slice(-2000));
    // One snapshot was enough: the stored one already listed the new member.
    const received = p4.output().match(/snapshot received/g)?.length ?? 0;
    assert.ok(received >= 1 && received <= 2, `snapshots received: ${received}`);
  } finally {
    await Promise.all([...ps, ...(p4 ? [p4] : [])].map((p) => p.stop()));
  }
});

s.run();
