// `coreplane kv ...` and `coreplane cluster status` as child processes against a real member:
// etcdctl v2's output in simple, json and extended formats, its error line and exit codes, watch,
// and a clear exit 2 when nothing listens. When etcdctl is installed, outputs are compared with it
// on the same member; without it that test is skipped (requires.ts).
import { spawn } from "node:child_process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { freePort } from "../helpers/ports.ts";
import { mainCommand, type Proc, repoRoot, startCoreplane } from "../helpers/procs.ts";
import { missingTools, requires } from "../helpers/requires.ts";
import { runCli } from "./fixtures.ts";

const s = suite("cli kv");
/** Nothing listens here: a port the OS just handed out and took back. */
const DEAD = `http://127.0.0.1:${await freePort()}`;

let member: Proc | undefined;
async function url(): Promise<string> {
  member ??= await startCoreplane();
  return member.url;
}
const kv = async (...args: string[]) => runCli(["kv", "--endpoints", await url(), ...args]);

s("kv set/get/mk/update print the value; -o json and -o extended print etcdctl's formats", async () => {
  const set = await kv("set", "/a", "1");
  assert.is(set.code, 0, set.stderr);
  assert.is(set.stdout, "1\n");
  assert.is((await kv("get", "/a")).stdout, "1\n");
  const j = await kv("-o", "json", "get", "/a");
  assert.match(j.stdout, /^\{"action":"get","node":\{"key":"\/a","value":"1","nodes":null,"createdIndex":\d+,"modifiedIndex":\d+\},"prevNode":null\}\n$/);
  const x = await kv("get", "/a", "--output", "extended");
  assert.match(x.stdout, /^Key: \/a\nCreated-Index: \d+\nModified-Index: \d+\nTTL: 0\nIndex: \d+\n\n1\n$/);
  assert.is((await kv("mk", "/b", "2", "--ttl", "100")).stdout, "2\n");
  // The remaining TTL depends on how long the CLI took to start: only its bounds are behaviour.
  const ttl = Number(/"expiration":"[^"]+","ttl":(\d+)\}/.exec((await kv("-o", "json", "get", "/b")).stdout)?.[1]);
  assert.ok(ttl > 0 && ttl <= 100, `ttl ${ttl}`);
  assert.is((await kv("update", "/b", "3")).stdout, "3\n");
  assert.is((await kv("set", "--swap-with-value", "3", "/b", "4")).stdout, "4\n");
});

s("kv errors print etcdctl's error line and exit 4; a directory get exits 1", async () => {
  await kv("set", "/e", "x");
  const mk = await kv("mk", "/e", "y");
  assert.is(mk.code, 4);
  assert.match(mk.stderr, /^Error: {2}105: Key already exists \(\/e\) \[\d+\]\n$/);
  const missing = await kv("update", "/nope", "v");
  assert.is(missing.code, 4);
  assert.match(missing.stderr, /^Error: {2}100: Key not found \(\/nope\) \[\d+\]/);
  await kv("mkdir", "/ed");
  const dir = await kv("get", "/ed");
  assert.is(dir.code, 1);
  assert.is(dir.stderr, "/ed: is a directory\n");
});

