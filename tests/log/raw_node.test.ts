// Behaviour of the core through RawNode and the in-memory network: elections with PreVote and
// CheckQuorum, replication, ReadIndex, leadership transfer, conf changes, snapshots, forwarding,
// flow control and the durability rule of etcd #14370.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createPrng } from "../../internal/prng.ts";
import { MemoryStorage } from "../../log/memory_storage.ts";
import { ProgressState } from "../../log/progress.ts";
import { ProposalDroppedError } from "../../log/raft.ts";
import { ReadOnlyOption } from "../../log/read_only.ts";
import { RawNode } from "../../log/raw_node.ts";
import { ConfChangeType, EntryType, MessageType, StateType } from "../../log/types.ts";
import { Network, text } from "./network.ts";

const s = suite("log/raw_node");
const P3 = ["1", "2", "3"];
const P5 = ["1", "2", "3", "4", "5"];
const dec = new TextDecoder();

function heartbeatRound(n: Network, leader: string): void {
  n.tick(leader); // heartbeatTick = 1
  n.stabilize();
}

// ---- single member and the durability rule ----------------------------------------------------

s("ready() on a single member commits a proposal only in the Ready after the one that persisted it", () => {
  const storage = new MemoryStorage();
  const raw = new RawNode({ id: "1", electionTick: 10, heartbeatTick: 1, storage, prng: createPrng(1) });
  raw.bootstrap(["1"]);
  const drive = () => {
    const rd = raw.ready();
    if (rd.snapshot) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) storage.setConfState(raw.applyConfChange({ type: ConfChangeType.AddNode, nodeId: "1", context: new Uint8Array() }));
    }
    raw.advance(rd);
    return rd;
  };
  const first = drive();
  assert.is(first.committedEntries.length, 1); // the bootstrap conf change
  assert.equal(first.hardState, { term: 1, vote: "", commit: 1 });
  raw.campaign();
  while (raw.hasReady()) drive();
  assert.is(raw.status().raftState, StateType.Leader);
  assert.not.ok(raw.hasReady());

  raw.propose(text("x"));
  const rd1 = raw.ready();
  assert.is(rd1.entries.length, 1);
  assert.is(rd1.committedEntries.length, 0, "not committed before it is durable");
  assert.ok(rd1.mustSync);
  storage.append(rd1.entries);
  raw.advance(rd1);
  assert.ok(raw.hasReady());
  const rd2 = raw.ready();
  assert.is(rd2.entries.length, 0);
  assert.equal(rd2.committedEntries.map((e) => dec.decode(e.data)), ["x"]);
  assert.is(rd2.hardState?.commit, rd1.entries[0].index);
  assert.not.ok(rd2.mustSync, "a commit-only change needs no fsync");
  raw.advance(rd2);
  assert.not.ok(raw.hasReady());
  assert.is(raw.status().applied, rd1.entries[0].index);
});

s("a single member restarted from its storage keeps term, vote and log and becomes leader again", () => {
  const n = new Network(["1"]);
  n.campaign("1");
  n.propose("1", "a");
  const before = n.raw("1").status();
  n.restart("1");
  n.stabilize(); // re-applies the log: a committed unapplied conf change would block campaigning
  const after = n.raw("1").status();
  assert.is(after.term, before.term);
  assert.is(after.vote, "1");
  assert.is(after.commit, before.commit);
  n.campaign("1");
  n.propose("1", "b");
  assert.equal(n.m("1").applied, ["a", "a", "b"]); // the restart re-applies from 0 (applied not given)
});

s("readIndex() on a single-member leader waits for its first commit in the term", () => {
  const n = new Network(["1"]);
  const raw = n.raw("1");
  raw.campaign();
  // Drive until leader, but stop before the empty entry's commit.
  while (raw.status().raftState !== StateType.Leader) n.processReady("1");
  raw.readIndex(text("ctx"));
  assert.is(n.m("1").readStates.length, 0);
  n.stabilize();
  assert.equal(n.m("1").readStates.map((r) => [r.index, dec.decode(r.requestCtx)]), [[2, "ctx"]]);
});

// ---- elections -----------------------------------------------------------------------------------

s("campaign() elects a leader in 3 and 5 member clusters, and everyone agrees", () => {
  for (const ids of [P3, P5]) {
    const n = new Network(ids);
    n.campaign("2");
    assert.equal(n.leaders(), ["2"]);
    for (const id of ids) assert.is(n.raw(id).status().lead, "2");
    assert.is(n.raw("2").status().term, 2);
  }
});

