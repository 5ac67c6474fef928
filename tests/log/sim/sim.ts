// The deterministic cluster simulator: 3 or 5 RawNodes on simulated disks and a simulated network,
// driven through virtual time by one seeded prng. The driver follows the Ready contract (write the
// batch, send what may go before the fsync, fsync, send the rest, apply, advance) while a nemesis
// drops, delays, reorders and duplicates messages, partitions the network (both ways or one way),
// pauses members, crashes them (process kill, or power cut losing and tearing unsynced writes),
// restarts them, transfers leadership, forces elections and adds or removes members. Clients put,
// cas, delete and read (ReadIndex) keys and their history is recorded for the linearizability
// checker. Invariants (invariants.ts) are checked after every event; then every fault is healed and
// the cluster must elect a leader, commit a new proposal and catch every voter up in bounded time.
// Must not read a clock or Math.random: everything comes from createPrng(seed).

import type { NodeId } from "../../../internal/brand.ts";
import { createPrng, type Prng } from "../../../internal/prng.ts";
import { decodeConfChange } from "../../../log/conf_change.ts";
import { ProposalDroppedError, type RaftConfig } from "../../../log/raft.ts";
import { RawNode } from "../../../log/raw_node.ts";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type Ready,
  StateType,
} from "../../../log/types.ts";
import type { KvInput, KvOutput, Operation } from "../../helpers/linearizability.ts";
import { type CrashKind, type DiskRecord, SimDisk } from "./disk.ts";
import { Agenda } from "./events.ts";
import { Invariants, type Observed, Violation } from "./invariants.ts";
import { applyCommand, decodeState, emptyState, encodeCommand, encodeState, type KvOp, type KvState, stateText } from "./kv.ts";

export interface SimOptions {
  readonly seed: number;
  readonly members: number;
  /** Virtual milliseconds of faults before everything is healed. */
  readonly chaosMs: number;
  /**
   * After healing: election timeouts (electionTick ticks each) allowed to elect a leader and commit
   * a proposal, and again to catch every voter up. Randomized elections make liveness a matter of
   * probability, so the budget is counted in election rounds, not in fixed time.
   */
  readonly livenessTimeouts: number;
  readonly clients: number;
  /** Record every message and step in the trace (big; for debugging one seed). */
  readonly traceMessages?: boolean;
  /**
   * Breaks the driver on purpose, to show the checks catch it (sim.test.ts): "early-acks" sends
   * every message before the write is durable, "lying-fsync" makes fsync a no-op, "local-reads"
   * answers reads from local state without ReadIndex.
   */
  readonly sabotage?: "early-acks" | "lying-fsync" | "local-reads";
  /**
   * Send MsgSnap with the stored snapshot and never snapshot because of a conf change (see
   * SimKnobs.snapshots): a member added after the newest snapshot is not in its ConfState, refuses
   * it, and never catches up unless the leader snapshots again. To show why the knob exists.
   */
  readonly storedSnapshots?: boolean;
  /** A member that applied its own removal stops at once (no grace period, see SimKnobs.removedLingerTimeouts). */
  readonly immediateStop?: boolean;
  /**
   * Do not make the commit index durable after applying a conf change. A restart then replays
   * only up to an older commit index and may take up a configuration that still needs a member
   * that is gone (e.g. the survivor of a 2-voter cluster that removed the other, seed 525 with
   * SIM_STORED_SNAPSHOTS=1), and the cluster can never elect again.
   */
  readonly noConfCommitSync?: boolean;
  /**
   * Elect as node/ does: pre-vote and check-quorum on, and election timeouts randomized over this
   * fraction of electionTick (node/'s limits.electionJitterFraction) instead of etcd-io/raft's
   * whole [e, 2e). A narrower range makes split votes likelier, and without pre-vote (which node/
   * never runs) two members can then disrupt each other's elections for a long time.
   */
  readonly electionJitterFraction?: number;
}

/** The knobs a seed draws: Raft configuration, disk and network behaviour, nemesis mix. */
export interface SimKnobs {
  readonly tickMs: number;
  readonly raft: Pick<RaftConfig, "electionTick" | "electionJitterTick" | "heartbeatTick" | "checkQuorum" | "preVote" | "maxSizePerMsg" |
    "maxInflightMsgs" | "maxInflightBytes" | "maxCommittedSizePerReady" | "maxUncommittedEntriesSize">;
  /** Snapshot every this many applied entries, keeping this many entries before the snapshot point. */
  readonly snapshotEvery: number;
  readonly snapshotKeep: number;
  /**
   * How a member added after compaction gets a snapshot that lists it: "fresh" = every MsgSnap
   * carries a snapshot made at send time at the sender's applied index with its current
   * membership (etcd's createMergedSnapshotMessage); "after-conf-change" = the stored snapshot is
   * sent, and every member snapshots right after applying a conf change once its log is compacted
   * (node/node.ts). ("stored": neither; only with SimOptions.storedSnapshots.)
   */
  readonly snapshots: "fresh" | "after-conf-change" | "stored";
  /** Share of Readys whose early messages (sendBeforePersist) go out before the fsync. */
  readonly earlySend: number;
  /**
   * Whether a hard state whose only change is the commit index is written (etcd does); if not,
   * it is written only with a new term or vote, a snapshot, or the driver's own snapshot (as
   * node/ does), so a restart may start from a commit index far behind.
   */
  readonly writeCommitOnly: boolean;
  /** Election timeouts a member that applied its own removal keeps running before it stops. */
  readonly removedLingerTimeouts: number;
  readonly diskMs: readonly [number, number];
  readonly tearRate: number;
  /** Mean virtual ms between nemesis actions. */
  readonly nemesisMs: number;
  readonly keys: number;
  readonly writeTimeoutMs: number;
  readonly readTimeoutMs: number;
}

interface NetMood {
  drop: number;
  dup: number;
  delay: readonly [number, number];
  /** Share of messages held back much longer (reordering). */
  slow: number;
  slowMs: number;
}

const CALM: NetMood = { drop: 0, dup: 0, delay: [1, 4], slow: 0, slowMs: 0 };

interface PendingWrite {
  readonly op: Operation<KvInput, KvOutput>;
  readonly client: Client;
}

interface PendingRead {
  readonly op: Operation<KvInput, KvOutput>;
  readonly client: Client;
  readonly key: string;
  index: number;
}

