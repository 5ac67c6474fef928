// The Raft state machine: terms, elections (with PreVote and CheckQuorum), log replication with
// the current-term commit rule, ReadIndex, leadership transfer, snapshots and v1 conf changes.
// A port of etcd-io/raft raft.go: deterministic, driven only by step() and tick(), with output
// collected in msgs / msgsAfterAppend / readStates for RawNode to hand out in a Ready.
// Must not do I/O, read a clock or draw its own randomness: it comes from the injected Prng.

import { assert } from "../internal/mod.ts";
import { type Index, type NodeId, NONE, type Term } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import type { Prng } from "../internal/mod.ts";
import { ProgressState } from "./progress.ts";
import { VoteResult, voteResult } from "./quorum.ts";
import { entriesBytes, RaftLog } from "./raft_log.ts";
import { ReadOnly, ReadOnlyOption } from "./read_only.ts";
import type { LogStorage } from "./storage.ts";
import { ProgressTracker } from "./tracker.ts";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type ReadState,
  type Snapshot,
  type SoftState,
  StateType,
} from "./types.ts";

/** A proposal the core refused: no leader, a transfer in progress, or the uncommitted-size limit. */
export class ProposalDroppedError extends Error {
  override name = "ProposalDroppedError";
  readonly code = "log/proposal-dropped";
}

/** bootstrap() on a storage that already holds a log. */
export class BootstrapError extends Error {
  override name = "BootstrapError";
  readonly code = "log/bootstrap-nonempty";
}

export interface RaftConfig {
  /** This member's id (lowercase hex, not ""). */
  readonly id: NodeId;
  /** Ticks without hearing from a leader before campaigning (randomized in [e, e + jitter)). */
  readonly electionTick: number;
  /**
   * Width of the election timeout's randomization, in ticks (1..electionTick). Default electionTick:
   * etcd-io/raft's [e, 2e). A narrower range shortens the worst failover; split votes stay rare
   * because with pre-vote two campaigns collide only when they start within one message round trip.
   */
  readonly electionJitterTick?: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  readonly heartbeatTick: number;
  readonly storage: LogStorage;
  /** Last applied index, on restart; entries up to it are not handed out again. */
  readonly applied?: Index;
  /** Payload bytes per append message (at least one entry is sent). Default limits.appendBytesMax. */
  readonly maxSizePerMsg?: number;
  /** Append messages in flight per follower in Replicate state. Default limits.inflightMessagesMax. */
  readonly maxInflightMsgs?: number;
  /** Payload bytes in flight per follower; 0 = no byte limit. */
  readonly maxInflightBytes?: number;
  /** Payload bytes of the leader's uncommitted tail past which proposals are dropped; 0 = no limit. */
  readonly maxUncommittedEntriesSize?: number;
  /** Payload bytes of committedEntries per Ready (at least one entry). Default: maxSizePerMsg. */
  readonly maxCommittedSizePerReady?: number;
  /** Leader steps down without a recently active quorum; followers ignore votes while in lease. Default true. */
  readonly checkQuorum?: boolean;
  /** Pre-election round before incrementing the term (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  readonly prng: Prng;
  readonly readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. Default false. */
  readonly disableProposalForwarding?: boolean;
}