s("a minority cannot elect a leader; the majority side can", () => {
  const n = new Network(P5);
  n.campaign("1");
  n.isolate("1");
  n.isolate("2");
  for (let i = 0; i < 40; i++) {
    n.tickAll();
    n.stabilize();
  }
  const leaders = n.leaders();
  assert.is(leaders.length, 1, `leaders ${leaders}`);
  assert.ok(["3", "4", "5"].includes(leaders[0]));
});

s("tick() elects a leader on its own after an election timeout", () => {
  const n = new Network(P3, { seed: 7 });
  for (let i = 0; i < 40 && n.leaders().length === 0; i++) {
    n.tickAll();
    n.stabilize();
  }
  assert.is(n.leaders().length, 1);
});

s("pre-vote: a partitioned member's election does not raise its term nor disrupt the leader", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("3");
  for (let i = 0; i < 50; i++) n.tick("3");
  n.stabilize();
  assert.is(n.raw("3").status().term, 2, "pre-candidate keeps its term");
  assert.is(n.raw("3").status().raftState, StateType.PreCandidate);
  n.recover();
  heartbeatRound(n, "1");
  assert.equal(n.leaders(), ["1"]);
  assert.is(n.raw("1").status().term, 2);
  assert.is(n.raw("3").status().raftState, StateType.Follower);
  assert.is(n.raw("3").status().lead, "1");
});

s("dueling pre-candidates: a member with a stale log loses its pre-vote and the term stays", () => {
  const n = new Network(P3, { checkQuorum: false });
  n.cut("1", "3");
  n.campaign("1");
  n.propose("1", "a"); // 3 never gets it
  n.raw("3").campaign();
  n.stabilize();
  assert.is(n.raw("3").status().raftState, StateType.Follower, "3 lost the pre-vote (stale log)");
  assert.is(n.raw("3").status().term, 2);
  assert.equal(n.leaders(), ["1"]);
  assert.is(n.raw("1").status().term, 2);
});

s("disruptive follower: without pre-vote a partitioned member's higher term deposes the leader", () => {
  const n = new Network(P3, { preVote: false });
  n.campaign("1");
  n.isolate("3");
  for (let i = 0; i < 20; i++) n.tick("3");
  n.stabilize();
  assert.ok(n.raw("3").status().term > 2);
  n.recover();
  heartbeatRound(n, "1"); // 3 answers the heartbeat with its higher term
  assert.is(n.raw("1").status().raftState, StateType.Follower);
  assert.ok(n.raw("1").status().term > 2);
});

s("check-quorum: an isolated leader steps down after an election timeout", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("1");
  // The first check sees the acks of the election; the second finds nobody.
  for (let i = 0; i < 19; i++) n.tick("1");
  assert.is(n.raw("1").status().raftState, StateType.Leader);
  n.tick("1");
  assert.is(n.raw("1").status().raftState, StateType.Follower);
});

s("check-quorum: a leader hearing from a quorum stays leader through many timeouts", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("3");
  for (let i = 0; i < 50; i++) heartbeatRound(n, "1");
  assert.equal(n.leaders(), ["1"]);
});

s("leader stickiness: followers in lease ignore another member's campaign", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.raw("2").campaign();
  n.stabilize();
  assert.equal(n.leaders(), ["1"]);
  assert.is(n.raw("1").status().term, 2);
  heartbeatRound(n, "1");
  assert.is(n.raw("2").status().raftState, StateType.Follower);
  assert.is(n.raw("2").status().term, 2);
});

// ---- replication ---------------------------------------------------------------------------------

s("propose() on a follower is forwarded to the leader and applied everywhere", () => {
  const n = new Network(P5);
  n.campaign("1");
  n.propose("3", "from-3");
  n.propose("1", "from-1");
  for (const id of P5) assert.equal(n.m(id).applied, ["from-3", "from-1"], id);
  assert.ok(n.sent.some((m) => m.type === MessageType.Prop && m.from === "3" && m.to === "1"));
});

s("propose() without a leader, or with forwarding disabled, throws ProposalDroppedError", () => {
  const n = new Network(P3);
  assert.throws(() => n.raw("2").propose(text("x")), (e: unknown) => e instanceof ProposalDroppedError && e.code === "log/proposal-dropped");
  const m = new Network(P3, { disableProposalForwarding: true });
  m.campaign("1");
  assert.throws(() => m.raw("2").propose(text("x")), (e: unknown) => e instanceof ProposalDroppedError);
});