interface Member extends Observed {
  readonly id: NodeId;
  raw: RawNode;
  state: "up" | "down" | "removed";
  incarnation: number;
  disk: SimDisk;
  sm: KvState;
  applied: number;
  confState: ConfState;
  busy: boolean;
  pausedUntil: number;
  lastCommit: number;
  leaderChecked: number;
  writes: Map<string, PendingWrite>;
  reads: Map<string, PendingRead>;
  tickSkew: number;
  /** Armed by the nemesis: crash while the next synced write is in flight (before its fsync returns). */
  crashOnWrite: CrashKind | undefined;
  /** A snapshot is due at the next chance (after a conf change, in "after-conf-change" mode). */
  snapshotDue: boolean;
  /** Applied its own removal; stops after a grace period. */
  leaving: boolean;
}

interface Client {
  readonly n: number;
  /** History client id (a fresh one after an outcome the client never learned, as a new process). */
  id: number;
  /** Session for the state machine's at-most-once table; changes with id. */
  session: number;
  seq: number;
}

export interface SimStats {
  events: number;
  ticks: number;
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  early: number;
  readys: number;
  syncs: number;
  crashes: number;
  powerCuts: number;
  lostBatches: number;
  tornWrites: number;
  restarts: number;
  partitions: number;
  pauses: number;
  transfers: number;
  campaigns: number;
  bursts: number;
  confProposed: number;
  confApplied: number;
  snapshotsCreated: number;
  snapshotsSent: number;
  snapshotsRestored: number;
  leaders: number;
  maxTerm: number;
  commitIndex: number;
  writesOk: number;
  writesUnknown: number;
  writesRefused: number;
  readsOk: number;
  readsFailed: number;
  livenessMs: number;
  catchUpMs: number;
}

export interface SimResult {
  readonly history: Operation<KvInput, KvOutput>[];
  readonly stats: SimStats;
  readonly knobs: SimKnobs;
  readonly trace: string[];
}

/** A run that broke an invariant or did not recover; carries the trace for the failure message. */
export class SimFailure extends Error {
  override name = "SimFailure";
  readonly trace: string[];
  readonly stats: SimStats;
  constructor(message: string, trace: string[], stats: SimStats) {
    super(message);
    this.trace = trace;
    this.stats = stats;
  }
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** A fresh copy of a message, as a real network delivers: nothing is shared with the sender. */
function cloneMessage(m: Message): Message {
  let entries = m.entries;
  if (entries.length > 0) {
    const copy: Entry[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      copy[i] = { term: e.term, index: e.index, type: e.type, data: e.data.slice() };
    }
    entries = copy;
  }
  const s = m.snapshot;
  return {
    type: m.type, to: m.to, from: m.from, term: m.term, logTerm: m.logTerm, index: m.index, entries, commit: m.commit,
    reject: m.reject, rejectHint: m.rejectHint,
    snapshot: s === undefined ? undefined : {
      metadata: {
        index: s.metadata.index,
        term: s.metadata.term,
        confState: { voters: [...s.metadata.confState.voters], learners: [...s.metadata.confState.learners] },
      },
      data: s.data.slice(),
    },
    context: m.context?.slice(),
  };
}

function confName(t: ConfChangeType): string {
  return t === ConfChangeType.AddNode ? "add" : t === ConfChangeType.RemoveNode ? "remove" : t === ConfChangeType.AddLearnerNode ? "add-learner" : "update";
}

function describeMessage(m: Message): string {
  let s = `${m.type} ${m.from}->${m.to} t${m.term}`;
  if (m.type === MessageType.App || m.type === MessageType.AppResp) s += ` i${m.index} lt${m.logTerm} c${m.commit}`;
  if (m.entries.length > 0) s += ` e${m.entries[0].index}..${m.entries[m.entries.length - 1].index}`;
  if (m.reject) s += ` reject hint${m.rejectHint}`;
  if (m.snapshot) s += ` snap${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`;
  return s;
}

export function drawKnobs(prng: Prng): SimKnobs {
  const pick = <T>(xs: readonly T[]): T => xs[prng.int(xs.length)];
  const electionTick = pick([10, 10, 12, 20]);
  return {
    tickMs: 10,
    raft: {
      electionTick,
      heartbeatTick: pick([1, 1, 2, 3]),
      // Mostly the defaults (both on); sometimes one off, to reach the paths they guard.
      checkQuorum: prng.next() < 0.85,
      preVote: prng.next() < 0.85,
      maxSizePerMsg: pick([64, 256, 1024, 1 << 20]),
      maxInflightMsgs: pick([1, 2, 4, 256]),
      maxInflightBytes: pick([0, 0, 512, 4096]),
      maxCommittedSizePerReady: pick([64, 512, 1 << 20]),
      maxUncommittedEntriesSize: pick([0, 0, 2048]),
    },
    snapshotEvery: pick([5, 10, 20, 50]),
    snapshotKeep: pick([0, 1, 3, 10]),
    snapshots: prng.next() < 0.5 ? "fresh" : "after-conf-change",
    earlySend: pick([0, 0.5, 1]),
    writeCommitOnly: prng.next() < 0.5,
    diskMs: pick([[0.1, 1], [0.5, 3], [1, 15]] as const),
    tearRate: pick([0, 0.5, 1]),
    nemesisMs: pick([40, 80, 150]),
    keys: pick([1, 2, 3]),
    writeTimeoutMs: pick([200, 500]),
    readTimeoutMs: pick([200, 500]),
    // Drawn last: a new knob goes at the end, so the seeds' other draws stay as they were.
    removedLingerTimeouts: pick([3, 5]),
  };
}

export class Simulator {
  readonly opts: SimOptions;
  readonly knobs: SimKnobs;
  readonly agenda = new Agenda();
  readonly inv = new Invariants();
  readonly members = new Map<NodeId, Member>();
  readonly history: Operation<KvInput, KvOutput>[] = [];
  readonly trace: string[] = [];
  readonly stats: SimStats = {
    events: 0, ticks: 0, sent: 0, delivered: 0, dropped: 0, duplicated: 0, early: 0, readys: 0, syncs: 0, crashes: 0,
    powerCuts: 0, lostBatches: 0, tornWrites: 0, restarts: 0, partitions: 0, pauses: 0, transfers: 0, campaigns: 0, bursts: 0,
    confProposed: 0, confApplied: 0, snapshotsCreated: 0, snapshotsSent: 0, snapshotsRestored: 0, leaders: 0, maxTerm: 0,
    commitIndex: 0, writesOk: 0, writesUnknown: 0, writesRefused: 0, readsOk: 0, readsFailed: 0, livenessMs: 0, catchUpMs: 0,
  };
  /** Separate streams, so that e.g. a change in client behaviour does not reshuffle the faults. */
  readonly #net: Prng;
  readonly #nem: Prng;
  readonly #cli: Prng;
  readonly #disk: Prng;
  readonly #seeds: Prng;
  #mood: NetMood = CALM;
  /** Directed cuts "a>b": messages from a to b are lost. */
  readonly #cut = new Set<string>();
  #chaos = true;
  #clientsOn = true;
  #stamp = 0;
  #nextMemberId: number;
  #readSeq = 0;
  #markerSeq = 0;
  /** Ids whose removal some member applied: they are out for good (as etcd's transport tells them). */
  readonly #removed = new Set<NodeId>();
  /** Removed id -> index of the entry that removed it: a member that applied it knows. */
  readonly #removedAt = new Map<NodeId, number>();
  /** Latest configuration applied anywhere (the committed one, as conf changes commit in order). */
  #config: { index: number; voters: readonly NodeId[] } = { index: 0, voters: [] };
  #pendingConf: { id: NodeId; deadline: number } | undefined;
  /** Last value written per key, for cas and delete to aim at something real. */
  readonly #written = new Map<string, string[]>();
  #liveMarker: { id: string; appliedAt: number } | undefined;
  #lastLeaderKey = "";

