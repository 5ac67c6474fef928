// Tests for the pure parts of bench/cluster_members.ts: ports, member command lines, and finding
// the leader from /v2/stats/self answers.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  agreedLeader,
  clusterPorts,
  initialCluster,
  memberCommand,
  parseSelfStats,
  type SelfStats,
} from "../../bench/cluster_members.ts";

const s = suite("bench/cluster_members");

s("clusterPorts() gives each side 3 members inside 28000-28999, all ports distinct", () => {
  const all = [...clusterPorts("etcd"), ...clusterPorts("coreplane")];
  assert.is(all.length, 6);
  const ports = all.flatMap((m) => [m.clientPort, m.peerPort]);
  for (const p of ports) assert.ok(p >= 28000 && p <= 28999, `port ${p}`);
  assert.is(new Set(ports).size, 12);
  assert.equal(clusterPorts("etcd").map((m) => m.name), ["m1", "m2", "m3"]);
});

s("initialCluster() lists every member's peer URL", () => {
  assert.is(
    initialCluster(clusterPorts("etcd")),
    "m1=http://127.0.0.1:28112,m2=http://127.0.0.1:28122,m3=http://127.0.0.1:28132",
  );
});

s("memberCommand() gives etcd and coreplane the same etcd flags, and etcd --enable-v2", () => {
  const members = clusterPorts("coreplane");
  const flag = (args: string[], f: string) => args[args.indexOf(f) + 1];
  const etcd = memberCommand("etcd", members[1], members, "/d/m2", "tok");
  const cp = memberCommand("coreplane", members[1], members, "/d/m2", "tok");
  assert.is(etcd.cmd, "etcd");
  assert.ok(etcd.args.includes("--enable-v2"));
  assert.match(cp.cmd, /node_modules\/\.bin\/deno$/);
  assert.equal(cp.args.slice(0, 4), ["run", "-A", "main.ts", "serve"]);
  assert.not.ok(cp.args.includes("--enable-v2"));
  for (const args of [etcd.args, cp.args]) {
    assert.is(flag(args, "--name"), "m2");
    assert.is(flag(args, "--data-dir"), "/d/m2");
    assert.is(flag(args, "--listen-client-urls"), "http://127.0.0.1:28221");
    assert.is(flag(args, "--advertise-client-urls"), "http://127.0.0.1:28221");
    assert.is(flag(args, "--listen-peer-urls"), "http://127.0.0.1:28222");
    assert.is(flag(args, "--initial-advertise-peer-urls"), "http://127.0.0.1:28222");
    assert.is(flag(args, "--initial-cluster"), initialCluster(members));
    assert.is(flag(args, "--initial-cluster-state"), "new");
    assert.is(flag(args, "--initial-cluster-token"), "tok");
    assert.is(flag(args, "--heartbeat-interval"), "100");
    assert.is(flag(args, "--election-timeout"), "1000");
  }
});

s("memberCommand() appends extra flags on both sides", () => {
  const members = clusterPorts("etcd");
  assert.equal(
    memberCommand("etcd", members[0], members, "/d", "t", ["--snapshot-count", "5"]).args.slice(-3),
    ["--enable-v2", "--snapshot-count", "5"],
  );
  assert.equal(
    memberCommand("coreplane", members[0], members, "/d", "t", ["--snapshot-count", "5"]).args.slice(-2),
    ["--snapshot-count", "5"],
  );
});

s("parseSelfStats() reads etcd's /v2/stats/self", () => {
  const body =
    '{"name":"a","id":"b86abe67e388bc62","state":"StateFollower","startTime":"2026-11-23T19:03:18.880811997Z","leaderInfo":{"leader":"20a40b72878e214e","uptime":"1.9s","startTime":"2026-11-23T19:03:18.947568985Z"},"recvAppendRequestCnt":5,"sendAppendRequestCnt":0}';
  assert.equal(parseSelfStats(body), {
    name: "a",
    id: "b86abe67e388bc62",
    state: "StateFollower",
    leader: "20a40b72878e214e",
  });
  assert.is(parseSelfStats('{"id":"1","state":"StateCandidate"}').leader, "");
  assert.throws(() => parseSelfStats('{"name":"x"}'));
  assert.throws(() => parseSelfStats("not json"));
});

const st = (id: string, state: string, leader: string): SelfStats => ({ name: id, id, state, leader });

s("agreedLeader() needs exactly one leader that every answering member names", () => {
  const a = st("a", "StateFollower", "c");
  const b = st("b", "StateFollower", "c");
  const c = st("c", "StateLeader", "c");
  assert.is(agreedLeader([a, b, c], 3), 2);
  // A member that still follows the old leader: no agreement yet.
  assert.is(agreedLeader([st("a", "StateFollower", "x"), b, c], 3), undefined);
  // Two claim leadership (an old leader not yet stepped down).
  assert.is(agreedLeader([st("a", "StateLeader", "a"), b, c], 3), undefined);
  // Too few answers.
  assert.is(agreedLeader([a, undefined, c], 3), undefined);
  assert.is(agreedLeader([a, undefined, c], 2), 2);
  // Nobody leads.
  assert.is(agreedLeader([st("a", "StateCandidate", ""), st("b", "StateFollower", "")], 2), undefined);
});

s.run();