s("kv mkdir, ls -r -p --sort, rm, rmdir and rm -r behave like etcdctl", async () => {
  const mkdir = await kv("mkdir", "/l");
  assert.is(mkdir.code, 0, mkdir.stderr);
  assert.is(mkdir.stdout, "", "mkdir prints nothing in simple output");
  await kv("set", "/l/b", "2");
  await kv("set", "/l/a/x", "1");
  assert.is((await kv("ls", "/l", "-r", "-p", "--sort")).stdout, "/l/a/\n/l/a/x\n/l/b\n");
  assert.is((await kv("ls", "/l/b")).stdout, "/l/b\n");
  const rm = await kv("rm", "/l/b");
  assert.is(rm.stdout, "PrevNode.Value: 2\n");
  const notEmpty = await kv("rmdir", "/l");
  assert.is(notEmpty.code, 4);
  assert.match(notEmpty.stderr, /108: Directory not empty/);
  const rmr = await kv("rm", "-r", "/l");
  assert.is(rmr.code, 0);
  assert.is(rmr.stdout, "");
  const inOrder = await kv("-o", "json", "mk", "--in-order", "/q", "job");
  assert.match(inOrder.stdout, /"action":"create","node":\{"key":"\/q\/\d{20}","value":"job"/);
});

s("kv watch prints the next change once; -r prints [action] key first and skips directories", async () => {
  const u = await url();
  const { cmd, args } = mainCommand();
  const child = spawn(cmd, [...args, "kv", "--endpoints", u, "watch", "-r", "/w"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const done = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  // The watch registers when its request arrives; keep writing until it has seen one.
  let n = 0;
  const writer = setInterval(() => {
    n++;
    void fetch(`${u}/v2/keys/w/d${n}`, { method: "PUT", body: new URLSearchParams({ dir: "true" }) }).then((r) => r.body?.cancel());
    void fetch(`${u}/v2/keys/w/d${n}/k`, { method: "PUT", body: new URLSearchParams({ value: `v${n}` }) }).then((r) => r.body?.cancel());
  }, 300);
  const code = await done;
  clearInterval(writer);
  assert.is(code, 0);
  assert.match(out, /^\[set\] \/w\/d\d+\/k\nv\d+\n$/);
  const after = await kv("watch", "--after-index", "1", "/a");
  assert.is(after.stdout, "1\n", "an old index is served from the event history");
});

s("kv and cluster exit 2 with a clear message when nothing listens", async () => {
  const r = await runCli(["kv", "--endpoints", DEAD, "get", "/a"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /connection refused \(is a member listening there\?\)/);
  const env = await runCli(["kv", "get", "/a"], { COREPLANE_ENDPOINTS: DEAD });
  assert.is(env.code, 2, "COREPLANE_ENDPOINTS is read");
  const c = await runCli(["cluster", "status", "--endpoints", DEAD]);
  assert.is(c.code, 2);
  assert.match(c.stdout, /unreachable/);
});

s("cluster status prints a row per member, --json the api's fields; 5 when one endpoint is down", async () => {
  const u = await url();
  const t = await runCli(["cluster", "status", "--endpoints", u]);
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stdout, /^ENDPOINT +ID +NAME +STATE +TERM +LEADER +COMMIT +APPLIED +SNAPSHOT +LOG +LOG SIZE\n/);
  assert.match(t.stdout, new RegExp(`${u} +[0-9a-f]{1,16} +n1 +leader +2 +self +\\d+`));
  const j = await runCli(["cluster", "status", "--endpoints", u, "--json"]);
  const [st] = JSON.parse(j.stdout);
  assert.is(st.endpoint, u);
  assert.is(st.state, "StateLeader");
  assert.ok(st.commitIndex >= 4 && st.appliedIndex === st.commitIndex);
  const half = await runCli(["cluster", "status", "--endpoints", `${u},${DEAD}`]);
  assert.is(half.code, 5);
});

requires(s, "kv output equals etcdctl v2's on the same member", missingTools("etcdctl"), async () => {
  const u = await url();
  const ctl = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn("etcdctl", ["--endpoints", u, ...args], { env: { ...process.env, ETCDCTL_API: "2" }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      c.stdout.on("data", (d) => (stdout += d));
      c.stderr.on("data", (d) => (stderr += d));
      c.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  // Each pair runs the same command (etcdctl first, then coreplane) on its own key, so indexes differ by one write.
  const cases: string[][] = [
    ["set", "/cmp/K", "v"],
    ["-o", "json", "get", "/cmp/K"],
    ["-o", "extended", "get", "/cmp/K"],
    ["mk", "/cmp/K", "x"],
    ["rm", "/cmp/K"],
    ["ls", "/cmp"],
  ];
  for (const c of cases) {
    const a = await ctl(c.map((x) => x.replace("K", "e")));
    const b = await kv(...c.map((x) => x.replace("K", "c")));
    const norm = (t: string) => t.replace(/\/cmp\/[ec]/g, "/cmp/K").replace(/\d+/g, "N");
    assert.is(b.code, a.code, c.join(" "));
    assert.is(norm(b.stdout), norm(a.stdout), c.join(" "));
    assert.is(norm(b.stderr), norm(a.stderr), c.join(" "));
  }
});

s("kv and cluster answer --help for every command", async () => {
  for (const sub of ["get", "set", "mk", "mkdir", "rm", "rmdir", "ls", "update", "watch"]) {
    const r = await runCli(["kv", sub, "--help"]);
    assert.is(r.code, 0, sub);
    assert.match(r.stdout, new RegExp(`Usage: coreplane kv \\[global flags\\] ${sub}`));
  }
  assert.is((await runCli(["kv", "--help"])).code, 0);
  assert.is((await runCli(["cluster", "status", "--help"])).code, 0);
  const bad = await runCli(["kv", "frob"]);
  assert.is(bad.code, 1);
});

s.after(async () => {
  await member?.stop();
});

s.run();
