// Attacks on a real member's peer port (issue 12: 2, 3 and 7), end to end on member processes with
// their default limits: a sender that is not a member is refused (`ERR sender not found`), counted
// and logged once; a stream whose messages claim another sender is dropped; frames announced over
// the shared budget and a useless 1 GiB snapshot header are refused before anything is buffered,
// and the leader keeps serving; a member under `ulimit -n 256` survives a connection flood on its
// peer port (accept errors) and serves again afterwards. Counters come from GET /v1/cluster/status
// (`peer`). Attacks are bounded and target 127.0.0.1 only.
import { suite } from "uvu";
import { type RawSocket, rawSocket, until } from "../helpers/raw_socket.ts";
import * as assert from "uvu/assert";
import net from "node:net";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import type { NodeId } from "../../internal/brand.ts";
import { encodeChunk, encodeMessages, encodeSnapshotHeader } from "../../node/message_codec.ts";
import { EntryType, type Message, MessageType } from "../../log/types.ts";
import { encodeEnvelope } from "../../projections/mod.ts";
import { freePorts } from "../helpers/ports.ts";
import { mainCommand, type Proc, repoRoot, startCoreplane, tempDir } from "../helpers/procs.ts";

const s = suite("node/peer_abuse");

interface Status {
  id: string;
  clusterId: string;
  leader: string;
  state: string;
  term: number;
  peer?: Record<string, number>;
}

let ports: number[] = [];
const client = (i: number) => `http://127.0.0.1:${ports[i - 1]}`;
const peerPort = (i: number) => ports[3 + i - 1];
const procs: Proc[] = [];

async function status(i: number): Promise<Status> {
  return await (await fetch(`${client(i)}/v1/cluster/status`, { signal: AbortSignal.timeout(5000) })).json() as Status;
}

function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** The leader's index (1..3), its status and a follower's id to impersonate. */
async function roles(): Promise<{ li: number; lead: Status; follower: NodeId }> {
  return await until("one leader", async () => {
    const all = await Promise.all([1, 2, 3].map(status));
    if (!all.every((x) => x.leader !== "" && x.leader === all[0].leader)) return undefined;
    const li = all.findIndex((x) => x.state === "StateLeader") + 1;
    if (li === 0) return undefined;
    return { li, lead: all[li - 1], follower: all.find((x) => x.id !== all[0].leader)!.id as NodeId };
  });
}

s.before(async () => {
  ports = await freePorts(6);
  const ic = [1, 2, 3].map((i) => `n${i}=http://127.0.0.1:${peerPort(i)}`).join(",");
  const ps = await Promise.all([1, 2, 3].map((i) =>
    startCoreplane({ name: `n${i}`, clientPort: ports[i - 1], peerPort: peerPort(i), extraArgs: ["--initial-cluster", ic], timeoutMs: 30_000 })
  ));
  procs.push(...ps);
});

s.after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

s("a sender that is not a member is refused, counted, and logged once", async () => {
  const { li, lead } = await roles();
  const before = lead.peer?.sendersNotFound ?? 0;
  for (let k = 0; k < 20; k++) {
    const r = await rawSocket(peerPort(li), `CPRAFT/1 msg 1234abcd ${lead.id} ${lead.clusterId}\n`);
    await until("the refusal", () => (r.isClosed() ? true : undefined), 10_000);
    assert.match(r.text(), /^ERR sender not found/);
  }
  const after = await status(li);
  assert.is(after.peer!.sendersNotFound - before, 20);
  const p = procs[li - 1];
  const logged = p.output().split("\n").filter((l) => l.includes("refusing a handshake") && l.includes("1234abcd"));
  assert.is(logged.length, 1);
  assert.is(after.state, "StateLeader");
});

