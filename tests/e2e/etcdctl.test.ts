// End to end: the real etcdctl (ETCDCTL_API=2, 3.4) drives a real etcd 3.4 and a coreplane member
// through the same script of commands; each step's exit code, stdout and stderr must be the same on
// both, after masking what legitimately differs (member ids and the URLs, whose ports differ).
// The etcd transcript is also checked against the expected text below, so a changed etcdctl shows up
// as such and not as a coreplane bug. Must not talk HTTP to the members except to read an index for
// --after-index and to drive the one plain watch.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane, startEtcd, tempDir } from "../helpers/procs.ts";
import { missingTools, requires } from "../helpers/requires.ts";
import { type CmdResult, getKey, putKey, runCmd, sleep, startCmd, waitUntil } from "./_util.ts";

const ports = await freePorts(4);
const ETCD = { clientPort: ports[0], peerPort: ports[1] };
const CORE = { clientPort: ports[2], peerPort: ports[3] };

interface Target {
  readonly name: string;
  readonly url: string;
  readonly peerUrl: string;
}

interface Step {
  /** Shown in failure messages and used as the transcript label. */
  readonly label: string;
  run(t: Target, scratch: string): Promise<Outcome>;
  /** Lines may come in any order (unsorted listings follow Go map order on etcd). */
  readonly unordered?: boolean;
  /** The outcome real etcd gives, after masking. */
  readonly expect: Outcome;
}

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ctl(t: Target, args: readonly string[], limitMs = 20_000): Promise<CmdResult> {
  return runCmd("etcdctl", ["--endpoints", t.url, ...args], { env: { ETCDCTL_API: "2" }, limitMs });
}