  constructor(opts: SimOptions) {
    this.opts = opts;
    const master = createPrng(opts.seed);
    const sub = () => createPrng(Math.floor(master.next() * 0x100000000));
    const knobs = drawKnobs(sub());
    const withMode = opts.storedSnapshots ? { ...knobs, snapshots: "stored" as const } : knobs;
    const f = opts.electionJitterFraction;
    this.knobs = f === undefined ? withMode : {
      ...withMode,
      raft: {
        ...withMode.raft,
        preVote: true,
        checkQuorum: true,
        electionJitterTick: Math.max(1, Math.round(withMode.raft.electionTick * f)),
      },
    };
    this.#net = sub();
    this.#nem = sub();
    this.#cli = sub();
    this.#disk = sub();
    this.#seeds = sub();
    this.#nextMemberId = opts.members + 1;
    const ids: NodeId[] = [];
    for (let i = 1; i <= opts.members; i++) ids.push(i.toString(16));
    this.#config = { index: ids.length, voters: ids };
    for (const id of ids) {
      const m = this.#newMember(id);
      m.raw.bootstrap(ids);
    }
    // The bootstrap Ready is written and synced before anything else happens (cluster creation).
    this.inv.afterEvent(this.members.values());
    for (const m of this.members.values()) this.#startReady(m, true);
    for (const m of this.members.values()) this.#scheduleTick(m, m.incarnation, this.#net.next() * this.knobs.tickMs);
  }

  // ---- tracing ---------------------------------------------------------------------------------

  #log(s: string): void {
    this.trace.push(`${this.agenda.now.toFixed(2).padStart(9)} ${s}`);
  }

  // ---- members ---------------------------------------------------------------------------------

  #raftConfig(id: NodeId, disk: SimDisk, applied: number): RaftConfig {
    return {
      ...this.knobs.raft,
      id,
      storage: disk.live,
      applied,
      prng: createPrng(Math.floor(this.#seeds.next() * 0x100000000)),
    };
  }

  #newMember(id: NodeId): Member {
    const disk = new SimDisk();
    const m: Member = {
      id, raw: new RawNode(this.#raftConfig(id, disk, 0)), state: "up", incarnation: 1, disk, sm: emptyState(), applied: 0,
      confState: { voters: [], learners: [] }, busy: false, pausedUntil: 0, lastCommit: 0, leaderChecked: 0, leaderLast: 0,
      writes: new Map(), reads: new Map(), tickSkew: 0.9 + 0.2 * this.#seeds.next(), crashOnWrite: undefined,
      snapshotDue: false, leaving: false,
    };
    this.members.set(id, m);
    return m;
  }

  #up(): Member[] {
    const out: Member[] = [];
    for (const m of this.members.values()) if (m.state === "up") out.push(m);
    return out;
  }