s("a lagging follower with a divergent log is repaired by the new leader", () => {
  const n = new Network(P3, { checkQuorum: false });
  n.campaign("1");
  n.propose("1", "a");
  // 1 appends entries that never leave it, then loses leadership.
  n.isolate("1");
  n.raw("1").propose(text("lost1"));
  n.raw("1").propose(text("lost2"));
  n.stabilize();
  n.campaign("2");
  n.propose("2", "b");
  n.recover();
  heartbeatRound(n, "2");
  n.stabilize();
  for (const id of P3) assert.equal(n.m(id).applied, ["a", "b"], id);
  const l1 = n.raw("1").raft.raftLog.allEntries().map((e) => `${e.term}/${e.index}`);
  const l2 = n.raw("2").raft.raftLog.allEntries().map((e) => `${e.term}/${e.index}`);
  assert.equal(l1, l2);
});

s("maxUncommittedEntriesSize: proposals past the limit are dropped with a typed error", () => {
  const n = new Network(P3, { maxUncommittedEntriesSize: 10 });
  n.campaign("1");
  n.dropTypes.add(MessageType.App); // nothing commits
  n.raw("1").propose(text("123456"));
  assert.throws(() => n.raw("1").propose(text("123456")), (e: unknown) => (e as { code?: string }).code === "log/proposal-dropped");
  n.recover();
  heartbeatRound(n, "1");
  n.raw("1").propose(text("123456")); // room again once committed and applied
});

s("maxInflightMsgs: a follower in replicate gets at most that many appends in flight", () => {
  const n = new Network(P3, { maxInflightMsgs: 2 });
  n.campaign("1");
  n.propose("1", "warm");
  assert.is(n.raw("1").status().progress!["2"].state, ProgressState.Replicate);
  n.sent = [];
  for (let i = 0; i < 5; i++) n.raw("1").propose(text(`p${i}`));
  n.processReady("1");
  const appsTo2 = n.sent.filter((m) => m.type === MessageType.App && m.to === "2" && m.entries.length > 0);
  assert.is(appsTo2.length, 2);
  n.stabilize();
  heartbeatRound(n, "1");
  assert.is(n.m("2").applied.length, 6);
});

s("maxSizePerMsg: entries are batched into appends of at most that many bytes", () => {
  const n = new Network(P3, { maxSizePerMsg: 10 });
  n.campaign("1");
  n.isolate("3");
  for (let i = 0; i < 6; i++) n.propose("1", "12345");
  n.recover();
  n.sent = [];
  heartbeatRound(n, "1");
  const apps = n.sent.filter((m) => m.type === MessageType.App && m.to === "3" && m.entries.length > 0);
  assert.ok(apps.length >= 3);
  for (const m of apps) assert.ok(m.entries.reduce((a, e) => a + e.data.byteLength, 0) <= 10);
  assert.is(n.m("3").applied.length, 6);
});

// ---- ReadIndex -----------------------------------------------------------------------------------

s("readIndex() on the leader and on a follower yields the leader's commit index after a heartbeat quorum", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.propose("1", "a");
  const commit = n.raw("1").status().commit;
  n.raw("1").readIndex(text("r1"));
  n.raw("2").readIndex(text("r2"));
  n.stabilize();
  assert.equal(n.m("1").readStates.map((r) => [r.index, dec.decode(r.requestCtx)]), [[commit, "r1"]]);
  assert.equal(n.m("2").readStates.map((r) => [r.index, dec.decode(r.requestCtx)]), [[commit, "r2"]]);
});

s("readIndex() is not answered without a quorum of heartbeat acks", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("2");
  n.isolate("3");
  n.raw("1").readIndex(text("r"));
  n.stabilize();
  assert.is(n.m("1").readStates.length, 0);
  n.recover();
  heartbeatRound(n, "1");
  assert.is(n.m("1").readStates.length, 1);
});

s("readIndex() on a new leader waits until it commits an entry of its term", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.propose("1", "a");
  n.dropTypes.add(MessageType.App);
  n.raw("1").transferLeader("2"); // 2 wins, but its empty entry cannot replicate
  n.stabilize();
  assert.equal(n.leaders(), ["2"]);
  heartbeatRound(n, "2"); // 3 learns its leader; appends are still dropped
  const raft2 = n.raw("2").raft;
  assert.not.ok(raft2.committedEntryInCurrentTerm());
  n.raw("2").readIndex(text("r"));
  n.raw("3").readIndex(text("r3"));
  n.stabilize();
  assert.is(n.m("2").readStates.length, 0);
  assert.is(n.m("3").readStates.length, 0);
  n.recover();
  heartbeatRound(n, "2");
  n.stabilize();
  const last = raft2.raftLog.lastIndex();
  assert.equal(n.m("2").readStates.map((r) => r.index), [last]);
  assert.equal(n.m("3").readStates.map((r) => r.index), [last]);
});

