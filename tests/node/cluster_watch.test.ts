// Watches on a real 3-member cluster through a leader crash: a long-poll watcher on every member
// (resuming with waitIndex after each event or error, as etcd v2 clients do) while writes go to
// every member and the leader is killed with SIGKILL and restarted on its data dir. Every watcher
// must see every acknowledged write, in index order, and all watchers must agree on the event at
// each index; no event may show a value nobody wrote. Snapshots are small and the log short, so
// the restarted member catches up from a snapshot.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane } from "../helpers/procs.ts";

const s = suite("node/cluster watch");

/** Members 1-3: client port PORTS[i], peer port PORTS[5 + i], all from the OS. */
const PORTS = await freePorts(10);
const clientPort = (i: number) => PORTS[i];
const peerPort = (i: number) => PORTS[5 + i];
const peer = (i: number) => `http://127.0.0.1:${peerPort(i)}`;
const client = (i: number) => `http://127.0.0.1:${clientPort(i)}`;
const IC = [1, 2, 3].map((i) => `w${i}=${peer(i)}`).join(",");
const WRITES = 240;
const KILL_AT = 80;

function start(i: number, dataDir?: string): Promise<Proc> {
  return startCoreplane({
    name: `w${i}`,
    clientPort: clientPort(i),
    peerPort: peerPort(i),
    dataDir,
    // Small snapshots and a short log, so the restarted member catches up from a snapshot and its
    // watcher resumes from the event history that came with it.
    extraArgs: ["--initial-cluster", IC, "--snapshot-count", "40", "--snapshot-catchup-entries", "10", "--log-level", "info"],
    timeoutMs: 30_000,
  });
}

interface Seen { action: string; key: string; value?: string; index: number }

/** A long-poll watcher on one member: follows /w recursively from `from`, retrying through errors. */
class Watcher {
  readonly events: Seen[] = [];
  readonly problems: string[] = [];
  #next: number;
  #stopped = false;
  #abort = new AbortController();
  readonly done: Promise<void>;

  constructor(readonly member: number, from: number) {
    this.#next = from;
    this.done = this.#run();
  }

  get nextIndex(): number {
    return this.#next;
  }

  stop(): void {
    this.#stopped = true;
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const r = await fetch(`${client(this.member)}/v2/keys/w?wait=true&recursive=true&waitIndex=${this.#next}`, {
          signal: this.#abort.signal,
        });
        const body = await r.json() as { action?: string; node?: { key: string; value?: string; modifiedIndex: number }; errorCode?: number };
        if (r.status !== 200 || !body.node) {
          // 401 would mean the member's history no longer holds #next: with fewer writes than the
          // history keeps, that is a bug, not an expected gap.
          this.problems.push(`member ${this.member} answered ${r.status} ${JSON.stringify(body)} at waitIndex ${this.#next}`);
          await sleep(50);
          continue;
        }
        this.events.push({ action: body.action!, key: body.node.key, value: body.node.value, index: body.node.modifiedIndex });
        this.#next = body.node.modifiedIndex + 1;
      } catch {
        if (this.#stopped) return;
        await sleep(50); // the member is down or restarting: resume from the same index
      }
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function leaderOf(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    for (const i of [1, 2, 3]) {
      try {
        const st = await (await fetch(`${client(i)}/v1/cluster/status`)).json() as { state?: string };
        if (st.state === "StateLeader") return i;
      } catch { /* down */ }
    }
    await sleep(50);
  }
  throw new Error("no leader");
}

s("every member's watchers see every acknowledged write once, in order, through a leader SIGKILL and restart", async () => {
  const procs = new Map<number, Proc>();
  const ps = await Promise.all([1, 2, 3].map((i) => start(i)));
  ps.forEach((p, k) => procs.set(k + 1, p));
  const watchers: Watcher[] = [];
  try {
    const first = await fetch(`${client(1)}/v2/keys/w/start`, { method: "PUT", body: new URLSearchParams({ value: "start" }) });
    const startIndex = ((await first.json()) as { node: { modifiedIndex: number } }).node.modifiedIndex;
    for (const i of [1, 2, 3]) watchers.push(new Watcher(i, startIndex + 1));

    const wrote = new Map<string, string>(); // key -> the one value ever written to it
    const acked = new Map<number, string>(); // index -> key, for acknowledged writes
    let down = 0;
    let killed: { member: number; dataDir: string } | undefined;
    for (let n = 0; n < WRITES; n++) {
      if (n === KILL_AT) {
        const li = await leaderOf();
        const p = procs.get(li)!;
        await p.kill("SIGKILL");
        killed = { member: li, dataDir: p.dataDir };
        down = li;
      }
      if (n === KILL_AT + 60 && killed) {
        procs.set(killed.member, await start(killed.member, killed.dataDir));
        down = 0;
      }
      const key = `w/k${n}`;
      const value = `v${n}`;
      wrote.set(`/${key}`, value);
      const targets = [1, 2, 3].filter((i) => i !== down);
      const to = targets[n % targets.length];
      for (let attempt = 0; attempt < 100; attempt++) {
        let r: Response;
        try {
          r = await fetch(`${client(to)}/v2/keys/${key}?prevExist=false`, { method: "PUT", body: new URLSearchParams({ value }) });
        } catch {
          await sleep(50);
          continue;
        }
        const body = await r.json() as { node?: { modifiedIndex: number }; errorCode?: number };
        if (r.status === 201 && body.node) {
          acked.set(body.node.modifiedIndex, `/${key}`);
          break;
        }
        // 105 "key already exists": an earlier attempt was applied after all (its answer was lost).
        if (body.errorCode === 105) break;
        await sleep(50); // no leader yet, or timed out: try again (prevExist=false keeps it once)
      }
    }
    const last = Math.max(...acked.keys());
    const end = Date.now() + 20_000;
    while (watchers.some((w) => w.nextIndex <= last) && Date.now() < end) await sleep(50);
    for (const w of watchers) w.stop();
    await Promise.all(watchers.map((w) => w.done));

    const byIndex = new Map<number, Seen>();
    for (const w of watchers) {
      assert.equal(w.problems, [], `member ${w.member}'s watcher`);
      for (let k = 1; k < w.events.length; k++) {
        assert.ok(w.events[k].index > w.events[k - 1].index, `member ${w.member}: index ${w.events[k].index} after ${w.events[k - 1].index}`);
      }
      for (const e of w.events) {
        assert.is(e.action, "create", `member ${w.member} at ${e.index}`);
        assert.is(e.value, wrote.get(e.key), `member ${w.member}: ${e.key} at ${e.index} shows a value nobody wrote`);
        const other = byIndex.get(e.index);
        if (other) assert.equal(e, other, `members disagree on the event at ${e.index}`);
        else byIndex.set(e.index, e);
      }
      const seen = new Set(w.events.map((e) => e.index));
      const missing = [...acked.keys()].filter((i) => !seen.has(i));
      assert.equal(missing, [], `member ${w.member}'s watcher missed acknowledged writes`);
      assert.ok(w.events.length >= WRITES, `member ${w.member} saw ${w.events.length} events for ${WRITES} keys`);
    }
    assert.ok(killed !== undefined);
    assert.match(procs.get(killed!.member)!.output(), /snapshot/, "the restarted member caught up from a snapshot");
    // Each key holds the one value written to it and was created once.
    const keys = [...byIndex.values()].map((e) => e.key);
    assert.is(new Set(keys).size, keys.length, "a key was created twice");
  } finally {
    for (const w of watchers) w.stop();
    await Promise.all([...procs.values()].map((p) => p.stop()));
  }
});

s.run();