  leader(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members.values()) {
      if (m.state !== "up" || m.raw.raft.state !== StateType.Leader) continue;
      if (best === undefined || m.raw.raft.term > best.raw.raft.term) best = m;
    }
    return best;
  }

  /** Defers fn to the end of a pause; true if it did. */
  #deferIfPaused(m: Member, fn: () => void): boolean {
    if (this.agenda.now < m.pausedUntil) {
      this.agenda.at(m.pausedUntil, fn);
      return true;
    }
    return false;
  }

  #scheduleTick(m: Member, inc: number, delay: number): void {
    this.agenda.after(delay, () => {
      if (m.incarnation !== inc || m.state !== "up") return;
      // A paused process does not tick; it resumes with one tick after the pause.
      if (this.agenda.now < m.pausedUntil) {
        this.#scheduleTick(m, inc, m.pausedUntil - this.agenda.now);
        return;
      }
      this.stats.ticks++;
      m.raw.tick();
      this.#kick(m);
      this.#scheduleTick(m, inc, this.knobs.tickMs * m.tickSkew);
    });
  }

  // ---- the driver: the Ready contract -----------------------------------------------------------

  #kick(m: Member): void {
    if (m.state !== "up" || m.busy || !m.raw.hasReady()) return;
    this.#startReady(m);
  }

  /**
   * Takes a Ready, writes it (page cache), sends what may go early, and schedules the fsync
   * (done at once for the bootstrap Ready: the cluster is created before the run starts).
   */
  #startReady(m: Member, bootstrap = false): void {
    const rd = m.raw.ready();
    // Busy from here: sending can report back to this member (a dropped MsgSnap) and kick it.
    m.busy = true;
    this.stats.readys++;
    this.inv.onReady(m.id, m.raw, rd);
    if (rd.softState !== undefined && this.opts.traceMessages) {
      this.#log(`${m.id} soft ${rd.softState.raftState} lead=${rd.softState.lead} t${m.raw.raft.term}`);
    }
    const batch: DiskRecord[] = [];
    if (rd.snapshot !== undefined) batch.push({ kind: "snap", snap: rd.snapshot });
    if (rd.entries.length > 0) batch.push({ kind: "ents", ents: rd.entries });
    if (rd.hardState !== undefined) {
      const stored = m.disk.live.initialState().hardState;
      const voteChanged = rd.hardState.term !== stored.term || rd.hardState.vote !== stored.vote;
      if (this.knobs.writeCommitOnly || voteChanged || rd.snapshot !== undefined) batch.push({ kind: "hs", hs: rd.hardState });
    }
    m.disk.write(batch);
    let early = !bootstrap && this.#net.next() < this.knobs.earlySend ? ((rd as { sendBeforePersist?: number }).sendBeforePersist ?? 0) : 0;
    if (!bootstrap && this.opts.sabotage === "early-acks") early = rd.messages.length;
    for (let i = 0; i < early; i++) this.#send(m, rd.messages[i]);
    this.stats.early += early;
    const inc = m.incarnation;
    if (bootstrap) {
      this.#finishReady(m, inc, rd, true);
      return;
    }
    const [lo, hi] = this.knobs.diskMs;
    const latency = rd.mustSync ? lo + (hi - lo) * this.#disk.next() : 0;
    this.agenda.after(latency, () => this.#finishReady(m, inc, rd, false, early));
    const kind = m.crashOnWrite;
    if (kind !== undefined && rd.mustSync) {
      // Dies before the fsync returns: the batch is written, maybe in part, and not synced.
      m.crashOnWrite = undefined;
      this.agenda.after(latency * 0.99 * this.#disk.next(), () => {
        if (m.incarnation !== inc) return;
        this.#log(`${m.id} dies during the fsync of a write of ${rd.entries.length} entries${rd.hardState ? " + hard state" : ""}${rd.snapshot ? " + snapshot" : ""}`);
        this.#crash(m, kind);
        this.#restartLater(m, 20 + this.#nem.int(300));
      });
    }
  }

  /** The write is durable (if it had to be): send the rest, apply, advance, take the next Ready. */
  #finishReady(m: Member, inc: number, rd: Ready, bootstrap: boolean, early = 0): void {
    if (m.incarnation !== inc || m.state !== "up") return;
    if (!bootstrap && this.#deferIfPaused(m, () => this.#finishReady(m, inc, rd, false, early))) return;
    if (rd.mustSync && (bootstrap || this.opts.sabotage !== "lying-fsync")) {
      m.disk.sync();
      this.stats.syncs++;
    }
    for (let i = early; i < rd.messages.length; i++) this.#send(m, rd.messages[i]);
    let removedSelf = false;
    if (rd.snapshot !== undefined) {
      const s = rd.snapshot;
      if (s.metadata.index <= m.applied) this.inv.fail(`${m.id} restores snapshot ${s.metadata.index} at applied ${m.applied}`);
      m.sm = decodeState(s.data);
      m.applied = s.metadata.index;
      m.confState = s.metadata.confState;
      this.inv.onState(m.id, m.applied, stateText(m.sm));
      this.stats.snapshotsRestored++;
      this.#log(`${m.id} restores snapshot ${s.metadata.index}/${s.metadata.term} voters=${s.metadata.confState.voters.join(",")}`);
    }
    let confApplied = false;
    for (const e of rd.committedEntries) {
      if (this.#apply(m, e)) removedSelf = true;
      if (e.type === EntryType.ConfChange) confApplied = true;
    }
    if (confApplied && !this.opts.noConfCommitSync) {
      // A restart must find this configuration committed: it decides who the quorum is, and the
      // member it removed may be gone for good. Neither etcd (commit-only hard states are not
      // synced) nor node/ (not written at all) makes the commit index durable on its own.
      const hs = m.disk.live.initialState().hardState;
      if (hs.commit < m.applied) {
        m.disk.write([{ kind: "hs", hs: { ...hs, commit: m.applied } }]);
        if (this.opts.sabotage !== "lying-fsync") m.disk.sync();
      }
    }
    for (const rs of rd.readStates) {
      const r = m.reads.get(dec.decode(rs.requestCtx));
      if (r !== undefined) r.index = rs.index;
    }
    this.#serveReads(m);
    m.raw.advance(rd);
    m.busy = false;
    if (removedSelf && this.opts.immediateStop) {
      this.#stop(m, "applied its own removal");
      return;
    }
    if (removedSelf && !m.leaving) {
      // Like etcd's stopWithDelay: a member that applied its own removal keeps running a while. The
      // others may not know the change committed yet (a removed leader steps down and stops
      // heartbeating) and, in a 2-voter configuration, need its vote to elect a successor
      // (etcd-io/etcd#10563).
      m.leaving = true;
      const ms = this.knobs.removedLingerTimeouts * this.knobs.raft.electionTick * this.knobs.tickMs;
      this.#log(`${m.id} applied its own removal: stops in ${ms} ms`);
      this.agenda.after(ms, () => {
        if (m.incarnation === inc) this.#stop(m, "applied its own removal");
      });
    }
    this.#maybeSnapshot(m);
    if (!bootstrap) this.#kick(m);
  }

  /** Applies one committed entry; returns true if it removes this member. */
  #apply(m: Member, e: Entry): boolean {
    this.inv.onApply(m.id, m.applied, e);
    let removedSelf = false;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      m.confState = m.raw.applyConfChange(cc);
      this.#onConfApplied(m, e.index, cc);
      // node/'s rule: once the log is compacted, a member added now can only start from a
      // snapshot, and the stored one must already list it.
      if (this.knobs.snapshots === "after-conf-change" && m.disk.live.firstIndex() > 1) m.snapshotDue = true;
      if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === m.id) removedSelf = true;
    } else {
      const res = applyCommand(m.sm, e.data);
      const cmd = res.cmd;
      if (cmd !== undefined && "c" in cmd && !res.duplicate) {
        const w = m.writes.get(`${cmd.c}/${cmd.s}`);
        if (w !== undefined) {
          m.writes.delete(`${cmd.c}/${cmd.s}`);
          this.#completeWrite(w, { ok: res.ok === true });
          this.inv.acked.push({ index: e.index, term: e.term, what: `client ${w.op.clientId} ${JSON.stringify(w.op.input)}` });
        }
      } else if (cmd !== undefined && "marker" in cmd && this.#liveMarker === undefined && cmd.marker.startsWith(`live/${m.id}/`)) {
        this.#liveMarker = { id: cmd.marker, appliedAt: e.index };
        this.#log(`liveness: ${m.id} applied its marker ${cmd.marker} at ${e.index}`);
      }
    }
    m.applied = e.index;
    this.inv.onState(m.id, e.index, stateText(m.sm));
    return removedSelf;
  }

  #onConfApplied(m: Member, index: number, cc: ConfChange): void {
    if (index <= this.#config.index) return;
    this.stats.confApplied++;
    this.#config = { index, voters: m.confState.voters };
    const cs = m.confState;
    this.#log(`conf ${confName(cc.type)} ${cc.nodeId} applied at ${index} (first by ${m.id}): voters ${cs.voters.join(",")}` +
      (cs.learners.length > 0 ? ` learners ${cs.learners.join(",")}` : ""));
    if (cc.type === ConfChangeType.RemoveNode) {
      this.#removed.add(cc.nodeId);
      this.#removedAt.set(cc.nodeId, index);
    }
    if (this.#pendingConf?.id === cc.nodeId) this.#pendingConf = undefined;
  }

  /** Snapshots the state machine every snapshotEvery entries (or when due) and compacts the log behind it. */
  #maybeSnapshot(m: Member): void {
    const snapIndex = m.disk.live.snapshot().metadata.index;
    if (m.snapshotDue && m.applied > snapIndex) m.snapshotDue = false;
    else if (m.applied - snapIndex < this.knobs.snapshotEvery) return;
    const compactTo = m.applied - this.knobs.snapshotKeep;
    // The commit index on disk must cover the snapshot, or a restart would find applied > committed.
    const hs = m.disk.live.initialState().hardState;
    const batch: DiskRecord[] = [{ kind: "compact", index: m.applied, cs: m.confState, data: encodeState(m.sm), compactTo }];
    if (hs.commit < m.applied) batch.unshift({ kind: "hs", hs: { ...hs, commit: m.applied } });
    m.disk.write(batch);
    if (this.opts.sabotage !== "lying-fsync") m.disk.sync();
    this.stats.snapshotsCreated++;
  }

  // ---- network -------------------------------------------------------------------------------------

  #send(from: Member, m: Message): void {
    this.stats.sent++;
    if (m.type === MessageType.VoteResp && !m.reject) this.inv.onVoteGranted(m.from, m.term, m.to);
    if (m.type === MessageType.Snap && this.knobs.snapshots === "fresh") m = this.#mergedSnapshot(from, m);
    const mood = this.#mood;
    if (this.#net.next() < mood.drop) {
      this.stats.dropped++;
      if (this.opts.traceMessages) this.#log(`drop ${describeMessage(m)}`);
      if (m.type === MessageType.Snap) this.#reportSnapshot(from, from.incarnation, m.to, false);
      return;
    }
    const copies = this.#net.next() < mood.dup ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      let delay = mood.delay[0] + (mood.delay[1] - mood.delay[0]) * this.#net.next();
      if (this.#net.next() < mood.slow) delay += mood.slowMs * this.#net.next();
      if (m.type === MessageType.Snap) delay += 5;
      const wire = cloneMessage(m);
      const inc = from.incarnation;
      this.agenda.after(delay, () => this.#deliver(from, inc, wire));
    }
  }

  /**
   * Like etcd's createMergedSnapshotMessage: the snapshot sent is made now, at the sender's applied
   * index, with its current membership, so that a member added after the newest stored snapshot
   * finds itself in it (etcd-io/etcd#12473, #13741).
   */
  #mergedSnapshot(from: Member, m: Message): Message {
    const stored = m.snapshot!;
    if (from.applied <= stored.metadata.index) return m;
    const term = from.raw.raft.raftLog.term(from.applied);
    if (term <= 0) this.inv.fail(`${from.id} has no term for its applied index ${from.applied}`);
    return {
      ...m,
      snapshot: { metadata: { index: from.applied, term, confState: from.confState }, data: encodeState(from.sm) },
    };
  }

  #deliver(from: Member, fromInc: number, m: Message): void {
    const to = this.members.get(m.to);
    // The link is the sender's: a forwarded proposal or read keeps its original `from`.
    const cut = this.#cut.has(`${from.id}>${m.to}`);
    if (to === undefined || to.state !== "up" || cut) {
      this.stats.dropped++;
      if (m.type === MessageType.Snap) this.#reportSnapshot(from, fromInc, m.to, false);
      else if (from.incarnation === fromInc && from.state === "up" && this.#net.next() < 0.3) from.raw.reportUnreachable(m.to);
      return;
    }
    if (this.#deferIfPaused(to, () => this.#deliver(from, fromInc, m))) return;
    const removedAt = this.#removedAt.get(from.id);
    if (removedAt !== undefined && to.applied >= removedAt) {
      // etcd's peer transport refuses a member the receiver knows was removed, which then stops.
      if (from.state === "up" && from.incarnation === fromInc) this.#stop(from, `told by ${to.id} that it was removed`);
      return;
    }
    this.stats.delivered++;
    if (this.opts.traceMessages) this.#log(`step ${describeMessage(m)}${from.id !== m.from ? ` (sent by ${from.id})` : ""}`);
    to.raw.step(m);
    if (m.type === MessageType.Snap) {
      this.stats.snapshotsSent++;
      this.#reportSnapshot(from, fromInc, m.to, true);
    }
    this.#kick(to);
  }

  #reportSnapshot(from: Member, inc: number, to: NodeId, ok: boolean): void {
    if (from.incarnation !== inc || from.state !== "up") return;
    from.raw.reportSnapshot(to, ok);
    this.#kick(from);
  }

  // ---- faults ----------------------------------------------------------------------------------

  #crash(m: Member, kind: CrashKind): void {
    if (m.state !== "up") return;
    m.state = "down";
    m.incarnation++;
    m.busy = false;
    const out = m.disk.crash(kind, this.#disk, this.knobs.tearRate);
    this.stats.crashes++;
    if (kind === "power") this.stats.powerCuts++;
    this.stats.lostBatches += out.pending - out.kept - (out.torn ? 1 : 0);
    if (out.torn) this.stats.tornWrites++;
    this.#log(`crash ${m.id} (${kind}${m.raw.raft.state === StateType.Leader ? ", leader" : ""}): ` +
      `${out.pending} unsynced batches, ${out.kept} kept${out.torn ? ", 1 torn" : ""}`);
    this.#failClientOps(m);
  }

  #restartLater(m: Member, ms: number): void {
    const inc = m.incarnation;
    this.agenda.after(ms, () => {
      if (m.incarnation === inc) this.#restart(m);
    });
  }

  #restart(m: Member): void {
    if (m.state !== "down" || this.#removed.has(m.id)) return;
    this.inv.onRestart(m.id, m.disk.durable());
    const snap = m.disk.live.snapshot();
    m.raw = new RawNode(this.#raftConfig(m.id, m.disk, snap.metadata.index));
    m.sm = decodeState(snap.data);
    m.applied = snap.metadata.index;
    m.confState = snap.metadata.confState;
    m.lastCommit = m.raw.raft.raftLog.committed;
    m.leaderChecked = 0;
    m.leaderLast = 0;
    m.snapshotDue = false;
    m.state = "up";
    m.pausedUntil = 0;
    this.stats.restarts++;
    const hs = m.disk.live.initialState().hardState;
    this.#log(`restart ${m.id}: snapshot ${snap.metadata.index}, log ${m.disk.live.firstIndex()}..${m.disk.live.lastIndex()}, ` +
      `term ${hs.term} vote ${hs.vote || "-"} commit ${hs.commit}`);
    this.#scheduleTick(m, m.incarnation, this.knobs.tickMs * this.#net.next());
    this.#kick(m);
  }

  #stop(m: Member, why: string): void {
    if (m.state !== "up") return;
    m.state = "removed";
    m.incarnation++;
    m.busy = false;
    this.#log(`stop ${m.id}: ${why}`);
    this.#failClientOps(m);
  }

  #partitionGen = 0;

  /** Undoes the current cuts after ms, unless the nemesis changed them meanwhile. */
  #healLater(ms: number): void {
    const gen = ++this.#partitionGen;
    this.agenda.after(ms, () => {
      if (gen !== this.#partitionGen || !this.#chaos) return;
      this.#cut.clear();
      this.#log("network healed");
    });
  }

  #heal(): void {
    this.#cut.clear();
    this.#mood = CALM;
    for (const m of this.members.values()) if (m.pausedUntil > this.agenda.now) m.pausedUntil = this.agenda.now;
  }

  #randomMood(): NetMood {
    const p = this.#nem;
    return {
      drop: [0, 0.02, 0.1, 0.3][p.int(4)],
      dup: [0, 0.02, 0.1][p.int(3)],
      delay: ([[1, 3], [1, 10], [5, 30]] as const)[p.int(3)],
      slow: [0, 0.05, 0.2][p.int(3)],
      slowMs: [20, 100, 300][p.int(3)],
    };
  }

  /** One nemesis action, then the next one is scheduled. */
  #nemesis(): void {
    if (!this.#chaos) return;
    const p = this.#nem;
    const all = [...this.members.values()].filter((m) => m.state !== "removed");
    const up = all.filter((m) => m.state === "up");
    const down = all.filter((m) => m.state === "down");
    const leader = this.leader();
    const pickUp = (): Member | undefined => (up.length > 0 ? up[p.int(up.length)] : undefined);
    const r = p.int(100);
    if (r < 10) {
      // Symmetric partition: a minority (sometimes the leader with it) against the rest.
      const ids = all.map((m) => m.id);
      const k = 1 + p.int(Math.max(1, Math.floor(ids.length / 2)));
      const side = new Set<NodeId>();
      if (leader !== undefined && p.next() < 0.5) side.add(leader.id);
      while (side.size < k) side.add(ids[p.int(ids.length)]);
      this.#cut.clear();
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.#cut.add(`${a}>${b}`);
      this.stats.partitions++;
      this.#log(`partition {${[...side].join(",")}} | rest`);
      this.#healLater(50 + p.int(600));
    } else if (r < 16) {
      // Asymmetric: some links lose messages one way only.
      const ids = all.map((m) => m.id);
      const n = 1 + p.int(ids.length);
      const cuts: string[] = [];
      for (let i = 0; i < n; i++) {
        const a = ids[p.int(ids.length)], b = ids[p.int(ids.length)];
        if (a !== b) {
          this.#cut.add(`${a}>${b}`);
          cuts.push(`${a}>${b}`);
        }
      }
      this.stats.partitions++;
      this.#log(`one-way cuts ${cuts.join(" ")}`);
      this.#healLater(50 + p.int(600));
    } else if (r < 20) {
      this.#partitionGen++;
      this.#cut.clear();
      this.#log("network healed");
    } else if (r < 28) {
      this.#mood = this.#randomMood();
      this.#log(`network mood ${JSON.stringify(this.#mood)}`);
    } else if (r < 33) {
      const m = leader !== undefined && p.next() < 0.4 ? leader : pickUp();
      if (m !== undefined) {
        this.#crash(m, p.next() < 0.5 ? "kill" : "power");
        if (p.next() < 0.8) this.#restartLater(m, 20 + p.int(400));
      }
    } else if (r < 44) {
      const m = leader !== undefined && p.next() < 0.4 ? leader : pickUp();
      if (m !== undefined && m.crashOnWrite === undefined) {
        m.crashOnWrite = p.next() < 0.25 ? "kill" : "power";
        this.#log(`arm ${m.id} to die during its next fsync (${m.crashOnWrite})`);
      }
    } else if (r < 48) {
      if (down.length > 0) this.#restart(down[p.int(down.length)]);
    } else if (r < 53) {
      const m = leader !== undefined && p.next() < 0.5 ? leader : pickUp();
      if (m !== undefined) {
        const ms = 10 + p.int(300);
        m.pausedUntil = Math.max(m.pausedUntil, this.agenda.now + ms);
        this.stats.pauses++;
        this.#log(`pause ${m.id} for ${ms} ms`);
      }
    } else if (r < 59) {
      if (leader !== undefined) {
        const voters = leader.confState.voters.filter((v) => v !== leader.id);
        if (voters.length > 0) {
          const to = voters[p.int(voters.length)];
          this.stats.transfers++;
          this.#log(`transfer leadership ${leader.id} -> ${to}`);
          leader.raw.transferLeader(to);
          this.#kick(leader);
        }
      }
    } else if (r < 63) {
      const m = pickUp();
      if (m !== undefined && m.raw.raft.state !== StateType.Leader) {
        this.stats.campaigns++;
        this.#log(`campaign ${m.id}`);
        m.raw.campaign();
        this.#kick(m);
      }
    } else if (r < 70) {
      this.#confChange(leader);
    } else if (r < 76) {
      // A burst of proposals of mixed sizes: fills in-flight windows and the byte limits.
      const m = leader !== undefined && p.next() < 0.6 ? leader : pickUp();
      if (m !== undefined) {
        const n = 5 + p.int(30);
        let taken = 0;
        for (let i = 0; i < n; i++) {
          const pad = "x".repeat(p.int(3) === 0 ? p.int(400) : p.int(20));
          try {
            m.raw.propose(encodeCommand({ marker: `burst/${++this.#markerSeq}/${pad}` }));
            taken++;
          } catch (err) {
            if (!(err instanceof ProposalDroppedError)) throw err;
          }
        }
        this.stats.bursts++;
        this.#log(`burst of ${n} proposals at ${m.id}: ${taken} taken`);
        this.#kick(m);
      }
    }
    // else: quiet
    this.agenda.after(this.knobs.nemesisMs * 2 * p.next(), () => this.#nemesis());
  }

  #confChange(leader: Member | undefined): void {
    const p = this.#nem;
    if (leader === undefined) return;
    if (this.#pendingConf !== undefined && this.agenda.now < this.#pendingConf.deadline) return;
    // Voters mostly stay within one of the initial size: remove above it, add below it, either at
    // it; now and then shrink further (down to one voter), e.g. removing a leader from two voters.
    // A learner is promoted (etcd's learner flow) or removed before anything else changes.
    const { voters, learners } = leader.confState;
    const n = this.opts.members;
    let cc: ConfChange;
    const change = (type: ConfChangeType, nodeId: NodeId): ConfChange => ({ type, nodeId, context: new Uint8Array(0) });
    if (learners.length > 0) {
      const id = learners[p.int(learners.length)];
      cc = voters.length <= n && p.next() < 0.7 ? change(ConfChangeType.AddNode, id) : change(ConfChangeType.RemoveNode, id);
    } else if (voters.length > n || (voters.length === n && p.next() < 0.5) || (voters.length >= 2 && p.next() < 0.15)) {
      cc = change(ConfChangeType.RemoveNode, voters[p.int(voters.length)]);
    } else {
      const id = (this.#nextMemberId++).toString(16);
      // The new member starts empty (not bootstrapped) and learns everything from the leader.
      this.#scheduleTick(this.#newMember(id), 1, this.knobs.tickMs * p.next());
      cc = change(p.next() < 0.3 ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id);
    }
    const what = `${confName(cc.type)} ${cc.nodeId}`;
    // Mostly at the leader; sometimes at another member, which forwards it.
    const up = this.#up();
    const at = p.next() < 0.7 ? leader : up[p.int(up.length)];
    try {
      at.raw.proposeConfChange(cc);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.#log(`conf ${what} refused: ${err.message}`);
      return;
    }
    this.stats.confProposed++;
    this.#pendingConf = { id: cc.nodeId, deadline: this.agenda.now + 1000 };
    this.#log(`propose conf ${what} at ${at.id}`);
    if (p.next() < 0.2) {
      // A second change right behind the first: the pending-change guard must turn it into a no-op.
      const second = change(ConfChangeType.RemoveNode, voters[p.int(voters.length)]);
      try {
        at.raw.proposeConfChange(second);
        this.#log(`propose conf remove ${second.nodeId} at ${at.id} right behind it`);
      } catch (err) {
        if (!(err instanceof ProposalDroppedError)) throw err;
      }
    }
    this.#kick(at);
  }

  // ---- clients -------------------------------------------------------------------------------------

  #clientSession = 0;

  #newClient(n: number): Client {
    const s = ++this.#clientSession;
    return { n, id: s, session: s, seq: 0 };
  }

  #clientNext(c: Client, delay: number): void {
    this.agenda.after(delay, () => this.#clientIssue(c));
  }

  #clientIssue(c: Client): void {
    if (!this.#clientsOn) return;
    const p = this.#cli;
    const ids = [...this.members.keys()];
    const m = this.members.get(ids[p.int(ids.length)])!;
    const key = `k${p.int(this.knobs.keys)}`;
    const r = p.next();
    let input: KvInput;
    const seen = this.#written.get(key) ?? [];
    if (r < 0.4) input = { op: "get", key };
    else if (r < 0.75 || seen.length === 0) input = { op: "put", key, value: `${c.session}.${c.seq + 1}` };
    else if (r < 0.92) input = { op: "cas", key, prev: seen[Math.max(0, seen.length - 1 - p.int(3))], value: `${c.session}.${c.seq + 1}` };
    else input = { op: "delete", key };
    const op: Operation<KvInput, KvOutput> = { clientId: c.id, input, call: this.#stamp++, output: { unknown: true }, return: Infinity };
    // The request reaches the member after a short hop; a dead member refuses the connection.
    this.agenda.after(0.5 + p.next(), () => this.#clientArrive(c, m, op));
  }

  #clientArrive(c: Client, m: Member, op: Operation<KvInput, KvOutput>): void {
    if (m.state !== "up") {
      // Refused before anything happened: no effect, not in the history.
      this.#clientNext(c, 5 + this.#cli.int(20));
      return;
    }
    if (this.#deferIfPaused(m, () => this.#clientArrive(c, m, op))) return;
    const input = op.input;
    if (input.op === "get" && this.opts.sabotage === "local-reads") {
      op.output = { ok: true, value: m.sm.kv.get(input.key) ?? null };
      op.return = this.#stamp++;
      this.history.push(op);
      this.#clientNext(c, this.#cli.int(15));
      return;
    }
    if (input.op === "get") {
      const ctx = `r${++this.#readSeq}`;
      const r: PendingRead = { op, client: c, key: input.key, index: -1 };
      m.reads.set(ctx, r);
      m.raw.readIndex(enc.encode(ctx));
      this.#kick(m);
      const inc = m.incarnation;
      // Halfway to the timeout, a read with no read point yet asks again with the same context
      // (the core re-queues it at the current commit index).
      this.agenda.after(this.knobs.readTimeoutMs / 2, () => {
        if (m.incarnation !== inc || m.reads.get(ctx) !== r || r.index >= 0 || m.state !== "up") return;
        if (this.agenda.now < m.pausedUntil) return;
        m.raw.readIndex(enc.encode(ctx));
        this.#kick(m);
      });
      this.agenda.after(this.knobs.readTimeoutMs, () => {
        if (m.incarnation !== inc || m.reads.get(ctx) !== r) return;
        m.reads.delete(ctx);
        this.#failRead(r);
      });
      return;
    }
    const s = ++c.seq;
    const w: KvOp = input.op === "put"
      ? { op: "put", key: input.key, value: input.value }
      : input.op === "cas"
      ? { op: "cas", key: input.key, prev: input.prev, value: input.value }
      : { op: "delete", key: input.key };
    try {
      m.raw.propose(encodeCommand({ c: c.session, s, w }));
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      // Refused at once: it is in no log, so it never takes effect.
      this.stats.writesRefused++;
      this.#clientNext(c, 5 + this.#cli.int(20));
      return;
    }
    if (input.op !== "delete") {
      const list = this.#written.get(input.key) ?? [];
      list.push(input.value);
      if (list.length > 8) list.shift();
      this.#written.set(input.key, list);
    }
    const k = `${c.session}/${s}`;
    const pw: PendingWrite = { op, client: c };
    m.writes.set(k, pw);
    this.#kick(m);
    const inc = m.incarnation;
    this.agenda.after(this.knobs.writeTimeoutMs, () => {
      if (m.incarnation !== inc || m.writes.get(k) !== pw) return;
      m.writes.delete(k);
      this.#unknownWrite(pw);
    });
  }

  #completeWrite(w: PendingWrite, out: KvOutput): void {
    w.op.output = out;
    w.op.return = this.#stamp++;
    this.history.push(w.op);
    this.stats.writesOk++;
    this.#clientNext(w.client, this.#cli.int(15));
  }

  #unknownWrite(w: PendingWrite): void {
    // The client never learns the outcome: it may take effect at any later time, or never.
    w.op.output = { unknown: true };
    w.op.return = Infinity;
    this.history.push(w.op);
    this.stats.writesUnknown++;
    const c = w.client;
    const s = ++this.#clientSession;
    c.id = s;
    c.session = s;
    c.seq = 0;
    this.#clientNext(c, 5 + this.#cli.int(20));
  }

  #failRead(r: PendingRead): void {
    // A read that never returned had no effect: left out of the history.
    this.stats.readsFailed++;
    this.#clientNext(r.client, 5 + this.#cli.int(20));
  }

  #serveReads(m: Member): void {
    if (m.reads.size === 0) return;
    for (const [ctx, r] of m.reads) {
      if (r.index < 0 || r.index > m.applied) continue;
      m.reads.delete(ctx);
      r.op.output = { ok: true, value: m.sm.kv.get(r.key) ?? null };
      r.op.return = this.#stamp++;
      this.history.push(r.op);
      this.stats.readsOk++;
      this.#clientNext(r.client, this.#cli.int(15));
    }
  }

  #failClientOps(m: Member): void {
    const writes = [...m.writes.values()];
    const reads = [...m.reads.values()];
    m.writes.clear();
    m.reads.clear();
    for (const w of writes) this.#unknownWrite(w);
    for (const r of reads) this.#failRead(r);
  }

  // ---- the run -------------------------------------------------------------------------------------

  #step(): boolean {
    const e = this.agenda.pop();
    if (e === undefined) return false;
    this.stats.events++;
    e.run();
    this.inv.afterEvent(this.#up());
    const l = this.leader();
    const key = l === undefined ? "" : `${l.id}@${l.raw.raft.term}`;
    if (key !== this.#lastLeaderKey && l !== undefined) {
      this.stats.leaders++;
      this.#log(`leader ${l.id} term ${l.raw.raft.term}`);
    }
    this.#lastLeaderKey = key;
    return true;
  }

  #runUntil(time: number, done?: () => boolean): boolean {
    while (this.agenda.peekTime() <= time) {
      if (done !== undefined && done()) return true;
      this.#step();
    }
    return done !== undefined && done();
  }

  #fail(msg: string): never {
    this.#finishStats();
    throw new SimFailure(msg, this.trace, this.stats);
  }

  run(): SimResult {
    try {
      this.#run();
    } catch (err) {
      if (err instanceof SimFailure) throw err;
      const what = err instanceof Violation ? err.message : `${(err as Error).name}: ${(err as Error).message}\n${(err as Error).stack ?? ""}`;
      this.#log(`FAILED: ${what.split("\n")[0]}`);
      this.#finishStats();
      throw new SimFailure(what, this.trace, this.stats);
    }
    this.#finishStats();
    return { history: this.history, stats: this.stats, knobs: this.knobs, trace: this.trace };
  }

  #finishStats(): void {
    let maxTerm = 0;
    for (const m of this.members.values()) maxTerm = Math.max(maxTerm, m.raw.raft.term);
    this.stats.maxTerm = maxTerm;
    this.stats.commitIndex = this.inv.maxCommit;
  }

  #run(): void {
    const tick = this.knobs.tickMs;
    for (let i = 0; i < this.opts.clients; i++) this.#clientNext(this.#newClient(i), this.#cli.int(20));
    this.agenda.after(this.knobs.nemesisMs * this.#nem.next(), () => this.#nemesis());
    this.#runUntil(this.opts.chaosMs);

    // Liveness: heal everything, restart every member that is down, and require progress.
    this.#chaos = false;
    this.#heal();
    this.#log("heal: network calm, no cuts, no pauses; restarting every member that is down");
    for (const m of this.members.values()) {
      if (m.state === "down") this.#restart(m);
    }
    const healedAt = this.agenda.now;
    const budget = this.opts.livenessTimeouts * this.knobs.raft.electionTick;
    const deadline = healedAt + budget * tick;
    let nextPropose = healedAt;
    const ok = this.#runUntil(deadline, () => {
      if (this.#liveMarker !== undefined) return true;
      if (this.agenda.now >= nextPropose) {
        nextPropose = this.agenda.now + 2 * tick;
        const l = this.leader();
        if (l !== undefined) {
          try {
            l.raw.propose(encodeCommand({ marker: `live/${l.id}/${++this.#markerSeq}` }));
            this.#kick(l);
          } catch (err) {
            if (!(err instanceof ProposalDroppedError)) throw err;
          }
        }
      }
      return false;
    });
    if (!ok) {
      this.#fail(`liveness: no leader committed a new proposal within ${budget} ticks after healing ` +
        `(${this.#describeMembers()})`);
    }
    this.stats.livenessMs = this.agenda.now - healedAt;
    const markerIndex = this.#liveMarker!.appliedAt;
    const caughtUpFrom = this.agenda.now;
    const caughtUp = this.#runUntil(this.agenda.now + budget * tick, () =>
      this.#config.voters.every((id) => {
        const m = this.members.get(id);
        return m !== undefined && m.state === "up" && m.applied >= markerIndex;
      }));
    if (!caughtUp) {
      this.#fail(`liveness: voters ${this.#config.voters.join(",")} did not all apply index ${markerIndex} within ` +
        `${budget} ticks (${this.#describeMembers()})`);
    }
    this.stats.catchUpMs = this.agenda.now - caughtUpFrom;
    this.#clientsOn = false;
    // Let operations in flight finish (or time out) so the history is complete.
    this.#runUntil(this.agenda.now + Math.max(this.knobs.writeTimeoutMs, this.knobs.readTimeoutMs) + 10);
    for (const m of this.members.values()) {
      for (const w of m.writes.values()) {
        w.op.output = { unknown: true };
        w.op.return = Infinity;
        this.history.push(w.op);
      }
      m.writes.clear();
    }
    this.#log(`end: ${this.#describeMembers()}`);
  }

  #describeMembers(): string {
    const parts: string[] = [];
    for (const m of this.members.values()) {
      const r = m.raw.raft;
      parts.push(`${m.id}:${m.state}${m.state === "up" ? ` ${r.state.replace("State", "")} t${r.term} c${r.raftLog.committed} a${m.applied} last${r.raftLog.lastIndex()} lead=${r.lead || "-"}` : ""}`);
    }
    return `config ${this.#config.voters.join(",")}; ${parts.join("; ")}`;
  }
}