s("the issue's malformed frame (a snapshot whose voters are not an array) drops the stream, is counted, and the leader keeps leading", async () => {
  const { li, lead, follower } = await roles();
  const before = lead.peer!.badFrames;
  const r = await rawSocket(peerPort(li), `CPRAFT/1 msg ${follower} ${lead.id} ${lead.clusterId}\n`);
  await until("OK", () => (r.text() === "OK\n" ? true : undefined));
  // Byte for byte the frame of the report that killed the follower, then the leader.
  // (0x60 + n: a CBOR text string of n bytes, the id; 16 hex digits in the report.)
  const id = new TextEncoder().encode(lead.id);
  const body = new Uint8Array([0x81, 0x8c, 9, 0x60 + id.length, ...id, 0x61, 0x31, 0, 0, 0, 0x80, 0, 0xf4, 0, 0x85, 1, 1, 0xf6, 0xf6, 0x40, 0xf6]);
  r.sock.write(new Uint8Array([...lengthPrefix(body.length), ...body]));
  await until("the drop", () => (r.isClosed() ? true : undefined));
  const after = await until("the bad frame to be counted", async () => {
    const x = await status(li);
    return x.peer!.badFrames > before ? x : undefined;
  });
  assert.is(after.state, "StateLeader");
});

s("a stream whose messages claim another sender is dropped and counted", async () => {
  const { li, lead, follower } = await roles();
  const r = await rawSocket(peerPort(li), `CPRAFT/1 msg ${follower} ${lead.id} ${lead.clusterId}\n`);
  await until("OK", () => (r.text() === "OK\n" ? true : undefined));
  const m: Message = {
    type: MessageType.HeartbeatResp, to: lead.id as NodeId, from: "1234abcd" as NodeId, term: lead.term,
    logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
  };
  r.sock.write(encodeMessages([m]));
  await until("the drop", () => (r.isClosed() ? true : undefined));
  assert.ok((await status(li)).peer!.wrongSender >= 1);
});

s("a forwarded proposal whose entries no member could apply is refused by the leader; every member keeps serving", async () => {
  const { li, lead, follower } = await roles();
  const r = await rawSocket(peerPort(li), `CPRAFT/1 msg ${follower} ${lead.id} ${lead.clusterId}\n`);
  await until("OK", () => (r.text() === "OK\n" ? true : undefined));
  const prop = (data: Uint8Array): Message => ({
    type: MessageType.Prop, to: lead.id as NodeId, from: follower, term: 0, logTerm: 0, index: 0,
    entries: [{ term: 0, index: 0, type: EntryType.Normal, data }], commit: 0, reject: false, rejectHint: 0,
  });
  const envelope = (command: unknown) => encodeEnvelope({ timeMs: Date.now(), proposer: follower, requestId: 1, command });
  // A command with the wrong field types, one of a type nobody owns, and an envelope whose CRC fails:
  // committed, each would stop every member on apply (and again at every restart).
  const bad = [envelope({ type: "kv/set", path: { x: 1 }, value: 3 }), envelope(["member/add", 1]), new Uint8Array([1, 0, 0, 0, 0, 0x80])];
  const before = (await status(li)).peer!.messagesRefused;
  r.sock.write(encodeMessages(bad.map(prop)));
  await until("the refusals to be counted", async () => ((await status(li)).peer!.messagesRefused - before >= 3 ? true : undefined));
  // The stream stays open (the messages were well-formed) and every member still takes writes.
  const w = await fetch(`${client(li)}/v2/keys/after-poison`, { method: "PUT", body: new URLSearchParams({ value: "ok" }), signal: AbortSignal.timeout(10_000) });
  assert.is(w.status, 201);
  await w.body?.cancel();
  for (const i of [1, 2, 3]) {
    const g = await until(`member ${i} to apply the write`, async () => {
      const x = await fetch(`${client(i)}/v2/keys/after-poison`, { signal: AbortSignal.timeout(5000) });
      return x.status === 200 ? x : (await x.body?.cancel(), undefined);
    });
    assert.is(((await g.json()) as { node: { value: string } }).node.value, "ok");
  }
  r.sock.destroy();
});

