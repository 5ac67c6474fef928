// A real member in a child process on loopback: writes survive restarts, snapshots and compaction
// keep the state, restart = snapshot + replayed tail gives the same answers.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startCoreplane } from "../helpers/procs.ts";

const s = suite("member");
const put = (url: string, key: string, value: string) =>
  fetch(`${url}/v2/keys${key}`, { method: "PUT", body: new URLSearchParams({ value }) }).then(async (r) => ({ status: r.status, body: await r.json() }));
const get = (url: string, key: string) => fetch(`${url}/v2/keys${key}`).then(async (r) => ({ status: r.status, body: await r.json() }));

s("a fresh member starts at etcd's indexes: the first user write is index 4, term 2", async () => {
  const m = await startCoreplane();
  try {
    const r = await put(m.url, "/first", "v");
    assert.is(r.status, 201);
    assert.is(r.body.node.modifiedIndex, 4);
    const st = await fetch(`${m.url}/v1/cluster/status`).then((x) => x.json());
    assert.is(st.term, 2);
    assert.is(st.state, "StateLeader");
  } finally {
    await m.stop();
  }
});

s("writes survive a restart through snapshots and compaction", async () => {
  const args = ["--snapshot-count", "40"];
  let m = await startCoreplane({ extraArgs: args });
  const dataDir = m.dataDir;
  try {
    for (let i = 0; i < 300; i++) {
      const r = await put(m.url, `/k/${i % 50}`, `v${i}`);
      assert.ok(r.status === 200 || r.status === 201, `PUT ${i}: ${r.status}`);
    }
    const before = await fetch(`${m.url}/v2/keys/k?recursive=true&sorted=true`).then((x) => x.json());
    const st = await fetch(`${m.url}/v1/cluster/status`).then((x) => x.json());
    assert.ok(st.snapshotIndex > 0, `a snapshot was taken (status ${JSON.stringify(st)})`);
    await m.stop({ keepData: true });
    m = await startCoreplane({ clientPort: m.clientPort, peerPort: m.peerPort, extraArgs: args, dataDir });
    const after = await fetch(`${m.url}/v2/keys/k?recursive=true&sorted=true`).then((x) => x.json());
    assert.equal(after, before);
    const r = await put(m.url, "/k/new", "x");
    assert.ok(r.body.node.modifiedIndex > before.node.nodes[0].modifiedIndex);
    assert.is((await get(m.url, "/k/49")).body.node.value, "v299");
  } finally {
    await m.stop();
  }
});

s("SIGKILL loses nothing acknowledged", async () => {
  let m = await startCoreplane();
  const dataDir = m.dataDir;
  try {
    const acked: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await put(m.url, `/d/${i}`, `v${i}`);
      if (r.status === 201) acked.push(`/d/${i}`);
    }
    await m.kill("SIGKILL");
    m = await startCoreplane({ clientPort: m.clientPort, peerPort: m.peerPort, dataDir });
    for (const k of acked) assert.is((await get(m.url, k)).body.node?.value, `v${k.slice(3)}`, k);
  } finally {
    await m.stop();
  }
});

s.run();
