// The driver's handle on the Raft core: inputs (tick, step, propose, campaign, readIndex,
// transferLeader, reports) and the Ready/advance handshake that hands out what to persist, send
// and apply. Port of etcd-io/raft rawnode.go in synchronous-storage mode. Must not do I/O: the
// driver (node/) persists, sends and applies, then calls advance().

import { assert } from "../internal/mod.ts";
import { type Index, type NodeId, NONE, type Term } from "../internal/mod.ts";
import { decodeConfChange, encodeConfChange } from "./conf_change.ts";
import type { ProgressState } from "./progress.ts";
import { entriesBytes } from "./raft_log.ts";
import { BootstrapError, isEmptyHardState, ProposalDroppedError, Raft, type RaftConfig } from "./raft.ts";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type Ready,
  type SoftState,
  type StateType,
} from "./types.ts";

export interface ProgressStatus {
  readonly match: Index;
  readonly next: Index;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly inflightCount: number;
  readonly inflightBytes: number;
}

/** The cheap part of Status: no per-member progress, nothing built per call beyond this object. */
export interface BasicStatus {
  readonly id: NodeId;
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
  readonly applied: Index;
  readonly lead: NodeId;
  readonly raftState: StateType;
  readonly leadTransferee: NodeId;
  /** The newest index in the log (stable or not). */
  readonly lastIndex: Index;
  /** The index of the newest membership change the leader proposed (0 or below applied when none is pending). */
  readonly pendingConfIndex: Index;
}

/** etcd-io/raft's Status: the basic fields (without the log's end and the pending change) and, on the leader, progress. */
export interface Status extends Omit<BasicStatus, "lastIndex" | "pendingConfIndex"> {
  /** Per member, only on the leader. */
  readonly progress?: Readonly<Record<NodeId, ProgressStatus>>;
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]) as readonly Entry[];
const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

/** What a handed-out Ready promised; advance() acts on it, whatever the driver passes back. */
interface Accepted {
  readonly ready: Ready;
  readonly lastEntryIndex: Index;
  readonly lastEntryTerm: Term;
  readonly snapshotIndex: Index;
  readonly lastCommittedIndex: Index;
  readonly committedBytes: number;
  readonly steps: Message[];
}

function message(type: MessageType, from: NodeId, entries: readonly Entry[], context?: Uint8Array): Message {
  return {
    type, to: NONE, from, term: 0, logTerm: 0, index: 0, entries, commit: 0, reject: false, rejectHint: 0,
    snapshot: undefined, context,
  };
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Local message types that must not arrive from the network. */
const LOCAL_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
]);
const RESPONSE_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.AppResp, MessageType.VoteResp, MessageType.HeartbeatResp, MessageType.PreVoteResp,
]);