const EMPTY_BYTES = new Uint8Array(0);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]) as readonly Entry[];
/** Vote-request context marking a leadership transfer: it overrides the leader lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode("CampaignTransfer");

type CampaignType = "pre" | "election" | "transfer";
type MutableEntry = { -readonly [K in keyof Entry]: Entry[K] };

/** Fields of an outgoing message; send() fills the rest so every Message has one shape. */
interface MsgInit {
  type: MessageType;
  to: NodeId;
  from?: NodeId;
  term?: Term;
  logTerm?: Term;
  index?: Index;
  entries?: readonly Entry[];
  commit?: Index;
  reject?: boolean;
  rejectHint?: Index;
  snapshot?: Snapshot;
  context?: Uint8Array;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

function voteRespType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  if (t === MessageType.PreVote) return MessageType.PreVoteResp;
  assert(false, `not a vote message: ${t}`);
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The Raft state machine. Fields are public for RawNode and tests in this folder; everyone else
 * goes through RawNode.
 */
export class Raft {
  readonly id: NodeId;
  term: Term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateType = StateType.Follower;
  isLearner = false;
  /** Messages to send once the current Ready is persisted. */
  msgs: Message[] = [];
  /**
   * Messages that vouch for local durable state (append acks, votes). Those to others are sent
   * with the next Ready; those to self are stepped at advance(), after the driver persisted the
   * Ready: this is how the leader counts its own log towards a quorum only once it is durable.
   */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = NONE;
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change the leader appended; none may be proposed until it is applied. */
  pendingConfIndex: Index = 0;
  /** Payload bytes of the leader's log tail that is not yet applied. */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly electionJitter: number;
  readonly disableProposalForwarding: boolean;
  readonly prng: Prng;
  /** ReadIndex requests held until this leader commits an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];

  constructor(c: RaftConfig) {
    assert(c.id !== NONE, "cannot use none as id");
    assert(c.heartbeatTick > 0, "heartbeat tick must be greater than 0");
    assert(c.electionTick > c.heartbeatTick, "election tick must be greater than heartbeat tick");
    const maxInflight = c.maxInflightMsgs ?? limits.inflightMessagesMax;
    assert(maxInflight > 0, "max inflight messages must be greater than 0");
    const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
    const checkQuorum = c.checkQuorum ?? true;
    assert(readOnlyOption !== ReadOnlyOption.LeaseBased || checkQuorum,
      "checkQuorum must be enabled when ReadOnlyOption is LeaseBased");
    this.id = c.id;
    this.maxMsgSize = c.maxSizePerMsg ?? limits.appendBytesMax;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ? c.maxUncommittedEntriesSize : Infinity;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? this.maxMsgSize);
    this.trk = new ProgressTracker(maxInflight, c.maxInflightBytes ?? 0);
    this.electionTimeout = c.electionTick;
    this.electionJitter = c.electionJitterTick ?? c.electionTick;
    assert(this.electionJitter >= 1 && this.electionJitter <= c.electionTick, "election jitter must be in 1..electionTick");
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = checkQuorum;
    this.preVote = c.preVote ?? true;
    this.readOnly = new ReadOnly(readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.prng = c.prng;

    const { hardState, confState } = c.storage.initialState();
    this.#restoreConfig(confState);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  // ---- state ---------------------------------------------------------------------------------

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  loadState(hs: HardState): void {
    assert(hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** Whether this member may campaign: a voter with no snapshot waiting to be persisted. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  // ---- sending -------------------------------------------------------------------------------

  send(m: MsgInit): void {
    const type = m.type;
    let term = m.term ?? 0;
    if (type === MessageType.Vote || type === MessageType.VoteResp || type === MessageType.PreVote ||
      type === MessageType.PreVoteResp) {
      assert(term !== 0, `term should be set when sending ${type}`);
    } else {
      assert(term === 0, `term should not be set when sending ${type} (was ${term})`);
      // Proposals and read requests are forwarded as local messages, without a term.
      if (type !== MessageType.Prop && type !== MessageType.ReadIndex) term = this.term;
    }
    const msg: Message = {
      type,
      to: m.to,
      from: m.from ?? this.id,
      term,
      logTerm: m.logTerm ?? 0,
      index: m.index ?? 0,
      entries: m.entries ?? NO_ENTRIES,
      commit: m.commit ?? 0,
      reject: m.reject ?? false,
      rejectHint: m.rejectHint ?? 0,
      snapshot: m.snapshot,
      context: m.context,
    };
    if (type === MessageType.AppResp || type === MessageType.VoteResp || type === MessageType.PreVoteResp) {
      this.msgsAfterAppend.push(msg);
    } else {
      assert(msg.to !== this.id, `message should not be self-addressed when sending ${type}`);
      this.msgs.push(msg);
    }
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends an append with new entries (if any) and the commit index to `to`, unless its progress
   * is paused. With sendIfEmpty false, only sends when there are entries. Returns whether sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    // The log was compacted past what the follower has: only a snapshot can catch it up.
    if (prevTerm < 0) return this.maybeSendSnapshot(to);
    let ents: readonly Entry[] = NO_ENTRIES;
    // A full window in Replicate sends only empty appends, so that acks or rejections still
    // flow and free the window even if every in-flight append was lost.
    if (pr.state !== ProgressState.Replicate || !pr.inflights.full()) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch (err) {
        if ((err as { code?: string }).code === "log/compacted") return this.maybeSendSnapshot(to);
        throw err;
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const commit = this.raftLog.committed;
    this.send({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit });
    pr.sentEntries(ents.length, ents.length === 0 ? 0 : entriesBytes(ents));
    pr.sentCommitTo(commit);
    return true;
  }

  maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    // Snapshots are expensive: only for followers we heard from lately.
    if (!pr.recentActive) return false;
    const snapshot = this.raftLog.snapshot();
    assert(snapshot.metadata.index > 0, "need non-empty snapshot");
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: MessageType.Snap, to, snapshot });
    return true;
  }

  sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to)!;
    // Never tell a follower a commit index beyond what it is known to hold.
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send({ type: MessageType.Heartbeat, to, commit, context: ctx });
    pr.sentCommitTo(commit);
  }

  bcastAppend(): void {
    for (const id of this.trk.ids) if (id !== this.id) this.sendAppend(id);
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    for (const id of this.trk.ids) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ type: MessageType.TimeoutNow, to });
  }

  // ---- log ------------------------------------------------------------------------------------

  /** The leader advances commit to what a quorum holds, if that entry is of its term (Figure 8). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  /**
   * Appends entries proposed to this leader (assigning term and index in place: the entry objects
   * are the leader's own from here on). The self-ack is queued for after persistence.
   */
  appendEntry(es: readonly Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as MutableEntry;
      e.term = this.term;
      e.index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) return false;
    li = this.raftLog.append(es);
    this.send({ type: MessageType.AppResp, to: this.id, index: li });
    return true;
  }