s("a snapshot whose data does not decode is refused before it is installed; the follower keeps serving", async () => {
  const { li, lead } = await roles();
  const fi = [1, 2, 3].find((i) => i !== li)!;
  const fol = await status(fi);
  const voters = await Promise.all([1, 2, 3].map(async (i) => (await status(i)).id as NodeId));
  // As the leader would send it (its id, its term), but the data is not a snapshot of this cluster's
  // state: installed, it would stop the follower now and at every restart.
  const data = new TextEncoder().encode("not a snapshot at all");
  const sm: Message = {
    type: MessageType.Snap, to: fol.id as NodeId, from: lead.id as NodeId, term: lead.term, logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0,
    snapshot: { metadata: { index: 1_000_000, term: lead.term, confState: { voters, learners: [] } }, data },
  };
  const before = fol.peer!.messagesRefused;
  const r = await rawSocket(peerPort(fi), `CPRAFT/1 snap ${lead.id} ${fol.id} ${lead.clusterId}\n`);
  r.sock.write(encodeSnapshotHeader(sm));
  r.sock.write(encodeChunk(data));
  await until("the refusal to be counted", async () => ((await status(fi)).peer!.messagesRefused > before ? true : undefined));
  const w = await fetch(`${client(li)}/v2/keys/after-bad-snapshot`, { method: "PUT", body: new URLSearchParams({ value: "ok" }), signal: AbortSignal.timeout(10_000) });
  assert.is(w.status, 201);
  await w.body?.cancel();
  const g = await until("the follower to apply the write", async () => {
    const x = await fetch(`${client(fi)}/v2/keys/after-bad-snapshot`, { signal: AbortSignal.timeout(5000) });
    return x.status === 200 ? x : (await x.body?.cancel(), undefined);
  });
  assert.is(((await g.json()) as { node: { value: string } }).node.value, "ok");
  r.sock.destroy();
});

s("frames over the shared budget and a useless 1 GiB snapshot header are refused before buffering; the leader keeps serving", async () => {
  const { li, lead, follower } = await roles();
  const hs = (ch: string) => `CPRAFT/1 ${ch} ${follower} ${lead.id} ${lead.clusterId}\n`;
  // Frames: each connection announces 16 MiB (the largest frame) and sends 1 KiB. The frames' share
  // of the budget (64 MiB across all connections) holds four, full; the fifth is dropped without
  // buffering.
  const held: RawSocket[] = [];
  try {
    for (let k = 0; k < 5; k++) {
      const r = await rawSocket(peerPort(li), hs(k % 2 === 0 ? "app" : "msg"));
      await until("OK", () => (r.text().startsWith("OK\n") ? true : undefined));
      r.sock.write(lengthPrefix(16 * 1024 * 1024));
      r.sock.write(new Uint8Array(1024));
      held.push(r);
    }
    const st = await until("the drop over budget", async () => {
      const x = await status(li);
      return x.peer!.overBudget >= 1 ? x : undefined;
    });
    assert.ok(st.peer!.bytesRefused >= 16 * 1024 * 1024);
    assert.ok(st.peer!.frameBytes <= 64 * 1024 * 1024);
    await until("the dropped connection to close", () => (held.some((r) => r.isClosed()) ? true : undefined));
    assert.is(held.filter((r) => r.isClosed()).length, 1);
    // A 64 MiB frame (the old per-connection cap) is refused outright.
    const big = await rawSocket(peerPort(li), hs("app"));
    big.sock.write(lengthPrefix(63 * 1024 * 1024));
    await until("the oversized frame to be dropped", () => (big.isClosed() ? true : undefined));
    // A snapshot header announcing 1 GiB, at the leader's own term: useless to a leader.
    const snap = await rawSocket(peerPort(li), hs("snap"));
    const sm: Message = {
      type: MessageType.Snap, to: lead.id as NodeId, from: follower, term: lead.term, logTerm: 0, index: 0, entries: [], commit: 0,
      reject: false, rejectHint: 0,
      snapshot: { metadata: { index: 1_000_000, term: lead.term, confState: { voters: [lead.id as NodeId, follower], learners: [] } }, data: new Uint8Array(0) },
    };
    const header = encodeSnapshotHeader(sm);
    // Announce 1 GiB of data in the header (the length is its last CBOR item: rebuild it by hand).
    const fake = encodeSnapshotHeader({ ...sm, snapshot: { ...sm.snapshot!, data: { length: 1024 * 1024 * 1024 } as Uint8Array } });
    assert.ok(fake.length > header.length);
    snap.sock.write(fake);
    await until("the refusal", () => (snap.isClosed() ? true : undefined));
    assert.match(snap.text(), /^OK\nERR this member leads term/);
    const after = await status(li);
    assert.ok(after.peer!.snapshotsRefused >= 1);
    assert.is(after.peer!.snapshotsReceiving, 0);
    // With the frames' share full for three election timeouts, the leader still hears its
    // followers (their small frames pass outside the budget): it keeps leading.
    await new Promise((r) => setTimeout(r, 3000));
    assert.is((await status(li)).peer!.frameBytes, 64 * 1024 * 1024);
    // The leader still leads and takes writes while the four connections hold their frames.
    const w = await fetch(`${client(li)}/v2/keys/abuse`, { method: "PUT", body: new URLSearchParams({ value: "x" }), signal: AbortSignal.timeout(10_000) });
    assert.is(w.status, 201);
    await w.body?.cancel();
    assert.is((await status(li)).state, "StateLeader");
  } finally {
    for (const r of held) r.sock.destroy();
  }
  await until("the budget to be released", async () => ((await status(li)).peer!.bufferedBytes === 0 ? true : undefined));
});

