// `coreplane log ...` end to end: a real member writes keys, is stopped, and the log commands run
// as child processes over its data dir (dump, replay, history, export, verify, repair), including
// a corrupted entry that verify names, that serve refuses to start on, and that repair removes.
// Fixture logs (written without a member) cover snapshots and compaction.
import { cpSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startCoreplane, tempDir } from "../helpers/procs.ts";
import { corruptEntry, del, runCli, set, writeLog } from "./fixtures.ts";

const s = suite("cli log");

const put = (url: string, key: string, value: string, q = "") =>
  fetch(`${url}/v2/keys${key}${q}`, { method: "PUT", body: new URLSearchParams({ value }) }).then((r) => r.json());
const remove = (url: string, key: string, q = "") => fetch(`${url}/v2/keys${key}${q}`, { method: "DELETE" }).then((r) => r.json());

/** One member's data dir, written once: /foo v1 -> v2 -> (failed CAS) -> v3, /dir/a set then removed with /dir. */
let written: Promise<string> | undefined;
function memberDataDir(): Promise<string> {
  written ??= (async () => {
    const m = await startCoreplane();
    let ok = false;
    try {
      await put(m.url, "/foo", "v1");
      await put(m.url, "/foo", "v2");
      await put(m.url, "/foo", "nope", "?prevValue=wrong");
      await put(m.url, "/dir/a", "1");
      await remove(m.url, "/dir", "?recursive=true");
      await put(m.url, "/foo", "v3");
      ok = true;
    } finally {
      // Kept for the tests that read it (the after hook removes it); dropped if writing failed.
      await m.stop({ keepData: ok });
    }
    return m.dataDir;
  })();
  return written;
}

interface DumpLine {
  index: number;
  kind: string;
  command?: { type: string; path?: string; value?: string };
  result?: { type: string; event?: { action: string; node: { key?: string; value?: string } } };
}