// ---- leadership transfer -------------------------------------------------------------------------

s("transferLeader() hands leadership to an up-to-date follower", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.raw("1").transferLeader("3");
  n.stabilize();
  assert.equal(n.leaders(), ["3"]);
  assert.is(n.raw("3").status().term, 3);
});

s("transferLeader() to a lagging follower catches it up first and drops proposals meanwhile", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("3");
  n.propose("1", "a");
  n.recover();
  n.raw("1").transferLeader("3");
  assert.throws(() => n.raw("1").propose(text("b")), (e: unknown) => e instanceof ProposalDroppedError);
  n.stabilize();
  assert.equal(n.leaders(), ["3"]);
  n.propose("3", "c");
  for (const id of P3) assert.equal(n.m(id).applied, ["a", "c"], id);
});

s("transferLeader() is abandoned after an election timeout if the transferee stays silent", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("3");
  n.raw("1").transferLeader("3");
  assert.is(n.raw("1").status().leadTransferee, "3");
  for (let i = 0; i < 10; i++) heartbeatRound(n, "1");
  assert.is(n.raw("1").status().leadTransferee, "");
  n.propose("1", "ok");
});

// ---- conf changes --------------------------------------------------------------------------------

s("proposeConfChange() admits one unapplied conf change at a time; the next becomes a no-op", () => {
  const n = new Network(P3);
  n.campaign("1");
  const raw = n.raw("1");
  raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: "4", context: new Uint8Array() });
  raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: "5", context: new Uint8Array() });
  const tail = raw.raft.raftLog.allEntries().slice(-2);
  assert.equal(tail.map((e) => e.type), [EntryType.ConfChange, EntryType.Normal]);
  n.stabilize();
  assert.equal(n.m("2").confState?.learners, ["4"]);
  raw.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: "5", context: new Uint8Array() });
  n.stabilize();
  assert.equal(n.m("3").confState?.learners, ["4", "5"]);
});

s("a new leader accepts no conf change until it has applied its own term's first entry", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.dropTypes.add(MessageType.App);
  n.raw("1").transferLeader("2");
  n.stabilize();
  const raw = n.raw("2");
  assert.is(raw.status().raftState, StateType.Leader);
  raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "3", context: new Uint8Array() });
  assert.is(raw.raft.raftLog.allEntries().at(-1)!.type, EntryType.Normal);
  n.recover();
  heartbeatRound(n, "2");
  raw.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "3", context: new Uint8Array() });
  assert.is(raw.raft.raftLog.allEntries().at(-1)!.type, EntryType.ConfChange);
  n.stabilize();
  assert.equal(n.m("1").confState?.voters, ["1", "2"]);
});

s("a new member joins by conf change and catches up from the log", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.propose("1", "a");
  n.addEmpty("4");
  n.raw("1").proposeConfChange({ type: ConfChangeType.AddNode, nodeId: "4", context: new Uint8Array() });
  n.stabilize();
  heartbeatRound(n, "1");
  n.propose("1", "b");
  assert.equal(n.m("4").applied, ["a", "b"]);
  assert.equal(n.m("4").confState?.voters, ["1", "2", "3", "4"]);
  assert.is(n.raw("1").status().progress!["4"].state, ProgressState.Replicate);
});

s("a removed leader steps down and the others elect a new one", () => {
  const n = new Network(P3, { checkQuorum: false });
  n.campaign("1");
  n.raw("1").proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: "1", context: new Uint8Array() });
  n.stabilize();
  assert.is(n.raw("1").status().raftState, StateType.Follower);
  n.campaign("2");
  n.propose("2", "after");
  assert.equal(n.m("3").applied, ["after"]);
});

// ---- snapshots -----------------------------------------------------------------------------------

