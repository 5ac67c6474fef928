// How the offline log tools show each service (cli/log/views.ts, cli/log/kv_view.ts): kv commands and
// results in etcd's words with client keys, other projections' commands as type and fields and their
// results as JSON, an unknown command as ignored; and the help texts speak of the proposer's time.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runLog } from "../../cli/mod.ts";
import type { CliIo } from "../../cli/mod.ts";
import { type Command, createStates } from "../../projections/mod.ts";
import { clientKey, storePath } from "../../cli/log/kv_view.ts";
import { showCommand, showResult, summaryLines } from "../../cli/log/views.ts";

const s = suite("cli/log views");

s("kv: client keys, etcd's words and the etcd index", () => {
  assert.is(clientKey("/1/foo"), "/foo");
  assert.is(clientKey("/0/members"), "(internal)/0/members");
  assert.is(storePath("/a/./b/../c"), "/1/a/c");
  const c = { type: "kv/set", path: "/1/foo", value: "v", prevIndex: 0, dir: false } as unknown as Command;
  assert.is(showCommand(c), 'kv/set /foo "v"');
  const r = { type: "event", event: { action: "set", node: { key: "/1/foo", value: "v", modifiedIndex: 4, createdIndex: 4 }, index: 4 } };
  assert.is(showResult(r, c), 'set /foo = "v" [etcd index 4]');
  assert.equal(summaryLines(createStates()).map((l) => l.trim().split(/\s+/)[0]), ["etcd", "nodes"]);
});

s("another projection: its command as type and fields, its result as JSON", () => {
  const c = { type: "member/attributes", id: "abc", name: "m1", clientURLs: ["http://a:2379"] } as unknown as Command;
  assert.is(showCommand(c), 'member/attributes id="abc" name="m1" clientURLs=["http://a:2379"]');
  const r = { type: "member/result", ok: true };
  assert.is(showResult(r, c), JSON.stringify(r));
});

s("a command no projection owns is shown as ignored", () => {
  const c = { type: "fleet/schedule", unit: "x" } as unknown as Command;
  assert.is(showResult({ type: "unknown-command", commandType: "fleet/schedule" }, c), 'no projection owns "fleet/schedule": ignored');
  assert.is(showCommand(c), 'fleet/schedule unit="x"');
});

s("the help texts speak of the proposer's time, never the leader's", async () => {
  let text = "";
  const io: CliIo = { out: (t) => void (text += t), err: (t) => void (text += t), env: {}, progress: false };
  await runLog(["--help"], io);
  for (const sub of ["dump", "replay", "history", "export", "verify", "repair"]) await runLog([sub, "--help"], io);
  assert.not.match(text, /leader time|leader's time/);
  assert.match(text, /the clock of the member\s+that proposed the entry/);
});

s.run();