export class RawNode {
  /** The state machine itself; exposed for tests and status, not for driving. */
  readonly raft: Raft;
  #prevSoftState: SoftState;
  #prevHardState: HardState;
  #accepted: Accepted | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.#prevSoftState = this.raft.softState();
    this.#prevHardState = this.raft.hardState();
  }

  /**
   * Starts a brand-new cluster whose initial voters are `peers` (this member included), like
   * etcd's RawNode.Bootstrap: appends one AddNode conf-change entry per peer at term 1, marks
   * them committed and applies them to the membership at once (so campaign() works right away).
   * The first Ready carries them as entries AND committedEntries plus HardState {term 1, commit n}:
   * the driver persists and applies them like any other (applyConfChange is idempotent for them).
   * Every member of a new cluster bootstraps with the same peers, in the same order.
   */
  bootstrap(peers: readonly NodeId[], contexts?: readonly Uint8Array[]): void {
    assert(peers.length > 0, "must provide at least one peer to bootstrap");
    const storage = this.raft.raftLog.storage;
    if (storage.lastIndex() !== 0) throw new BootstrapError("cannot bootstrap a nonempty storage");
    // Nothing is persisted yet: the first Ready must carry the HardState.
    this.#prevHardState = EMPTY_HARD_STATE;
    this.raft.becomeFollower(1, NONE);
    const ents: Entry[] = peers.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      // Every member writes these same bytes: the contexts must be identical across the cluster.
      data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: contexts?.[i] ?? new Uint8Array(0) }),
    }));
    this.raft.raftLog.append(ents);
    this.raft.raftLog.committed = ents.length;
    for (const id of peers) this.raft.applyConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: new Uint8Array(0) });
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (a pre-vote first when preVote is on). */
  campaign(): void {
    this.raft.step(message(MessageType.Hup, this.raft.id, NO_ENTRIES));
  }

  /** Proposes a normal entry. Throws ProposalDroppedError when it cannot be taken. */
  propose(data: Uint8Array): void {
    const e: Entry = { term: 0, index: 0, type: EntryType.Normal, data };
    const err = this.raft.step(message(MessageType.Prop, this.raft.id, [e]));
    if (err !== null) throw err;
  }

  /**
   * Proposes several normal entries as one MsgProp: the leader appends them together and sends one
   * append per follower for all of them (one message and one response each, not one per entry).
   * All or none: throws ProposalDroppedError when they cannot be taken.
   */
  proposeBatch(data: readonly Uint8Array[]): void {
    if (data.length === 0) return;
    const es: Entry[] = data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d }));
    const err = this.raft.step(message(MessageType.Prop, this.raft.id, es));
    if (err !== null) throw err;
  }

  /** Proposes a membership change. Refused changes (one pending already) become no-op entries. */
  proposeConfChange(cc: ConfChange): void {
    const e: Entry = { term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) };
    const err = this.raft.step(message(MessageType.Prop, this.raft.id, [e]));
    if (err !== null) throw err;
  }

  /**
   * Feeds a message from a peer. Local-only types and responses from non-members are ignored.
   * Returns a ProposalDroppedError when a forwarded proposal was refused (nobody to tell but logs).
   */
  step(m: Message): ProposalDroppedError | null {
    if (LOCAL_TYPES.has(m.type)) return null;
    if (RESPONSE_TYPES.has(m.type) && !this.raft.trk.progress.has(m.from)) return null;
    return this.raft.step(m);
  }

  /**
   * Asks for a linearizable read point. A ReadState {index, requestCtx: ctx} appears in a later
   * Ready; the read is safe once the driver has applied up to index. ctx must be unique and
   * non-empty (it keys the request). Silently dropped without a leader: the caller retries.
   */
  readIndex(ctx: Uint8Array): void {
    assert(ctx.byteLength > 0, "readIndex context must not be empty");
    this.raft.step(message(MessageType.ReadIndex, NONE, NO_ENTRIES, ctx));
  }

  transferLeader(to: NodeId): void {
    this.raft.step({ ...message(MessageType.TransferLeader, to, NO_ENTRIES) });
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(message(MessageType.Unreachable, id, NO_ENTRIES));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step({ ...message(MessageType.SnapStatus, id, NO_ENTRIES), reject: !ok });
  }

  /** Applies a committed conf change; the driver persists the returned ConfState. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.#prevSoftState)) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.#prevHardState)) return true;
    if (r.raftLog.hasNextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts(true)) return true;
    return r.readStates.length > 0;
  }

  /**
   * What to do next: persist entries/hardState/snapshot (one transaction), send messages, apply
   * committedEntries, then advance(). Exactly one Ready may be outstanding.
   */
  ready(): Ready {
    assert(this.#accepted === undefined, "ready() called again before advance()");
    const r = this.raft;
    const log = r.raftLog;
    const entries = log.nextUnstableEnts();
    // Synchronous storage: committed entries may still be in this very Ready's entries, because
    // the driver persists before it applies. The leader's own entries are only counted towards
    // commit after advance() (self-ack), so "committed" always means durable on a quorum.
    const committedEntries = log.nextCommittedEnts(true);
    let messages = r.msgs;
    // r.msgs may go out before this Ready is durable (a leader's appends, heartbeats, forwarded
    // proposals): the leader writes its own log in parallel with its followers. Responses and
    // votes (msgsAfterAppend) must wait for the fsync.
    const sendBeforePersist = r.msgs.length;
    const steps: Message[] = [];
    for (const m of r.msgsAfterAppend) {
      if (m.to === r.id) steps.push(m);
      else {
        if (messages === r.msgs) messages = r.msgs.slice();
        messages.push(m);
      }
    }
    const ss = r.softState();
    const softState = softStateEqual(ss, this.#prevSoftState) ? undefined : ss;
    const hs = r.hardState();
    const hardState = hardStateEqual(hs, this.#prevHardState) ? undefined : hs;
    const snapshot = log.nextUnstableSnapshot();
    const readStates = r.readStates;
    const mustSync = entries.length > 0 || snapshot !== undefined ||
      hs.term !== this.#prevHardState.term || hs.vote !== this.#prevHardState.vote;
    const rd: Ready = {
      softState, hardState, entries, snapshot, committedEntries, messages, sendBeforePersist, readStates, mustSync,
    };

    // Accept it: nothing above is handed out twice.
    if (softState !== undefined) this.#prevSoftState = softState;
    if (hardState !== undefined) this.#prevHardState = hardState;
    if (readStates.length > 0) r.readStates = [];
    r.msgs = [];
    r.msgsAfterAppend = [];
    log.acceptUnstable();
    const last = entries.length > 0 ? entries[entries.length - 1] : undefined;
    const lastCommitted = committedEntries.length > 0 ? committedEntries[committedEntries.length - 1].index : 0;
    if (lastCommitted > 0) log.acceptApplying(lastCommitted);
    this.#accepted = {
      ready: rd,
      lastEntryIndex: last?.index ?? 0,
      lastEntryTerm: last?.term ?? 0,
      snapshotIndex: snapshot?.metadata.index ?? 0,
      lastCommittedIndex: lastCommitted,
      committedBytes: committedEntries.length > 0 ? entriesBytes(committedEntries) : 0,
      steps,
    };
    return rd;
  }

  /**
   * The Ready is persisted, its messages sent and its committed entries applied. Marks entries
   * stable, moves applied, then steps the self-addressed acks and votes (which may commit more
   * and make a new Ready).
   */
  advance(rd: Ready): void {
    const a = this.#accepted;
    assert(a !== undefined, "advance() without an outstanding ready()");
    assert(rd === a.ready, "advance() must be given the Ready returned by the last ready()");
    this.#accepted = undefined;
    const r = this.raft;
    if (a.lastEntryIndex > 0) r.raftLog.stableTo(a.lastEntryIndex, a.lastEntryTerm);
    if (a.snapshotIndex > 0) {
      r.raftLog.stableSnapTo(a.snapshotIndex);
      r.appliedTo(a.snapshotIndex);
    }
    if (a.lastCommittedIndex > 0) {
      r.appliedTo(a.lastCommittedIndex);
      r.reduceUncommittedSize(a.committedBytes);
    }
    for (const m of a.steps) r.step(m);
  }

  /** Term, vote and commit index as the core holds them now (persisted or not). */
  hardState(): HardState {
    return this.raft.hardState();
  }

  /** The current term (cheap: read on every client reply). */
  get term(): Term {
    return this.raft.term;
  }

  /** The highest index known committed (cheap: read on every client reply). */
  get commitIndex(): Index {
    return this.raft.raftLog.committed;
  }

  /** Term, role, cursors and the pending membership change, without the per-member progress. */
  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id, term: r.term, vote: r.vote, commit: r.raftLog.committed, applied: r.raftLog.applied, lead: r.lead,
      raftState: r.state, leadTransferee: r.leadTransferee, lastIndex: r.raftLog.lastIndex(),
      pendingConfIndex: r.pendingConfIndex,
    };
  }

  /** The term of the entry at `index`, or a negative number when it is compacted or not in the log. */
  termAt(index: Index): Term {
    return this.raft.raftLog.term(index);
  }

  /** The entries the core holds that the driver has not yet made durable (handed out in a Ready or not). */
  unstableEntries(): readonly Entry[] {
    return this.raft.raftLog.unstable.entries;
  }

  /**
   * Whether an entry in [lo, lastIndex] (lo raised to the first index in the log) adds `id` as a
   * voter or learner. Only the newest `window` entries are read: a caller may not make the core
   * read its whole log. False when that part of the log is compacted meanwhile.
   */
  addsMember(id: NodeId, lo: Index, window: number): boolean {
    const log = this.raft.raftLog;
    const last = log.lastIndex();
    const from = Math.max(lo, last - (window - 1), log.firstIndex());
    if (from > last) return false;
    try {
      for (const e of log.slice(from, last + 1, Infinity)) {
        if (e.type !== EntryType.ConfChange) continue;
        const cc = decodeConfChange(e.data);
        if (cc.nodeId === id && (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode)) return true;
      }
    } catch {
      return false;
    }
    return false;
  }

  status(): Status {
    const r = this.raft;
    let progress: Record<NodeId, ProgressStatus> | undefined;
    if (r.state === "StateLeader") {
      progress = {};
      for (const [id, pr] of r.trk.progress) {
        progress[id] = {
          match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, isLearner: pr.isLearner,
          inflightCount: pr.inflights.count, inflightBytes: pr.inflights.bytes,
        };
      }
    }
    return {
      id: r.id, term: r.term, vote: r.vote, commit: r.raftLog.committed, applied: r.raftLog.applied, lead: r.lead,
      raftState: r.state, leadTransferee: r.leadTransferee, progress,
    };
  }
}