s("idle and half-sent connections to the peer port are closed eventually", async () => {
  const { li } = await roles();
  const silent = await rawSocket(peerPort(li));
  const half = await rawSocket(peerPort(li), "CPRAFT/1 msg ");
  const slow = await rawSocket(peerPort(li), "GET /members HTTP/1.1\r\n");
  // Default deadlines are 5 s; a generous liveness bound, not a timing check.
  await until("all three to be closed", () => (silent.isClosed() && half.isClosed() && slow.isClosed() ? true : undefined), 30_000);
  const st = await status(li);
  assert.ok(st.peer!.handshakeTimeouts >= 2);
  assert.ok(st.peer!.httpHeaderTimeouts >= 1);
});

s("a member under ulimit -n 256 survives a connection flood on its peer port and serves again", async () => {
  const [cp, pp] = await freePorts(2);
  const dataDir = tempDir("peer-emfile");
  const { cmd, args } = mainCommand();
  const url = `http://127.0.0.1:${cp}`;
  const peer = `http://127.0.0.1:${pp}`;
  const argv = [...args, "serve", "--name", "e1", "--data-dir", dataDir, "--listen-client-urls", url, "--advertise-client-urls", url,
    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `e1=${peer}`, "--log-level", "warn"];
  const child = spawn("bash", ["-c", 'ulimit -n 256; exec "$@"', "bash", cmd, ...argv], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const conns: net.Socket[] = [];
  try {
    await until("the member to be healthy", async () => {
      if (!alive()) throw new Error(`exited: ${out}`);
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      return r.status === 200 ? true : undefined;
    }, 30_000);
    // 400 connections, more than the process may hold: accepts fail with EMFILE.
    await Promise.all(Array.from({ length: 400 }, () =>
      new Promise<void>((r) => {
        const c = net.connect({ host: "127.0.0.1", port: pp });
        c.on("error", () => r());
        c.once("connect", () => r());
        c.once("close", () => r());
        conns.push(c);
      })
    ));
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(alive(), `the member died under the flood:\n${out}`);
    for (const c of conns) c.destroy();
    const v = await until("the peer port to serve again", async () => {
      const r = await fetch(`${peer}/version`, { signal: AbortSignal.timeout(1000) });
      return r.status === 200 ? await r.text() : undefined;
    });
    assert.match(v, /etcdserver/);
    const h = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    assert.is(h.status, 200);
    await h.body?.cancel();
    assert.ok(alive());
  } finally {
    for (const c of conns) c.destroy();
    if (alive()) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch { /* gone */ }
      await new Promise((r) => child.once("exit", r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});

s.run();