  increaseUncommittedSize(es: readonly Entry[]): boolean {
    const s = entriesBytes(es);
    // An empty tail admits any proposal, and empty entries are never refused (the leader's no-op).
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  appliedTo(index: Index): void {
    this.raftLog.appliedTo(Math.max(index, this.raftLog.applied));
  }

  // ---- state transitions ----------------------------------------------------------------------

  reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.newProgress(last + 1, pr.isLearner);
      if (id === this.id) fresh.match = last;
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.prng.int(this.electionJitter);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
  }

  becomeCandidate(): void {
    assert(this.state !== StateType.Leader, "invalid transition [leader -> candidate]");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  becomePreCandidate(): void {
    assert(this.state !== StateType.Leader, "invalid transition [leader -> pre-candidate]");
    // Neither the term nor the vote changes: a pre-election is free to lose.
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    assert(this.state !== StateType.Follower, "invalid transition [follower -> leader]");
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    pr.recentActive = true;
    const ok = this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }]);
    assert(ok, "empty entry was dropped");
    // No conf change until everything up to and including this term's empty entry is applied:
    // the leader must have committed an entry of its own term first (Ongaro's fix for the
    // single-server membership change bug). etcd sets this before the empty entry; we are stricter.
    this.pendingConfIndex = this.raftLog.lastIndex();
  }

  // ---- ticks -----------------------------------------------------------------------------------

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(this.#local(MessageType.Hup));
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(this.#local(MessageType.CheckQuorum));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(this.#local(MessageType.Beat));
    }
  }

  #local(type: MessageType): Message {
    return {
      type, to: NONE, from: this.id, term: 0, logTerm: 0, index: 0, entries: NO_ENTRIES, commit: 0,
      reject: false, rejectHint: 0, snapshot: undefined, context: undefined,
    };
  }

  // ---- elections ------------------------------------------------------------------------------

  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // A committed but unapplied conf change could change who may vote: wait for it.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    let lo = log.applied + 1;
    const hi = log.committed + 1;
    while (lo < hi) {
      const ents = log.slice(lo, hi, log.maxApplyingBytes);
      for (let i = 0; i < ents.length; i++) if (ents[i].type === EntryType.ConfChange) return true;
      lo += ents.length;
    }
    return false;
  }

  campaign(t: CampaignType): void {
    let term: Term;
    let voteMsg: MessageType;
    if (t === "pre") {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      // Pre-votes are asked for the next term, before our term is incremented.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voters) {
      if (id === this.id) {
        // Our own vote counts once it is durable: stepped at advance().
        this.send({ type: voteRespType(voteMsg), to: id, term });
        continue;
      }
      this.send({
        type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm,
        context: t === "transfer" ? CAMPAIGN_TRANSFER : undefined,
      });
    }
  }

  poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- step ------------------------------------------------------------------------------------

  /** Feeds one message. Returns a ProposalDroppedError for a refused proposal, else null. */
  step(m: Message): ProposalDroppedError | null {
    if (m.term === 0) {
      // A local message (or a forwarded proposal / read request).
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // Leader stickiness: within an election timeout of hearing from a leader, ignore votes.
        if (!force && inLease) return null;
      }
      if (m.type === MessageType.PreVote) {
        // Never change the term for a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Granted pre-votes carry our future term; we bump it when we win the pre-election.
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (e.g. partitioned away): tell it our term so it steps down. Otherwise,
        // with check-quorum or pre-vote, nobody would ever raise its term.
        this.send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        // Answer so the pre-candidate learns our term and does not wait forever.
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return null;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? "pre" : "election");
        return null;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote = this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Answer with the message's term: a pre-vote's term is in our future, and an answer
          // in our own (older) term would be dropped by the pre-candidate.
          this.send({ type: voteRespType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else if (this.term !== 0) {
          // (At term 0, a brand-new member with no log, there is no term to answer with.)
          this.send({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true });
        }
        return null;
      }
      default:
        if (this.state === StateType.Leader) return this.stepLeader(m);
        if (this.state === StateType.Follower) return this.stepFollower(m);
        return this.stepCandidate(m);
    }
  }

  stepLeader(m: Message): ProposalDroppedError | null {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return null;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive()) this.becomeFollower(this.term, NONE);
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return null;
      case MessageType.Prop:
        return this.#leaderPropose(m);
      case MessageType.ReadIndex:
        // A new leader does not know the latest commit index until it commits an entry of its
        // own term; a read served before that could miss a write acknowledged by its predecessor.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return null;
        }
        if (this.trk.isSingleton()) {
          this.#respondReadIndex(m, this.raftLog.committed);
          return null;
        }
        this.#sendReadIndexResponse(m);
        return null;
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return null;
    switch (m.type) {
      case MessageType.AppResp: {
        // Also reached from advance(): the leader's own ack of entries it has persisted.
        pr.recentActive = true;
        if (m.reject) {
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) {
            // Skip every index whose term in our log is above the follower's term at the hint:
            // a probe there must fail too. Probes at most once per term in our log.
            nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
          }
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return null;
        }
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
          if (pr.state === ProgressState.Probe) {
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
            // The follower can be caught up from the log now, whatever snapshot it applied.
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Replicate) {
            pr.inflights.freeLE(m.index);
          }
          if (this.maybeCommit()) {
            // Commit moved within our term: pending reads are safe to answer now.
            this.#releasePendingReadIndexMessages();
            this.bcastAppend();
          } else if (m.from !== this.id && pr.canBumpCommit(this.raftLog.committed)) {
            this.sendAppend(m.from);
          }
          // The window may have opened: send as many appends as allowed, no empty ones.
          if (m.from !== this.id) {
            while (this.maybeSendAppend(m.from, false)) { /* keep sending */ }
          }
          if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
            this.sendTimeoutNow(m.from);
          }
        }
        return null;
      }
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // Even a paused follower gets an (empty) append: it frees a window whose appends were lost.
        if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressState.Probe) this.sendAppend(m.from);
        if (this.readOnly.option !== ReadOnlyOption.Safe || m.context === undefined || m.context.byteLength === 0) {
          return null;
        }
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined || voteResult(this.trk.voters, acks) !== VoteResult.Won) return null;
        for (const rs of this.readOnly.advance(m.context)) this.#respondReadIndex(rs.req, rs.index);
        return null;
      }
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return null;
        // On failure, forget the pending snapshot first, or we would probe from its index.
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for an append ack (success) or a heartbeat interval (failure) before the next try.
        pr.msgAppFlowPaused = true;
        return null;
      case MessageType.Unreachable:
        // In optimistic replication an unreachable follower most likely lost an append.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return null;
      case MessageType.TransferLeader: {
        if (pr.isLearner) return null;
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return null;
          this.leadTransferee = NONE;
        }
        if (transferee === this.id) return null;
        // The transfer must finish within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return null;
      }
    }
    return null;
  }

  #leaderPropose(m: Message): ProposalDroppedError | null {
    assert(m.entries.length > 0, `${this.id} stepped empty MsgProp`);
    // Removed from the configuration while leading: accept nothing new.
    if (!this.trk.progress.has(this.id)) return new ProposalDroppedError("leader is not a member");
    if (this.leadTransferee !== NONE) {
      return new ProposalDroppedError(`leadership transfer to ${this.leadTransferee} in progress`);
    }
    let entries = m.entries;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].type !== EntryType.ConfChange) continue;
      if (this.pendingConfIndex > this.raftLog.applied) {
        // One unapplied conf change at a time: this one becomes a no-op entry.
        const copy = entries.slice();
        copy[i] = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES };
        entries = copy;
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(entries)) {
      return new ProposalDroppedError("uncommitted log tail exceeds maxUncommittedEntriesSize");
    }
    this.bcastAppend();
    return null;
  }

  stepCandidate(m: Message): ProposalDroppedError | null {
    // Only answers to our own kind of candidacy count (a candidate may see stale pre-vote answers).
    const myVoteResp = this.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        return new ProposalDroppedError(`no leader at term ${this.term}`);
      case MessageType.App:
        this.becomeFollower(m.term, m.from); // m.term === this.term
        this.handleAppendEntries(m);
        return null;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return null;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return null;
      case myVoteResp: {
        const res = this.poll(m.from, !m.reject);
        if (res === VoteResult.Won) {
          if (this.state === StateType.PreCandidate) {
            this.campaign("election");
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === VoteResult.Lost) {
          // A rejected pre-vote carries a future term; keep ours.
          this.becomeFollower(this.term, NONE);
        }
        return null;
      }
    }
    return null;
  }

  stepFollower(m: Message): ProposalDroppedError | null {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) return new ProposalDroppedError(`no leader at term ${this.term}`);
        if (this.disableProposalForwarding) return new ProposalDroppedError("proposal forwarding is disabled");
        this.msgs.push({ ...m, to: this.lead, from: m.from === NONE ? this.id : m.from });
        return null;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return null;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return null;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return null;
      case MessageType.TransferLeader:
        if (this.lead === NONE) return null;
        this.msgs.push({ ...m, to: this.lead, term: this.term });
        return null;
      case MessageType.TimeoutNow:
        // Transfers skip the pre-vote: we know we are not coming back from a partition.
        this.hup("transfer");
        return null;
      case MessageType.ReadIndex:
        if (this.lead === NONE) return null;
        this.msgs.push({ ...m, to: this.lead, from: m.from === NONE ? this.id : m.from });
        return null;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY_BYTES });
        return null;
    }
    return null;
  }

  // ---- follower handlers ----------------------------------------------------------------------

  handleAppendEntries(m: Message): void {
    const log = this.raftLog;
    if (m.index < log.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: log.committed });
      return;
    }
    const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send({ type: MessageType.AppResp, to: m.from, index: lastNew });
      return;
    }
    // Hint the largest (index, term) where our logs may match: an index <= m.index whose term
    // is <= m.logTerm. Skips a whole divergent tail of higher terms in one round trip.
    const [hintIndex, hintTerm] = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm,
    });
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ type: MessageType.HeartbeatResp, to: m.from, context: m.context });
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s !== undefined && this.restore(s)) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /** Restores log and membership from a snapshot. False if it is stale or already matched. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Defense in depth: a leader must never restore; move on to a new term instead.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return false;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the snapshot's last entry: just fast-forward commit.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.#restoreConfig(cs);
    return true;
  }

  // ---- membership ------------------------------------------------------------------------------

  #restoreConfig(cs: ConfState): void {
    const last = this.raftLog.lastIndex();
    for (const id of cs.voters) this.trk.addVoter(id, last);
    for (const id of cs.learners) this.trk.addLearner(id, last);
    this.switchToConfig();
  }

  /** Applies a committed v1 conf change (called by RawNode when the driver applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    const last = this.raftLog.lastIndex();
    switch (cc.type) {
      case ConfChangeType.AddNode:
        this.trk.addVoter(cc.nodeId, last);
        break;
      case ConfChangeType.AddLearnerNode:
        this.trk.addLearner(cc.nodeId, last);
        break;
      case ConfChangeType.RemoveNode:
        this.trk.remove(cc.nodeId);
        break;
      case ConfChangeType.UpdateNode:
        break;
    }
    return this.switchToConfig();
  }

  switchToConfig(): ConfState {
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.state === StateType.Leader) {
      // Removed (or demoted) leader: step down; the others elect a new one.
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;
    // A smaller quorum may commit more; new members get probed right away.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      for (const id of this.trk.ids) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.leadTransferee = NONE;
    return cs;
  }

  // ---- read index ------------------------------------------------------------------------------

  #sendReadIndexResponse(m: Message): void {
    if (this.readOnly.option === ReadOnlyOption.Safe) {
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, m.context);
      this.bcastHeartbeatWithCtx(m.context);
    } else {
      this.#respondReadIndex(m, this.raftLog.committed);
    }
  }

  #respondReadIndex(req: Message, index: Index): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context ?? EMPTY_BYTES });
      return;
    }
    this.send({ type: MessageType.ReadIndexResp, to: req.from, index, context: req.context });
  }

  #releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) {
      if (this.trk.isSingleton()) this.#respondReadIndex(m, this.raftLog.committed);
      else this.#sendReadIndexResponse(m);
    }
  }
}

