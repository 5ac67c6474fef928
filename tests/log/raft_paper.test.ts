// One test per rule of the Raft paper, after etcd-io/raft's raft_paper_test.go (references are to
// sections of the paper). PreVote and CheckQuorum are off here: the paper has neither.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Raft } from "../../log/raft.ts";
import { MessageType, StateType } from "../../log/types.ts";
import type { Message } from "../../log/types.ts";
import { deliverAll, entry, logTerms, msg, newTestRaft, prop, readMessages, sendLocal, storageWith, summarize } from "./helpers.ts";

const s = suite("log/raft (paper)");
const P3 = ["1", "2", "3"];
const mk = (id = "1", peers = P3, ents: Array<[number, number]> = []) => newTestRaft(id, 10, 1, storageWith(peers, ents));

function commitNoopEntry(r: Raft): void {
  // Makes followers ack the leader's empty entry so it commits, like etcd's commitNoopEntry.
  assert.is(r.state, StateType.Leader);
  r.bcastAppend();
  for (const m of readMessages(r)) {
    assert.ok(m.type === MessageType.App && m.entries.length === 1 && m.entries[0].data.length === 0);
    r.step(acceptAndReply(m));
  }
  readMessages(r);
}

function acceptAndReply(m: Message): Message {
  return msg({ type: MessageType.AppResp, from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

// §5.1: if one server's current term is smaller than the other's, it updates its term.
s("step() updates the term from any message with a higher term and becomes follower (§5.1)", () => {
  for (const state of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
    const r = mk();
    if (state === StateType.Candidate) r.becomeCandidate();
    if (state === StateType.Leader) {
      r.becomeCandidate();
      r.becomeLeader();
    }
    r.step(msg({ type: MessageType.App, from: "2", to: "1", term: 2 }));
    assert.is(r.term, 2, state);
    assert.is(r.state, StateType.Follower, state);
  }
});

// §5.1: a server rejects (ignores) a request with a stale term number.
s("step() ignores a message with a stale term (§5.1)", () => {
  const r = mk("1", P3, [[1, 1], [2, 2]]);
  r.loadState({ term: 2, vote: "", commit: 0 });
  r.step(msg({ type: MessageType.App, from: "2", to: "1", term: 1, commit: 2 }));
  assert.is(r.raftLog.committed, 0);
  assert.is(r.lead, "");
  assert.equal(readMessages(r), []);
});

// §5.2: when servers start up, they begin as followers.
s("new Raft starts as a follower (§5.2)", () => {
  assert.is(mk().state, StateType.Follower);
});

// §5.2: leaders send periodic heartbeats to all followers.
s("tick() on a leader broadcasts heartbeats every heartbeatTick (§5.2)", () => {
  const hb = 1;
  const r = mk();
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < 10; i++) r.appendEntry([entry(0, 0)]);
  readMessages(r);
  for (let i = 0; i < hb; i++) r.tick();
  assert.equal(summarize(readMessages(r)), [
    "MsgHeartbeat 1->2 t1 lt0 i0 c0",
    "MsgHeartbeat 1->3 t1 lt0 i0 c0",
  ]);
});

// §5.2: a follower or candidate that hears nothing for an election timeout starts an election.
s("tick() starts an election after the election timeout: term+1, vote self, ask everyone (§5.2)", () => {
  for (const state of [StateType.Follower, StateType.Candidate]) {
    const r = mk();
    if (state === StateType.Candidate) r.becomeCandidate();
    const term0 = r.term;
    for (let i = 1; i < 2 * 10; i++) r.tick();
    assert.is(r.term, term0 + 1, state);
    assert.is(r.state, StateType.Candidate);
    assert.is(r.vote, "1");
    const msgs = readMessages(r); // includes stepping the self vote
    assert.equal(summarize(msgs), [
      `MsgVote 1->2 t${term0 + 1} lt0 i0 c0`,
      `MsgVote 1->3 t${term0 + 1} lt0 i0 c0`,
    ]);
    assert.is(r.trk.votes.get("1"), true);
  }
});

// §5.2: the election outcome in one round: win with a majority, stay candidate otherwise.
s("campaign() wins with a majority of votes, loses on a majority of rejections (§5.2)", () => {
  const table: Array<[number, Record<string, boolean>, StateType]> = [
    [1, {}, StateType.Leader],
    [3, { "2": true, "3": true }, StateType.Leader],
    [3, { "2": true }, StateType.Leader],
    [5, { "2": true, "3": true, "4": true, "5": true }, StateType.Leader],
    [5, { "2": true, "3": true, "4": true }, StateType.Leader],
    [5, { "2": true, "3": true }, StateType.Leader],
    [3, { "2": false, "3": false }, StateType.Follower],
    [5, { "2": false, "3": false, "4": false, "5": false }, StateType.Follower],
    [5, { "2": true, "3": false, "4": false, "5": false }, StateType.Follower],
    [3, {}, StateType.Candidate],
    [5, { "2": true }, StateType.Candidate],
    [5, { "2": false, "3": false }, StateType.Candidate],
    [5, {}, StateType.Candidate],
  ];
  for (const [size, votes, want] of table) {
    const peers = Array.from({ length: size }, (_, i) => String(i + 1));
    const r = mk("1", peers);
    r.step(msg({ type: MessageType.Hup, from: "1", to: "1" }));
    readMessages(r);
    for (const [id, v] of Object.entries(votes)) {
      r.step(msg({ type: MessageType.VoteResp, from: id, to: "1", term: r.term, reject: !v }));
    }
    assert.is(r.state, want, `${size} ${JSON.stringify(votes)}`);
    assert.is(r.term, 1);
  }
});

// §5.2: each server votes for at most one candidate in a given term, first come first served.
s("step(MsgVote) grants at most one vote per term (§5.2)", () => {
  const table: Array<[string, string, boolean]> = [
    ["", "2", false], ["", "3", false], ["2", "2", false], ["3", "3", false], ["2", "3", true], ["3", "2", true],
  ];
  for (const [vote, from, wreject] of table) {
    const r = mk();
    r.loadState({ term: 1, vote, commit: 0 });
    r.step(msg({ type: MessageType.Vote, from, to: "1", term: 1 }));
    const msgs = readMessages(r);
    assert.equal(summarize(msgs), [`MsgVoteResp 1->${from} t1 lt0 i0 c0${wreject ? " reject hint0" : ""}`]);
  }
});

// §5.2: a candidate that hears from a leader of at least its term steps down.
s("a candidate steps down on an append from a leader of its term or newer (§5.2)", () => {
  for (const term of [1, 2]) {
    const r = mk();
    r.step(msg({ type: MessageType.Hup, from: "1", to: "1" }));
    assert.is(r.state, StateType.Candidate);
    r.step(msg({ type: MessageType.App, from: "2", to: "1", term }));
    assert.is(r.state, StateType.Follower);
    assert.is(r.term, term);
    assert.is(r.lead, "2");
  }
});

// §5.2: election timeouts are chosen randomly from [electionTimeout, 2*electionTimeout).
s("the randomized election timeout covers [et, 2et) and nothing else (§5.2)", () => {
  for (const state of [StateType.Follower, StateType.Candidate]) {
    const et = 10;
    const r = mk();
    const seen = new Set<number>();
    for (let round = 0; round < 50 * et; round++) {
      if (state === StateType.Follower) r.becomeFollower(r.term + 1, "2");
      else r.becomeCandidate();
      let t = 0;
      while (r.state === state && r.term === r.term && t < 3 * et) {
        const term = r.term;
        r.tick();
        t++;
        readMessages(r);
        if (r.term !== term) break;
      }
      seen.add(t);
    }
    for (const t of seen) assert.ok(t >= et && t < 2 * et, `timeout ${t}`);
    for (let t = et; t < 2 * et; t++) assert.ok(seen.has(t), `timeout ${t} never drawn`);
  }
});

// node/ narrows the randomization (limits.electionJitterFraction) to bound the failover time.
s("electionJitterTick narrows the randomized election timeout to [et, et + jitter)", () => {
  const et = 10, jitter = 3;
  const r = newTestRaft("1", et, 1, storageWith(P3), { electionJitterTick: jitter });
  const seen = new Set<number>();
  for (let round = 0; round < 200; round++) {
    r.becomeFollower(r.term + 1, "2");
    const term = r.term;
    let t = 0;
    while (r.term === term && t < 3 * et) {
      r.tick();
      t++;
      readMessages(r);
    }
    seen.add(t);
  }
  assert.equal([...seen].sort((a, b) => a - b), [10, 11, 12]);
  assert.throws(() => newTestRaft("1", et, 1, storageWith(P3), { electionJitterTick: 0 }), /jitter/);
  assert.throws(() => newTestRaft("1", et, 1, storageWith(P3), { electionJitterTick: et + 1 }), /jitter/);
});

// §5.3: the leader appends a proposal to its log and sends it to all followers in parallel.
s("a leader appends a proposal and replicates it to every follower (§5.3)", () => {
  const r = mk();
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r);
  const li = r.raftLog.lastIndex();
  r.step(prop("1", "some data"));
  assert.is(r.raftLog.lastIndex(), li + 1);
  assert.is(r.raftLog.committed, li);
  assert.equal(summarize(readMessages(r)), [
    `MsgApp 1->2 t1 lt1 i${li} c${li} e[1/${li + 1}]`,
    `MsgApp 1->3 t1 lt1 i${li} c${li} e[1/${li + 1}]`,
  ]);
  assert.is(r.raftLog.nextUnstableEnts().at(-1)!.index, li + 1);
});

// §5.3: an entry is committed once replicated on a majority; the leader then applies it and
// tells followers the new commit index in its next appends.
s("a leader commits an entry once a majority has it, and sends the commit (§5.3)", () => {
  const r = mk();
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r);
  const li = r.raftLog.lastIndex();
  r.step(prop("1", "some data"));
  for (const m of readMessages(r)) r.step(acceptAndReply(m));
  assert.is(r.raftLog.committed, li + 1);
  assert.equal(r.raftLog.nextCommittedEnts(true).map((e) => e.index), [1, 2]);
  const msgs = readMessages(r);
  assert.equal(summarize(msgs), [`MsgApp 1->2 t1 lt1 i${li + 1} c${li + 1}`, `MsgApp 1->3 t1 lt1 i${li + 1} c${li + 1}`]);
});