async function dumpJson(dir: string): Promise<DumpLine[]> {
  const r = await runCli(["log", "dump", "--data-dir", dir, "--json"]);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

s("log dump prints one line per entry with the command and its replayed result", async () => {
  const dir = await memberDataDir();
  const r = await runCli(["log", "dump", "--data-dir", dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /conf change AddNode/);
  assert.match(r.stdout, /leader no-op/);
  assert.match(r.stdout, /kv\/set \/foo "v1"  => set \/foo = "v1" \[etcd index 4\]/);
  assert.match(r.stdout, /kv\/set \/foo "v2"  => set \/foo = "v2", was "v1"/);
  assert.match(r.stdout, /prevValue="wrong"  => rejected 101: Compare failed \(\[wrong != v2\]\)/);
  assert.match(r.stdout, /kv\/delete \/dir recursive  => delete \/dir \(dir\)/);
  assert.match(r.stdout, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  [0-9a-f]{1,16}#\d+/);
});

s("log dump --json gives every entry with index, term, time, command and result", async () => {
  const lines = await dumpJson(await memberDataDir());
  assert.is(lines[0].index, 1);
  for (let i = 1; i < lines.length; i++) assert.is(lines[i].index, lines[i - 1].index + 1);
  const v1 = lines.find((l) => l.command?.value === "v1")!;
  assert.is(v1.command!.path, "/1/foo");
  assert.is(v1.result!.event!.action, "set");
  assert.is(v1.result!.event!.node.value, "v1");
});

s("log replay --to gives a key's value as it was at that index, and the summary at the end", async () => {
  const dir = await memberDataDir();
  const lines = await dumpJson(dir);
  const at = lines.find((l) => l.command?.value === "v1")!.index;
  const then = await runCli(["log", "replay", "--data-dir", dir, "--to", String(at), "--key", "/foo"]);
  assert.is(then.code, 0, then.stderr);
  assert.is(JSON.parse(then.stdout).value, "v1");
  assert.match(then.stderr, /entries\/s/);
  const before = await runCli(["log", "replay", "--data-dir", dir, "--to", String(at - 1), "--key", "/foo"]);
  assert.is(before.code, 4);
  assert.match(before.stderr, /Error: {2}100: Key not found \(\/foo\)/);
  const now = await runCli(["log", "replay", "--data-dir", dir]);
  assert.is(now.code, 0, now.stderr);
  assert.match(now.stdout, new RegExp(`state at index ${lines[lines.length - 1].index} `));
  assert.match(now.stdout, /etcd index {2}8\n/);
  assert.match(now.stdout, /replayed \d+ entries .* entries\/s/);
  const tree = await runCli(["log", "replay", "--data-dir", dir, "--json"]);
  const j = JSON.parse(tree.stdout);
  assert.equal(j.keys.nodes.map((n: { key: string }) => n.key), ["/foo"]);
  assert.is(j.etcdIndex, 8);
});

s("log history --key lists sets, the failed compare, and removal with an ancestor directory", async () => {
  const dir = await memberDataDir();
  const foo = await runCli(["log", "history", "--data-dir", dir, "--key", "/foo"]);
  assert.is(foo.code, 0, foo.stderr);
  const rows = foo.stdout.trim().split("\n");
  assert.is(rows.length, 4, foo.stdout);
  assert.match(rows[0], /set\s+\/foo\s+\(none\) -> "v1"/);
  assert.match(rows[1], /"v1" -> "v2"/);
  assert.match(rows[2], /rejected 101/);
  assert.match(rows[3], /"v2" -> "v3"/);
  const a = await runCli(["log", "history", "--data-dir", dir, "--key", "/dir/a", "--json"]);
  const hs = a.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(hs.map((h) => [h.action, h.prevValue ?? null, h.value]), [["set", null, "1"], ["delete", "1", null]]);
  assert.match(hs[1].via, /with directory \/dir/);
});

s("log export writes a file that dump, replay and verify read with --file, entry bytes intact", async () => {
  const dir = await memberDataDir();
  const out = join(tempDir("export"), "bug.cplog");
  try {
    const ex = await runCli(["log", "export", "--data-dir", dir, "--file", out]);
    assert.is(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /wrote .*entries 1\.\.\d+/);
    const fromDir = await runCli(["log", "dump", "--data-dir", dir]);
    const fromFile = await runCli(["log", "dump", "--file", out]);
    assert.is(fromFile.code, 0, fromFile.stderr);
    assert.is(fromFile.stdout, fromDir.stdout);
    const v = await runCli(["log", "verify", "--file", out]);
    assert.is(v.code, 0, v.stdout + v.stderr);
    const again = await runCli(["log", "export", "--data-dir", dir, "--file", out]);
    assert.is(again.code, 1, "an existing export is never overwritten");
  } finally {
    rmSync(join(out, ".."), { recursive: true, force: true });
  }
});

s("a corrupt entry: verify names it (exit 6), serve refuses naming it, repair drops it, verify is clean", async () => {
  const src = await memberDataDir();
  const dir = tempDir("corrupt");
  try {
    cpSync(src, dir, { recursive: true });
    const clean = await runCli(["log", "verify", "--data-dir", dir]);
    assert.is(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /the log is clean/);
    const lines = await dumpJson(dir);
    const bad = lines.find((l) => l.command?.value === "v2")!.index;
    await corruptEntry(dir, bad);
    const v = await runCli(["log", "verify", "--data-dir", dir]);
    assert.is(v.code, 6, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`BAD  log entry ${bad} is corrupt: CRC mismatch`));
    assert.match(v.stdout, new RegExp(`coreplane log repair --data-dir ${dir} --truncate-after ${bad - 1} --force`));
    const vj = await runCli(["log", "verify", "--data-dir", dir, "--json"]);
    assert.is(JSON.parse(vj.stdout).badIndex, bad);
    let refused = "";
    try {
      const m = await startCoreplane({ dataDir: dir });
      await m.stop({ keepData: true });
    } catch (e) {
      refused = (e as Error).message;
    }
    assert.match(refused, new RegExp(`log entry ${bad} is corrupt`));
    const noForce = await runCli(["log", "repair", "--data-dir", dir, "--truncate-after", String(bad - 1)]);
    assert.is(noForce.code, 6);
    assert.match(noForce.stderr, /committed.*--force.*Nothing was changed/s);
    const rep = await runCli(["log", "repair", "--data-dir", dir, "--truncate-after", String(bad - 1), "--force"]);
    assert.is(rep.code, 0, rep.stderr);
    assert.match(rep.stdout, new RegExp(`truncated .* after index ${bad - 1}`));
    const after = await runCli(["log", "verify", "--data-dir", dir]);
    assert.is(after.code, 0, after.stdout);
    const m = await startCoreplane({ dataDir: dir });
    try {
      const foo = await fetch(`${m.url}/v2/keys/foo`).then((r) => r.json());
      assert.is(foo.node.value, "v1", "the member starts on the repaired log with the state before the bad entry");
      const busy = await runCli(["log", "repair", "--data-dir", dir, "--truncate-after", "3", "--force"]);
      assert.is(busy.code, 6);
      assert.match(busy.stderr, /has .* open\. Stop it first/);
    } finally {
      await m.stop({ keepData: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("log commands read a data dir without changing it, and say so when there is no log", async () => {
  const dir = tempDir("nolog");
  try {
    const r = await runCli(["log", "dump", "--data-dir", join(dir, "missing")]);
    assert.is(r.code, 6);
    assert.match(r.stderr, /does not exist/);
    const e = await runCli(["log", "verify", "--data-dir", dir]);
    assert.is(e.code, 6);
    assert.match(e.stderr, /holds no coreplane log/);
    assert.not.ok(existsSync(join(dir, "coreplane.db")), "verify must not create a log");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** 300 sets of /k/<i % 10>, snapshots every 100 entries, compaction keeping 150: first index 151, snapshots 200 and 300. */
let compacted: Promise<{ dir: string; last: number }> | undefined;
function compactedLog(): Promise<{ dir: string; last: number }> {
  compacted ??= (async () => {
    const dir = tempDir("compacted");
    try {
      const cmds = Array.from({ length: 300 }, (_, i) => set(`/k/${i % 10}`, `v${i}`));
      cmds.push(del("/k/0"));
      const last = await writeLog(dir, cmds, { snapshotEvery: 100, compactKeep: 150, batch: 64 });
      return { dir, last };
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  })();
  return compacted;
}

s("log replay starts from the newest usable snapshot and refuses an index that compaction removed", async () => {
  const { dir, last } = await compactedLog();
  const r = await runCli(["log", "replay", "--data-dir", dir, "--to", "250", "--key", "/k/7"]);
  assert.is(r.code, 0, r.stderr);
  // Entry i + 3 carries command i: entry 250 is command 247, the last write of /k/7 at or before it.
  assert.is(JSON.parse(r.stdout).value, "v247");
  assert.match(r.stderr, /from the snapshot at 200/);
  const gone = await runCli(["log", "replay", "--data-dir", dir, "--to", "120"]);
  assert.is(gone.code, 1);
  assert.match(gone.stderr, /state at index 120 is no longer available: entries before 151 were compacted/);
  assert.match(gone.stderr, /states 200\.\.\d+ can be rebuilt/);
  const end = await runCli(["log", "replay", "--data-dir", dir, "--to", String(last), "--key", "/k/0"]);
  assert.is(end.code, 4, "deleted by the last entry");
});

s("log verify compares each snapshot with a replay from the oldest available point", async () => {
  const { dir } = await compactedLog();
  const v = await runCli(["log", "verify", "--data-dir", dir]);
  assert.is(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /snapshot 200: CRC verifies; it is the oldest point replay can start from/);
  assert.match(v.stdout, /snapshot 300: replaying from snapshot 200 gives the same encoded state/);
  const d = await runCli(["log", "dump", "--data-dir", dir, "--from", "151", "--to", "152"]);
  assert.is(d.code, 0, d.stderr);
  assert.match(d.stdout, /# results before the first usable snapshot are unknown/);
  assert.match(d.stdout, /result unknown/);
});

s("log repair --force below the newest snapshot deletes the snapshots after it, never the last starting point", async () => {
  const { dir: source } = await compactedLog();
  const dir = tempDir("repair-snap");
  try {
    cpSync(source, dir, { recursive: true });
    const noForce = await runCli(["log", "repair", "--data-dir", dir, "--truncate-after", "250"]);
    assert.is(noForce.code, 6);
    assert.match(noForce.stderr, /the newest snapshot is at 300, after 250/);
    const noStart = await runCli(["log", "repair", "--data-dir", dir, "--truncate-after", "180", "--force"]);
    assert.is(noStart.code, 6);
    assert.match(noStart.stderr, /would leave no starting point/);
    const rep = await runCli(["log", "repair", "--data-dir", dir, "--truncate-after", "250", "--force"]);
    assert.is(rep.code, 0, rep.stderr);
    assert.match(rep.stdout, /; deleted snapshot\(s\) at 300\./);
    const v = await runCli(["log", "verify", "--data-dir", dir]);
    assert.is(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /snapshot 200: CRC verifies/);
    assert.not.match(v.stdout, /snapshot 300/);
    const r = await runCli(["log", "replay", "--data-dir", dir, "--to", "250", "--key", "/k/7"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).value, "v247");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("every log command answers --help", async () => {
  for (const sub of ["dump", "replay", "history", "export", "verify", "repair"]) {
    const r = await runCli(["log", sub, "--help"]);
    assert.is(r.code, 0, sub);
    assert.match(r.stdout, new RegExp(`Usage: coreplane log ${sub}`));
  }
  const bad = await runCli(["log", "dump", "--nope"]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /Unknown option '--nope'/);
});

s.after(async () => {
  const dirs = [await written?.catch(() => undefined), (await compacted?.catch(() => undefined))?.dir];
  for (const d of dirs) if (d) rmSync(d, { recursive: true, force: true });
});

s.run();