s("a follower behind the leader's compacted log gets a snapshot and then entries", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("3");
  for (let i = 0; i < 5; i++) n.propose("1", `v${i}`);
  const st = n.m("1").storage;
  const applied = n.raw("1").status().applied;
  st.createSnapshot(applied, undefined, text("state"));
  st.compact(applied);
  n.recover();
  heartbeatRound(n, "1");
  n.stabilize();
  assert.equal(n.m("3").applied, [`<snapshot ${applied}>`]);
  assert.is(n.m("3").storage.snapshot().metadata.index, applied);
  assert.equal(dec.decode(n.m("3").storage.snapshot().data), "state");
  assert.ok(n.sent.some((m) => m.type === MessageType.Snap && m.to === "3"));
  n.propose("1", "after");
  assert.equal(n.m("3").applied, [`<snapshot ${applied}>`, "after"]);
  assert.is(n.raw("1").status().progress!["3"].state, ProgressState.Replicate);
});

s("reportSnapshot(id, false) sends the follower back to probing", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.isolate("3");
  n.propose("1", "x");
  const st = n.m("1").storage;
  const applied = n.raw("1").status().applied;
  st.createSnapshot(applied, undefined, text("s"));
  st.compact(applied);
  n.recover();
  n.dropTypes.add(MessageType.Snap);
  heartbeatRound(n, "1");
  assert.is(n.raw("1").status().progress!["3"].state, ProgressState.Snapshot);
  n.raw("1").reportSnapshot("3", false);
  assert.is(n.raw("1").status().progress!["3"].state, ProgressState.Probe);
  n.recover();
  heartbeatRound(n, "1");
  heartbeatRound(n, "1");
  assert.equal(n.m("3").applied, [`<snapshot ${applied}>`]);
});

s("reportUnreachable() moves a replicating follower to probe", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.propose("1", "x");
  assert.is(n.raw("1").status().progress!["2"].state, ProgressState.Replicate);
  n.raw("1").reportUnreachable("2");
  assert.is(n.raw("1").status().progress!["2"].state, ProgressState.Probe);
  heartbeatRound(n, "1");
  assert.is(n.raw("1").status().progress!["2"].state, ProgressState.Replicate);
});

s("status() reports progress only on the leader", () => {
  const n = new Network(P3);
  n.campaign("1");
  assert.equal(Object.keys(n.raw("1").status().progress!).sort(), P3);
  assert.is(n.raw("2").status().progress, undefined);
});

s("ready() twice without advance() is a broken invariant", () => {
  const n = new Network(P3);
  n.raw("1").campaign();
  n.raw("1").ready();
  assert.throws(() => n.raw("1").ready());
});

s("readIndex() with ReadOnlyLeaseBased answers on the leader without a heartbeat round", () => {
  const n = new Network(P3, { readOnlyOption: ReadOnlyOption.LeaseBased });
  n.campaign("1");
  n.isolate("2");
  n.isolate("3");
  n.raw("1").readIndex(text("lease"));
  n.processReady("1");
  assert.equal(n.m("1").readStates.map((r) => dec.decode(r.requestCtx)), ["lease"]);
});

s("restore() ignores a stale snapshot and fast-forwards commit on a matching one", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.propose("1", "a");
  const r3 = n.raw("3").raft;
  const commit = r3.raftLog.committed;
  const cs = { voters: P3, learners: [] };
  assert.not.ok(r3.restore({ metadata: { index: commit - 1, term: 2, confState: cs }, data: text("") }));
  // Entries the follower holds but has not seen committed: a matching snapshot only commits.
  n.dropTypes.add(MessageType.Heartbeat);
  n.raw("1").propose(text("b"));
  n.processReady("1");
  n.deliver();
  n.processReady("3");
  const last = r3.raftLog.lastIndex();
  assert.ok(r3.raftLog.committed < last);
  assert.not.ok(r3.restore({ metadata: { index: last, term: r3.raftLog.term(last), confState: cs }, data: text("") }));
  assert.is(r3.raftLog.committed, last);
  assert.not.ok(r3.raftLog.hasNextOrInProgressSnapshot());
});

s("a learner replicates but never campaigns", () => {
  const n = new Network(P3);
  n.campaign("1");
  n.addEmpty("4");
  n.raw("1").proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: "4", context: new Uint8Array() });
  n.stabilize();
  heartbeatRound(n, "1");
  n.propose("1", "x");
  assert.equal(n.m("4").applied, ["x"]);
  assert.ok(n.raw("4").raft.isLearner);
  for (let i = 0; i < 50; i++) n.tick("4");
  n.stabilize();
  assert.is(n.raw("4").status().raftState, StateType.Follower);
  assert.equal(n.leaders(), ["1"]);
});

s.run();