// §5.3: commit needs a majority of acknowledgements, counting the leader.
s("a leader commits only with acks from a majority (§5.3)", () => {
  const table: Array<[number, string[], boolean]> = [
    [1, [], true], [3, [], false], [3, ["2"], true], [3, ["2", "3"], true],
    [5, [], false], [5, ["2"], false], [5, ["2", "3"], true], [5, ["2", "3", "4"], true], [5, ["2", "3", "4", "5"], true],
  ];
  for (const [size, acceptors, wack] of table) {
    const peers = Array.from({ length: size }, (_, i) => String(i + 1));
    const r = mk("1", peers);
    r.becomeCandidate();
    r.becomeLeader();
    commitNoopEntry(r);
    const li = r.raftLog.lastIndex();
    r.step(prop("1", "some data"));
    for (const m of readMessages(r)) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
    assert.is(r.raftLog.committed > li, wack, `${size} ${acceptors}`);
  }
});

// §5.3: committing an entry also commits all preceding entries, including earlier terms'.
s("committing a current-term entry commits the entries before it (§5.3)", () => {
  const table: Array<Array<[number, number]>> = [[], [[2, 1]], [[1, 1], [2, 2]], [[1, 1]]];
  for (const tt of table) {
    const r = mk("1", P3, tt);
    r.loadState({ term: 2, vote: "", commit: 0 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(prop("1", "some data"));
    for (const m of readMessages(r)) r.step(acceptAndReply(m));
    const li = tt.length;
    assert.equal(r.raftLog.nextCommittedEnts(true).map((e) => e.index), Array.from({ length: li + 2 }, (_, i) => i + 1));
  }
});

// §5.3: a follower applies an entry once it learns it is committed.
s("a follower commits up to the leader's commit index it receives (§5.3)", () => {
  const table: Array<[number, number]> = [[1, 1], [2, 2], [2, 1], [1, 1]];
  for (const [n, commit] of table) {
    const r = mk();
    r.becomeFollower(1, "2");
    const ents = Array.from({ length: n }, (_, i) => entry(1, i + 1, `d${i}`));
    r.step(msg({ type: MessageType.App, from: "2", to: "1", term: 1, logTerm: 0, index: 0, entries: ents, commit }));
    assert.is(r.raftLog.committed, commit);
    assert.is(r.raftLog.nextCommittedEnts(true).length, commit);
  }
});

// §5.3: a follower rejects an append whose (prevIndex, prevTerm) it does not hold.
s("a follower rejects an append failing the consistency check, with a hint (§5.3)", () => {
  const table: Array<[number, number, number, boolean, number]> = [
    // logTerm, index, windex, wreject, wrejectHint
    [0, 0, 1, false, 0], // match with committed entries
    [1, 1, 1, false, 0],
    [2, 2, 2, false, 0], // match with uncommitted entries
    [1, 1, 1, false, 0],
    [1, 2, 2, true, 1], // unmatch: hint at 1 (term 1 <= 1)
    [3, 3, 3, true, 2], // unmatch: beyond the log, hint at last
  ];
  for (const [logTerm, index, windex, wreject, wrejectHint] of table) {
    const r = mk("1", P3, [[1, 1], [2, 2]]);
    r.loadState({ term: 0, vote: "", commit: 1 });
    r.becomeFollower(2, "2");
    r.step(msg({ type: MessageType.App, from: "2", to: "1", term: 2, logTerm, index }));
    const [m] = readMessages(r);
    assert.is(m.type, MessageType.AppResp);
    assert.is(m.reject, wreject, `${logTerm}/${index}`);
    assert.is(m.index, wreject ? index : windex);
    if (wreject) assert.is(m.rejectHint, wrejectHint);
  }
});

// §5.3: on a conflict the follower deletes the conflicting entry and all that follow, and
// appends new ones.
s("a follower appends new entries and truncates a conflicting suffix (§5.3)", () => {
  const table: Array<[number, number, Array<[number, number]>, string, string]> = [
    [2, 2, [[3, 3]], "1/1 2/2 3/3", "3/3"],
    [1, 1, [[3, 2], [4, 3]], "1/1 3/2 4/3", "3/2 4/3"],
    [0, 0, [[1, 1]], "1/1 2/2", ""],
    [0, 0, [[3, 1]], "3/1", "3/1"],
  ];
  for (const [index, logTerm, ents, wents, wunstable] of table) {
    const r = mk("1", P3, [[1, 1], [2, 2]]);
    r.becomeFollower(2, "2");
    r.step(msg({
      type: MessageType.App, from: "2", to: "1", term: 2, logTerm, index, entries: ents.map(([t, i]) => entry(t, i)),
    }));
    assert.is(logTerms(r), wents);
    assert.is(r.raftLog.nextUnstableEnts().map((e) => `${e.term}/${e.index}`).join(" "), wunstable);
  }
});

// §5.3, Figure 7: the leader brings any follower's log into consistency with its own.
s("a new leader reconciles each follower log of Figure 7 (a-f) with its own (§5.3)", () => {
  const leaderLog: Array<[number, number]> = [[1, 1], [1, 2], [1, 3], [4, 4], [4, 5], [5, 6], [5, 7], [6, 8], [6, 9], [6, 10]];
  const terms = (ts: number[]): Array<[number, number]> => ts.map((t, i) => [t, i + 1]);
  const followers = {
    a: terms([1, 1, 1, 4, 4, 5, 5, 6, 6]),
    b: terms([1, 1, 1, 4]),
    c: terms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
    d: terms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
    e: terms([1, 1, 1, 4, 4, 4, 4]),
    f: terms([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
  };
  const term = 8;
  for (const [name, flog] of Object.entries(followers)) {
    const lead = mk("1", P3, leaderLog);
    lead.loadState({ term, vote: "", commit: lead.raftLog.lastIndex() });
    const follower = mk("2", P3, flog);
    follower.loadState({ term: term - 1, vote: "", commit: 0 });
    // 3 is a black hole: the leader needs the follower's vote, and 3's vote is injected.
    const peers = new Map<string, Raft | null>([["1", lead], ["2", follower], ["3", null]]);
    sendLocal(peers, lead, msg({ type: MessageType.Hup, from: "1", to: "1" }));
    if (lead.state !== StateType.Leader) {
      lead.step(msg({ type: MessageType.VoteResp, from: "3", to: "1", term: term + 1 }));
      deliverAll(peers, readMessages(lead));
    }
    assert.is(lead.state, StateType.Leader, name);
    sendLocal(peers, lead, prop("1", ""));
    assert.is(logTerms(follower), logTerms(lead), `follower ${name}`);
    assert.is(follower.raftLog.committed, lead.raftLog.committed, `follower ${name} commit`);
  }
});

// §5.4.1: a voter denies its vote if its own log is more up-to-date than the candidate's.
s("step(MsgVote) grants only to a candidate at least as up to date (§5.4.1)", () => {
  const table: Array<[Array<[number, number]>, number, number, boolean]> = [
    // same logterm
    [[[1, 1]], 1, 1, false], [[[1, 1]], 1, 2, false], [[[1, 1], [1, 2]], 1, 1, true],
    // candidate higher logterm
    [[[1, 1]], 2, 1, false], [[[1, 1]], 2, 2, false], [[[1, 1], [1, 2]], 2, 1, false],
    // voter higher logterm
    [[[2, 1]], 1, 1, true], [[[2, 1]], 1, 2, true], [[[2, 1], [1, 2]], 1, 1, true],
  ];
  for (const [ents, logTerm, index, wreject] of table) {
    const r = mk("1", ["1", "2"], ents);
    r.step(msg({ type: MessageType.Vote, from: "2", to: "1", term: 3, logTerm, index }));
    const [m] = readMessages(r);
    assert.is(m.type, MessageType.VoteResp);
    assert.is(m.reject, wreject, JSON.stringify([ents, logTerm, index]));
  }
});

// §5.4.2, Figure 8: only entries of the leader's current term are committed by counting replicas.
s("a leader does not commit an old-term entry by counting replicas (§5.4.2, Figure 8)", () => {
  const table: Array<[number, number]> = [[1, 0], [2, 0], [3, 3]];
  for (const [index, wcommit] of table) {
    const r = mk("1", ["1", "2"], [[1, 1], [2, 2]]);
    r.loadState({ term: 2, vote: "", commit: 0 });
    r.becomeCandidate();
    r.becomeLeader(); // term 3, empty entry at 3
    readMessages(r);
    r.step(prop("1", "x")); // entry 4, not yet self-acked
    r.step(msg({ type: MessageType.AppResp, from: "2", to: "1", term: r.term, index }));
    assert.is(r.raftLog.committed, wcommit, `ack ${index}`);
  }
});

s.run();