/** A step that runs `etcdctl <args>` once. */
function cmd(args: string[], code: number, stdout: string, stderr = "", unordered = false): Step {
  return {
    label: `etcdctl ${args.join(" ")}`,
    unordered,
    expect: { code, stdout, stderr },
    run: async (t) => {
      const r = await ctl(t, args);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/** The member's current etcd index (X-Etcd-Index of a GET of the root). */
async function etcdIndex(t: Target): Promise<number> {
  const r = await getKey(t.url, "/");
  assert.is(r.status, 200, `GET /v2/keys/ on ${t.name}: ${r.text}`);
  const n = Number(r.etcdIndex);
  assert.ok(Number.isSafeInteger(n) && n > 0, `X-Etcd-Index on ${t.name} is ${r.etcdIndex}`);
  return n;
}

const steps: Step[] = [
  cmd(["set", "/a", "1"], 0, "1\n"),
  cmd(["get", "/a"], 0, "1\n"),
  cmd(["mk", "/a", "2"], 4, "", "Error:  105: Key already exists (/a) [4]\n"),
  cmd(["mk", "/b", "2"], 0, "2\n"),
  cmd(["mkdir", "/d"], 0, ""),
  cmd(["mkdir", "/d"], 4, "", "Error:  105: Key already exists (/d) [6]\n"),
  cmd(["set", "/d/x", "1"], 0, "1\n"),
  cmd(["set", "/d/sub/y", "2"], 0, "2\n"),
  cmd(["ls"], 0, "/a\n/b\n/d\n", "", true),
  cmd(["ls", "--recursive"], 0, "/a\n/b\n/d\n/d/sub\n/d/sub/y\n/d/x\n", "", true),
  cmd(["ls", "-r", "-p", "--sort"], 0, "/a\n/b\n/d/\n/d/sub/\n/d/sub/y\n/d/x\n"),
  cmd(["ls", "-p", "--sort", "/d"], 0, "/d/sub/\n/d/x\n"),
  cmd(["ls", "--sort", "/nonexist"], 4, "", "Error:  100: Key not found (/nonexist) [8]\n"),
  cmd(["update", "/a", "3"], 0, "3\n"),
  cmd(["update", "/zz", "1"], 4, "", "Error:  100: Key not found (/zz) [9]\n"),
  cmd(["get", "/zz"], 4, "", "Error:  100: Key not found (/zz) [9]\n"),
  cmd(["get", "--quorum", "/a"], 0, "3\n"),
  cmd(["get", "/d"], 1, "", "/d: is a directory\n"),
  cmd(["-o", "extended", "get", "/b"], 0, "Key: /b\nCreated-Index: 5\nModified-Index: 5\nTTL: 0\nIndex: 9\n\n2\n"),
  cmd(["-o", "json", "get", "/b"], 0, `{"action":"get","node":{"key":"/b","value":"2","nodes":null,"createdIndex":5,"modifiedIndex":5},"prevNode":null}\n`),
  cmd(["set", "--swap-with-value", "2", "/b", "3"], 0, "3\n"),
  cmd(["set", "--swap-with-value", "wrong", "/b", "4"], 4, "", "Error:  101: Compare failed ([wrong != 3]) [10]\n"),
  cmd(["set", "--swap-with-index", "1", "/b", "4"], 4, "", "Error:  101: Compare failed ([1 != 10]) [10]\n"),
  cmd(["rm", "/a"], 0, "PrevNode.Value: 3\n"),
  cmd(["rm", "/a"], 4, "", "Error:  100: Key not found (/a) [11]\n"),
  cmd(["rmdir", "/d"], 4, "", "Error:  108: Directory not empty (/d) [11]\n"),
  cmd(["mkdir", "/e"], 0, ""),
  cmd(["rmdir", "/e"], 0, ""),
  cmd(["rmdir", "/e"], 4, "", "Error:  100: Key not found (/e) [13]\n"),
  cmd(["rm", "--recursive", "/d"], 0, ""),
  cmd(["rm", "--recursive", "/d"], 4, "", "Error:  100: Key not found (/d) [14]\n"),
  cmd(["setdir", "/sd"], 0, ""),
  cmd(["updatedir", "/sd"], 0, ""),
  cmd(["updatedir", "/nod"], 4, "", "Error:  100: Key not found (/nod) [16]\n"),
  cmd(["rm", "--dir", "/sd"], 0, ""),
  cmd(["mk", "--in-order", "/q", "job"], 0, "job\n"),
  cmd(["ls", "/q"], 0, "/q/00000000000000000018\n"),
  cmd(["get", "/q"], 1, "", "/q: is a directory\n"),
  cmd(["mkdir", "/b"], 4, "", "Error:  105: Key already exists (/b) [18]\n"),
  cmd(["rmdir", "/b"], 0, "PrevNode.Value: 3\n"),
  cmd(["rm", "/"], 4, "", "Error:  107: Root is read only (/) [19]\n"),
  cmd(["set", "/", "x"], 4, "", "Error:  107: Root is read only (/) [19]\n"),
  cmd(["get"], 1, "", "Error:  key required\n"),
  cmd(["set", "/k"], 1, "", "Error:  value required\n"),
  cmd(["mk", "--ttl", "3600", "/ttl", "v"], 0, "v\n"),
  cmd(["set", "/sp ace/ünï", "a&b=c<d>"], 0, "a&b=c<d>\n"),
  cmd(["get", "/sp ace/ünï"], 0, "a&b=c<d>\n"),
  {
    // One event from the history: --after-index makes the watch independent of when it registers.
    label: "etcdctl watch --after-index <index> /w  (then set /w hello)",
    expect: { code: 0, stdout: "hello\n", stderr: "" },
    run: async (t) => {
      const before = await etcdIndex(t);
      const w = startCmd("etcdctl", ["--endpoints", t.url, "watch", "--after-index", String(before), "/w"], {
        env: { ETCDCTL_API: "2" },
        limitMs: 20_000,
      });
      const s = await ctl(t, ["set", "/w", "hello"]);
      assert.is(s.code, 0, `set /w hello on ${t.name}: ${s.stderr}`);
      const r = await w.done;
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  },
  {
    label: "etcdctl watch -r --after-index <index> /wd  (after set /wd/k v)",
    expect: { code: 0, stdout: "[set] /wd/k\nv\n", stderr: "" },
    run: async (t) => {
      const before = await etcdIndex(t);
      const s = await ctl(t, ["set", "/wd/k", "v"]);
      assert.is(s.code, 0, `set /wd/k v on ${t.name}: ${s.stderr}`);
      const r = await ctl(t, ["watch", "-r", "--after-index", String(before), "/wd"]);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  },
  {
    // exec-watch runs forever: wait for the file its command writes, then stop it. Its own exit
    // status after SIGTERM is not part of the comparison; what it printed and ran is.
    label: "etcdctl exec-watch --after-index <index> -- sh -c 'env | grep ^ETCD_WATCH_ ...' /ew  (after set /ew v1)",
    expect: {
      code: 0,
      stdout: "",
      stderr: "ETCD_WATCH_ACTION=set\nETCD_WATCH_KEY=/ew\nETCD_WATCH_MODIFIED_INDEX=24\nETCD_WATCH_VALUE=v1\n",
    },
    run: async (t, scratch) => {
      const file = join(scratch, `exec-watch-${t.name}.env`);
      const before = await etcdIndex(t);
      const s = await ctl(t, ["set", "/ew", "v1"]);
      assert.is(s.code, 0, `set /ew v1 on ${t.name}: ${s.stderr}`);
      const script = `env | grep ^ETCD_WATCH_ | sort > '${file}.tmp' && mv '${file}.tmp' '${file}'`;
      const w = startCmd("etcdctl", ["--endpoints", t.url, "exec-watch", "--after-index", String(before), "--", "sh", "-c", script, "/ew"], {
        env: { ETCDCTL_API: "2" },
        limitMs: 30_000,
      });
      let exited = false;
      void w.done.then(() => (exited = true), () => (exited = true));
      await waitUntil(`exec-watch on ${t.name} to run its command (stderr so far: ${w.stderr()})`, () => existsSync(file) || exited, 20_000);
      w.kill("SIGTERM");
      const r = await w.done;
      const env = existsSync(file) ? readFileSync(file, "utf8") : `(no file; exec-watch exited ${r.code ?? r.signal})`;
      // The env file is reported in the stderr slot, and the exit status as 0 once it ran.
      return { code: existsSync(file) ? 0 : r.code, stdout: r.stdout, stderr: r.stderr + env };
    },
  },
  cmd(["cluster-health"], 0, "member <id> is healthy: got healthy result from <client>\ncluster is healthy\n"),
  cmd(["member", "list"], 0, "<id>: name=n1 peerURLs=<peer> clientURLs=<client> isLeader=true\n"),
  {
    // The one watch without an index: it registers at some moment we cannot see, so the same value
    // is written again and again until the watch has printed it and exited. Last, because the
    // number of writes differs between the servers.
    label: "etcdctl watch /w2  (while set /w2 same repeats)",
    expect: { code: 0, stdout: "same\n", stderr: "" },
    run: async (t) => {
      const w = startCmd("etcdctl", ["--endpoints", t.url, "watch", "/w2"], { env: { ETCDCTL_API: "2" }, limitMs: 30_000 });
      let exited = false;
      void w.done.then(() => (exited = true), () => (exited = true));
      for (let i = 0; !exited && i < 200; i++) {
        const p = await putKey(t.url, "/w2", "same");
        assert.ok(p.status === 200 || p.status === 201, `PUT /w2 on ${t.name}: ${p.status} ${p.text}`);
        await sleep(100);
      }
      w.kill("SIGKILL");
      const r = await w.done;
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
  },
];

function mask(t: Target, o: Outcome, unordered: boolean): Outcome {
  const m = (s: string) =>
    s
      .replaceAll(t.url, "<client>")
      .replaceAll(t.peerUrl, "<peer>")
      .replace(/^[0-9a-f]{1,16}: name=/gm, "<id>: name=")
      .replace(/^member [0-9a-f]{1,16} is /gm, "member <id> is ");
  const order = (s: string) => (unordered ? s.split("\n").filter(Boolean).sort().join("\n") + "\n" : s);
  return { code: o.code, stdout: order(m(o.stdout)), stderr: m(o.stderr) };
}

async function transcript(t: Target): Promise<Outcome[]> {
  const scratch = tempDir("e2e-etcdctl");
  try {
    const out: Outcome[] = [];
    for (const st of steps) out.push(mask(t, await st.run(t, scratch), st.unordered ?? false));
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function show(o: Outcome): string {
  return `exit ${o.code}\n--- stdout\n${o.stdout}--- stderr\n${o.stderr}`;
}

function compare(what: string, got: Outcome[], want: (i: number) => Outcome): void {
  const bad: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const g = got[i];
    const w = want(i);
    if (g.code !== w.code || g.stdout !== w.stdout || g.stderr !== w.stderr) {
      bad.push(`step ${i + 1}: ${steps[i].label}\n  want:\n${show(w).replace(/^/gm, "    ")}\n  got:\n${show(g).replace(/^/gm, "    ")}`);
    }
  }
  assert.ok(bad.length === 0, `${what}: ${bad.length} step(s) differ\n${bad.join("\n")}`);
}

const s = suite("e2e/etcdctl");
let etcdTranscript: Outcome[] | undefined;

requires(s, "etcdctl v2 against real etcd 3.4 prints the expected transcript", missingTools("etcdctl", "etcd"), async () => {
  let p: Proc | undefined;
  try {
    p = await startEtcd(ETCD);
    const got = await transcript({ name: "etcd", url: p.url, peerUrl: `http://127.0.0.1:${ETCD.peerPort}` });
    etcdTranscript = got;
    compare("real etcd", got, (i) => mask({ name: "", url: "\0", peerUrl: "\0" }, steps[i].expect, steps[i].unordered ?? false));
  } finally {
    await p?.stop();
  }
});

requires(s, "etcdctl v2 against coreplane prints exactly what it prints against real etcd", missingTools("etcdctl"), async () => {
  let p: Proc | undefined;
  try {
    p = await startCoreplane(CORE);
    const got = await transcript({ name: "coreplane", url: p.url, peerUrl: `http://127.0.0.1:${CORE.peerPort}` });
    // Against this run's etcd transcript when etcd ran, else against the recorded one.
    const ref = etcdTranscript;
    compare(
      ref ? "coreplane vs the etcd transcript of this run" : "coreplane vs the recorded etcd transcript",
      got,
      (i) => ref ? ref[i] : mask({ name: "", url: "\0", peerUrl: "\0" }, steps[i].expect, steps[i].unordered ?? false),
    );
    assert.ok(p.child.exitCode === null && p.child.signalCode === null, `coreplane exited during the script:\n${p.output()}`);
  } catch (e) {
    if (p) (e as Error).message += `\n--- coreplane output ---\n${p.output().slice(-4000)}`;
    throw e;
  } finally {
    await p?.stop();
  }
});

s.run();
