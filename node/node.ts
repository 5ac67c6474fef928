// The daemon's Ready loop: drives the pure Raft core (log/) with real time, persists each Ready in
// one SQLite transaction, applies committed entries through projections/apply.ts, answers the
// waiting requests, snapshots and compacts. It implements api/deps.ts for the HTTP layer.
// Must not parse HTTP or know etcd's wire format (api/ does), and must not hold projection logic.

import { setImmediate } from "node:timers";
import { assert } from "../internal/assert.ts";
import type { Index, NodeId } from "../internal/brand.ts";
import type { Clock } from "../internal/clock.ts";
import { limits } from "../internal/limits.ts";
import { createPrng } from "../internal/prng.ts";
import { decodeConfChange } from "../log/conf_change.ts";
import { refusePeerMessage } from "../log/message_guard.ts";
import { RawNode } from "../log/raw_node.ts";
import type { RaftConfig } from "../log/raft.ts";
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
  StateType,
} from "../log/types.ts";
import type { ApiDeps, FollowerStats, MemberInfo, RaftStatus } from "../api/deps.ts";
import { NodeError } from "../api/deps.ts";
import {
  Applier,
  bootstrapCommands,
  checkEnvelope,
  type Command,
  CorruptEntryError,
  createStates,
  decodeSnapshot,
  encodeConfChangeContext,
  encodeEntry,
  type Envelope,
  type MembersState,
  type ProjectionName,
  refuseProposal,
  type ResultFor,
  type StateOf,
  type States,
  type Subscriber,
  encodeSnapshot,
} from "../projections/mod.ts";
import type { Config } from "./config.ts";
import { clusterIdFor, memberIdFor, newMemberIdFor } from "./ids.ts";
import { type PeerHttpResponse, PeerPortState, type PeerServerHandler } from "./peer_server.ts";
import { Transport } from "./transport.ts";
import { withRepairHint } from "./repair_advice.ts";
import type { Logger } from "./logger.ts";
import { nextStart, requestId as requestIdOf } from "./request_id.ts";
import type { Runtime } from "./runtime.ts";
import { type SaveBatch, SqliteStorage } from "./storage_sqlite.ts";
import type { StorageError } from "./sqlite.ts";

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  deadlineMs: number;
}

interface ReadWaiter {
  resolve(): void;
  reject(err: Error): void;
  deadlineMs: number;
}

interface ReadBatch {
  waiters: ReadWaiter[];
  issuedMs: number;
}

/** The state a data dir's metadata records about this member and its cluster. */
interface Identity {
  memberId: NodeId;
  clusterId: string;
  /** The members this data dir was created with (a bootstrap's --initial-cluster, or a join's fetch). */
  members: MemberInfo[];
}

/** Round-trip statistics of one follower's heartbeats, as etcd's LeaderStats keeps them. */
class FollowerCounter {
  current = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = 0;
  success = 0;
  fail = 0;
  heartbeatSentMs = 0;
  record(ms: number): void {
    this.current = ms;
    this.success++;
    this.sum += ms;
    this.sumSq += ms * ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  json(id: NodeId): FollowerStats {
    const n = this.success;
    const avg = n > 0 ? this.sum / n : 0;
    const sd = n > 0 ? Math.sqrt(Math.max(0, this.sumSq / n - avg * avg)) : 0;
    return {
      id,
      latency: { current: this.current, average: avg, standardDeviation: sd, minimum: n > 0 ? this.min : 0, maximum: this.max },
      counts: { fail: this.fail, success: this.success },
    };
  }
}

export interface NodeOptions {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Called when the node cannot go on (a storage failure other than a full disk): the process must exit. */
  readonly onFatal: (err: Error) => void;
  /** Called when this member was removed from the cluster: the process stops cleanly. */
  readonly onRemoved?: () => void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A member of a coreplane cluster: the Raft node, its durable log, its projections and its peers. */
export class Node implements ApiDeps {
  readonly clock: Clock;
  readonly valueBytesMax: number;
  readonly #cfg: Config;
  readonly #log: Logger;
  readonly #storage: SqliteStorage;
  #raw: RawNode;
  readonly #rawConfig: RaftConfig;
  readonly #id: Identity;
  readonly #onFatal: (err: Error) => void;
  readonly #onRemoved: () => void;
  readonly #transport: Transport;
  /** Every projection's state and the applied index: the one apply path (projections/applier.ts). */
  readonly #applier: Applier;
  #confState: ConfState;
  #lead: NodeId = "";
  #raftState: string = StateType.Follower;
  #leaderSince = "";
  readonly #startTime = new Date().toISOString();
  /** This start's number and proposal count: request ids unique across restarts (request_id.ts). */
  #start = 0;
  #requestCount = 0;
  readonly #pending = new Map<number, Pending>();
  /** Writes of this event-loop turn, not yet handed to the core. */
  #proposals: Uint8Array[] = [];
  #proposalIds: number[] = [];
  /** Membership changes this member proposed, by "<type>:<id>", answered when applied. */
  readonly #pendingConf = new Map<string, Pending & { member?: MemberInfo }>();
  #readWaiters: ReadWaiter[] = [];
  readonly #readBatches = new Map<string, ReadBatch>();
  #readSeq = 0;
  readonly #readIndexWaits: { index: Index; waiters: ReadWaiter[] }[] = [];
  #scheduled = false;
  #processing = false;
  /** Set while the disk is full: writes are refused at once, and the core restarts from disk on each retry. */
  #diskFull = false;
  #diskFullMessage = "";
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  #removed = false;
  #heardFromLeader = false;
  #lastSnapshotMs = 0;
  #lastSnapshotCostMs = 0;
  /** Projections whose due commands (e.g. kv/expire) this leader proposed and has not seen applied or failed. */
  readonly #duePending = new Set<ProjectionName>();
  /** A conf change was applied on a compacted log: snapshot now, whatever the count. */
  #snapshotDue = false;
  /** The voters #offset was computed for (the ConfState's array is replaced on every change). */
  #offsetFor: readonly NodeId[] | undefined;
  #offset = 0;
  #needPublish = false;
  #attributesPublished = false;
  #attributesInFlight = false;
  #logBytes = 0;
  #recvAppendCount = 0;
  #sendAppendCount = 0;
  readonly #followers = new Map<NodeId, FollowerCounter>();
  readonly #ownEnvelopes = new WeakMap<Uint8Array, Envelope<Command>>();
  /**
   * Snapshots received from peers, decoded before they were stepped (one that does not decode is
   * refused there: installed, it would stop this member now and at every restart), so the install
   * does not decode them twice.
   */
  readonly #receivedStates = new WeakMap<Uint8Array, States>();
  /** The index of the empty entry this member appended when it became leader. */
  #leaderFirstIndex = 0;
  /** What the peer port refused and holds (shared by every peer listener; shown in status()). */
  readonly #peerPort = new PeerPortState();

  private constructor(
    opts: NodeOptions,
    storage: SqliteStorage,
    rawConfig: RaftConfig,
    raw: RawNode,
    id: Identity,
    states: States,
    applied: Index,
    conf: ConfState,
  ) {
    this.#rawConfig = rawConfig;
    this.#cfg = opts.config;
    this.#log = opts.logger;
    this.clock = opts.clock;
    this.valueBytesMax = opts.config.maxRequestBytes;
    this.#onFatal = opts.onFatal;
    this.#onRemoved = opts.onRemoved ?? (() => {});
    this.#storage = storage;
    this.#raw = raw;
    this.#id = id;
    this.#applier = new Applier(states, applied);
    this.#confState = conf;
    const cfg = opts.config;
    this.#transport = new Transport({
      localId: id.memberId,
      clusterId: id.clusterId,
      logger: opts.logger,
      dialTimeoutMs: Math.max(200, cfg.electionTimeoutMs),
      sendDeadlineMs: Math.max(500, cfg.electionTimeoutMs),
      queueBytesMax: limits.peerQueueBytesMax,
      snapshotChunkBytes: limits.snapshotChunkBytes,
      keepaliveMs: limits.peerStreamKeepaliveMs,
      frameBytesTarget: limits.peerFrameBytesTarget,
      handler: {
        onUnreachable: (peer) => {
          const f = this.#followers.get(peer);
          if (f) f.fail++;
          this.#raw.reportUnreachable(peer);
          this.#schedule();
        },
        onSnapshotStatus: (peer, ok) => {
          this.#raw.reportSnapshot(peer, ok);
          this.#schedule();
        },
        onRefused: (peer, reason) => this.#onRefused(peer, reason),
      },
    });
  }

  /**
   * Opens the data dir, restores the newest snapshot, replays the committed tail, becomes leader
   * if it is the only voter, and resolves once it has applied everything committed before start.
   * A fresh member either bootstraps a new cluster from --initial-cluster (every member writes the
   * same first entries) or, with --initial-cluster-state existing, asks the running members who
   * it is and waits for the leader to send it the log.
   */
  static async start(opts: NodeOptions): Promise<Node> {
    const { config: cfg, runtime, logger } = opts;
    const storage = await SqliteStorage.open(runtime, cfg.dataDir);
    const fresh = storage.lastIndex() === 0 && storage.hardState().term === 0 && storage.snapshotMeta().index === 0;
    let id: Identity;
    let bootstrap = false;
    if (fresh) {
      if (cfg.initialClusterState === "existing") {
        try {
          id = await joinIdentity(cfg, logger);
        } catch (e) {
          storage.close();
          throw e;
        }
      } else {
        // Sorted by id: every member must write byte-identical bootstrap entries.
        const members: MemberInfo[] = [...cfg.initialCluster.entries()]
          .map(([name, peers]) => ({ id: memberIdFor(peers, cfg.initialClusterToken), name, peerURLs: peers, clientURLs: [] as string[] }))
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const memberId = memberIdFor(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
        id = { memberId, clusterId: clusterIdFor(members.map((m) => m.id)), members };
        bootstrap = true;
      }
      storage.putMeta("identity", JSON.stringify(id));
    } else {
      const raw = storage.getMeta("identity");
      if (!raw) {
        storage.close();
        throw new Error(`${cfg.dataDir} holds a log but no member identity; it was not written by coreplane serve`);
      }
      id = JSON.parse(raw) as Identity;
      const want = memberIdFor(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
      if (want !== id.memberId && cfg.initialClusterState === "new") {
        logger.warn("peer URLs differ from those this data dir was created with; keeping the stored member id", {
          stored: id.memberId,
          flags: want,
        });
      }
    }

    // Restore: newest snapshot, then the Ready loop replays (snapshot, commit]. Every record it
    // will read is checked first, so a corrupt one stops the start with its index named.
    const snap = storage.snapshotMeta();
    for (const e of storage.iterate(snap.index + 1, storage.lastIndex())) {
      try {
        if (e.type !== EntryType.ConfChange) checkEnvelope(e.data, e.index);
      } catch (err) {
        storage.close();
        throw withRepairHint(err as CorruptEntryError, cfg.dataDir, storage.initialState().confState.voters.length > 1);
      }
    }
    let states: States;
    if (snap.index > 0) {
      const t0 = performance.now();
      states = decodeSnapshot(storage.snapshot().data);
      logger.info("restored snapshot", { index: snap.index, ms: Math.round(performance.now() - t0) });
    } else {
      states = createStates();
    }
    const seed = Number.parseInt(id.memberId.slice(-8), 16) ^ Date.now();
    const electionTick = Math.max(2, Math.round(cfg.electionTimeoutMs / cfg.heartbeatIntervalMs));
    const rawConfig: RaftConfig = {
      id: id.memberId,
      electionTick,
      electionJitterTick: Math.max(1, Math.min(electionTick, Math.round(electionTick * limits.electionJitterFraction))),
      heartbeatTick: 1,
      storage,
      applied: snap.index,
      maxSizePerMsg: limits.appendBytesMax,
      maxInflightMsgs: limits.inflightMessagesMax,
      maxInflightBytes: limits.appendBytesMax * 64,
      maxUncommittedEntriesSize: 1 << 30,
      checkQuorum: true,
      preVote: true,
      prng: createPrng(seed),
    };
    const raw = new RawNode(rawConfig);
    if (bootstrap) {
      raw.bootstrap(
        id.members.map((m) => m.id),
        id.members.map((m) => encodeConfChangeContext({ name: m.name, peerURLs: m.peerURLs })),
      );
    }
    // Durable (synchronous=FULL) before any proposal of this start, so no two starts share ids.
    const start = nextStart(storage.getMeta("starts"));
    storage.putMeta("starts", String(start));
    const node = new Node(opts, storage, rawConfig, raw, id, states, snap.index, storage.initialState().confState);
    node.#start = start;
    node.#needPublish = bootstrap && id.members.length === 1;
    node.#logBytes = storage.bytesOnDisk();
    node.#syncPeers();
    const commitAtStart = storage.hardState().commit;
    node.#process();
    if (node.#confState.voters.length === 1 && node.#confState.voters[0] === id.memberId) raw.campaign();
    node.#process();
    while (node.#applied < commitAtStart) {
      node.#process();
      await new Promise((r) => setImmediate(r));
    }
    node.#timers.push(setInterval(() => node.#tick(), cfg.heartbeatIntervalMs));
    node.#timers.push(setInterval(() => node.#housekeeping(), limits.expireTickMs));
    logger.info("member started", {
      name: cfg.name,
      id: id.memberId,
      cluster: id.clusterId,
      applied: node.#applied,
      lastIndex: storage.lastIndex(),
      voters: node.#confState.voters.length,
    });
    return node;
  }

  /** True when this member is the only voter (it elects itself at once). */
  get single(): boolean {
    return this.#confState.voters.length === 1 && this.#confState.voters[0] === this.#id.memberId;
  }

  /** Resolves when this member knows a leader; a leader once it has applied its own term's first entry. */
  async waitForLeader(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    // A leader serves once it has applied the entry of its own term: everything before it is then applied too.
    while (this.#lead === "" || (this.#lead === this.#id.memberId && (this.#needPublish || this.#applied < this.#leaderFirstIndex))) {
      if (Date.now() > until) throw new NodeError("node/no-leader", "no leader was elected in time");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // ---------------- ApiDeps ----------------

  get #applied(): Index {
    return this.#applier.applied;
  }

  state<N extends ProjectionName>(name: N): StateOf<N> {
    return this.#applier.state(name);
  }

  subscribe<N extends ProjectionName>(name: N, subscriber: Subscriber<N>): void {
    this.#applier.subscribe(name, subscriber);
  }

  propose<C extends Command>(command: C): Promise<ResultFor<C>> {
    const refused = this.#refuseWrite();
    if (refused) return Promise.reject(refused);
    const requestId = requestIdOf(this.#start, ++this.#requestCount);
    const env: Envelope<Command> = { timeMs: this.clock.nowMs(), proposer: this.#id.memberId, requestId, command };
    const data = encodeEntry(env);
    // The core hands the same bytes back when the entry commits (it never copies entry data), so
    // the member that encoded them skips decoding them; the bytes are what replay will decode.
    this.#ownEnvelopes.set(data, env);
    return new Promise<ResultFor<C>>((resolve, reject) => {
      // Proposed with every other write of this event-loop turn as one batch (#flushProposals).
      this.#proposals.push(data);
      this.#proposalIds.push(requestId);
      this.#pending.set(requestId, { resolve: resolve as (r: unknown) => void, reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#schedule();
    });
  }

  /**
   * Hands the writes of this turn to the core as one MsgProp: the leader then sends one append per
   * follower for all of them. On a follower the core forwards the batch to the leader; the entries
   * come back in the log and this member answers each client when it applies its entry.
   */
  #flushProposals(): void {
    if (this.#proposals.length === 0) return;
    const data = this.#proposals;
    const ids = this.#proposalIds;
    this.#proposals = [];
    this.#proposalIds = [];
    try {
      this.#raw.proposeBatch(data);
    } catch (e) {
      const err = new NodeError("node/no-leader", `etcdserver: proposal dropped (${(e as Error).message})`);
      for (const id of ids) {
        const p = this.#pending.get(id);
        if (p) {
          this.#pending.delete(id);
          p.reject(err);
        }
      }
    }
  }

  #refuseWrite(): NodeError | undefined {
    if (this.#stopped) return new NodeError("node/stopped", "etcdserver: server stopped");
    if (this.#diskFull) return new NodeError("node/disk-full", this.#diskFullMessage);
    if (this.#pending.size >= limits.pendingProposalsMax) return new NodeError("node/busy", "etcdserver: too many requests");
    if (this.#lead === "") return new NodeError("node/no-leader", "etcdserver: no leader");
    return undefined;
  }

  linearizableRead(): Promise<void> {
    if (this.#stopped) return Promise.reject(new NodeError("node/stopped", "etcdserver: server stopped"));
    return new Promise((resolve, reject) => {
      this.#readWaiters.push({ resolve, reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#schedule();
    });
  }

  addMember(peerURLs: readonly string[]): Promise<MemberInfo> {
    const id = newMemberIdFor(peerURLs, Math.floor(this.clock.nowMs() / 1000));
    if (this.#membersState().removed.has(id)) return Promise.reject(new NodeError("node/member-removed", "membership: ID removed"));
    const member: MemberInfo = { id, name: "", peerURLs: [...peerURLs], clientURLs: [] };
    return this.#proposeConfChange(
      { type: ConfChangeType.AddNode, nodeId: id, context: encodeConfChangeContext({ name: "", peerURLs }) },
      member,
    ).then(() => this.members().find((m) => m.id === id) ?? member);
  }

  removeMember(id: NodeId): Promise<void> {
    const st = this.#membersState();
    if (st.removed.has(id)) return Promise.reject(new NodeError("node/member-removed", "membership: ID removed"));
    if (!st.members.has(id)) return Promise.reject(new NodeError("node/member-not-found", `No such member: ${id}`));
    const remove = () => this.#proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
    // Removing the leader itself: hand leadership over first, so the cluster does not sit out an
    // election timeout once the leader steps down; the new leader then takes the change.
    if (id === this.#id.memberId && this.#lead === this.#id.memberId && this.#confState.voters.length > 1) {
      return this.#transferLeadership(this.#cfg.electionTimeoutMs).then(remove).then(() => {});
    }
    // Removing the leader through a follower: ask for leadership first, for the same reason, and
    // so that the leader does not apply its own removal. A leader that does and dies before the
    // others learn the commit leaves a 2-voter cluster needing its vote for good (etcd-io/etcd#10563).
    if (id === this.#lead && id !== this.#id.memberId && this.#confState.voters.length > 1) {
      return this.#takeLeadership(id, this.#cfg.electionTimeoutMs).then(remove).then(() => {});
    }
    return remove().then(() => {});
  }

  updateMember(id: NodeId, peerURLs: readonly string[]): Promise<void> {
    const st = this.#membersState();
    if (st.removed.has(id)) return Promise.reject(new NodeError("node/member-removed", "membership: ID removed"));
    const cur = st.members.get(id);
    if (!cur) return Promise.reject(new NodeError("node/member-not-found", `No such member: ${id}`));
    return this.#proposeConfChange({
      type: ConfChangeType.UpdateNode,
      nodeId: id,
      context: encodeConfChangeContext({ name: cur.name, peerURLs }),
    }).then(() => {});
  }

  /**
   * One membership change at a time: the leader's core turns a second pending change into a no-op
   * (etcd-io/raft's pendingConfIndex guard), so a change is refused here while one is in flight.
   */
  #proposeConfChange(cc: ConfChange, member?: MemberInfo): Promise<void> {
    const refused = this.#refuseWrite();
    if (refused) return Promise.reject(refused);
    const r = this.#raw.raft;
    if (this.#pendingConf.size > 0 || (this.#lead === this.#id.memberId && r.pendingConfIndex > this.#applied)) {
      return Promise.reject(new NodeError("node/member-change-pending", "a membership change is already in progress"));
    }
    const key = `${cc.type}:${cc.nodeId}`;
    return new Promise((resolve, reject) => {
      try {
        this.#raw.proposeConfChange(cc);
      } catch (e) {
        reject(new NodeError("node/no-leader", `etcdserver: proposal dropped (${(e as Error).message})`));
        return;
      }
      this.#pendingConf.set(key, { resolve: () => resolve(), reject, deadlineMs: Date.now() + limits.proposalTimeoutMs, member });
      this.#schedule();
    });
  }

  followerStats(): readonly FollowerStats[] {
    if (this.#lead !== this.#id.memberId) return [];
    const out: FollowerStats[] = [];
    for (const v of this.#confState.voters) {
      if (v === this.#id.memberId) continue;
      out.push((this.#followers.get(v) ?? new FollowerCounter()).json(v));
    }
    return out;
  }

  /** Cheap: the api reads it for every reply's X-Raft-* headers. The on-disk size is refreshed by housekeeping. */
  status(): RaftStatus {
    const r = this.#raw.raft;
    let progress: Record<NodeId, { match: Index; next: Index; state: string }> | undefined;
    if (r.state === StateType.Leader) {
      progress = {};
      for (const [id, pr] of r.trk.progress) progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    }
    return {
      id: this.#id.memberId,
      name: this.#cfg.name,
      clusterId: this.#id.clusterId,
      term: r.term,
      leader: this.#lead,
      state: this.#raftState,
      commitIndex: r.raftLog.committed,
      appliedIndex: this.#applied,
      snapshotIndex: this.#storage.snapshotMeta().index,
      firstIndex: this.#storage.firstIndex(),
      lastIndex: this.#storage.lastIndex(),
      logBytesOnDisk: this.#logBytes,
      startTime: this.#startTime,
      leaderStartTime: this.#leaderSince,
      recvAppendRequestCnt: this.#recvAppendCount,
      sendAppendRequestCnt: this.#sendAppendCount,
      progress,
      peer: this.#peerPort.json(),
    };
  }

  #membersState(): MembersState {
    return this.#applier.state("members");
  }

  /** The members, from the membership projection; this member's own name and client URLs are this start's flags. */
  members(): readonly MemberInfo[] {
    const st = this.#membersState();
    const list: MemberInfo[] = st.members.size > 0 ? [...st.members.values()] : this.#id.members;
    return list.map((m) => {
      // Data dirs written before membership was a projection have bootstrap entries without URLs.
      const peerURLs = m.peerURLs.length > 0 ? m.peerURLs : this.#id.members.find((x) => x.id === m.id)?.peerURLs ?? [];
      return m.id === this.#id.memberId
        ? { ...m, peerURLs, name: this.#cfg.name, clientURLs: this.#cfg.advertiseClientUrls }
        : { ...m, peerURLs };
    });
  }

  /** The receiving side of the peer transport (node/peer_server.ts calls these). */
  peerHandler(): PeerServerHandler {
    return {
      refuse: (_channel, from, to, cluster) => {
        if (cluster !== this.#id.clusterId) {
          return `cluster id mismatch: this member (${this.#id.memberId}) is in cluster ${this.#id.clusterId}, the caller in ${cluster}`;
        }
        if (to !== this.#id.memberId) return `this is member ${this.#id.memberId}, not ${to}`;
        if (this.#membersState().removed.has(from)) return `removed member: ${from} was removed from the cluster`;
        if (this.#stopped) return "member stopped";
        if (!this.#knownSender(from)) return `sender not found: ${from} is not a member of cluster ${this.#id.clusterId} here`;
        return undefined;
      },
      refuseSnapshot: (m) => {
        // Useless snapshots are refused before their data is read: one from an older term, or one
        // in this member's term from anyone but the leader it follows (or to it, when it leads).
        const r = this.#raw.raft;
        if (m.term < r.term) return `snapshot of term ${m.term} is older than this member's term ${r.term}`;
        if (m.term === r.term && r.state === StateType.Leader) return `this member leads term ${r.term}`;
        if (m.term === r.term && this.#lead !== "" && m.from !== this.#lead) return `${m.from} does not lead term ${r.term}`;
        return undefined;
      },
      onMessages: (msgs) => this.#onPeerMessages(msgs),
      http: (_method, path) => this.#peerHttp(path),
      port: this.#peerPort,
    };
  }

  /**
   * Whether `from` may open a Raft stream here: a voter or learner, a member of the projection (or
   * of the creation-time list before it has any), a member being added by a conf change this member
   * holds but has not applied yet, or anyone not removed while this member knows no leader (a
   * lagging member may not even hold the entry that added a new leader: refusing it then would cut
   * it off for good; etcd takes such messages through its pipeline handler).
   */
  #knownSender(from: NodeId): boolean {
    if (from === this.#id.memberId) return false;
    if (this.#confState.voters.includes(from) || this.#confState.learners.includes(from)) return true;
    const st = this.#membersState();
    if (st.members.size > 0 ? st.members.has(from) : this.#id.members.some((m) => m.id === from)) return true;
    if (this.#lead === "") return true;
    const log = this.#raw.raft.raftLog;
    const last = log.lastIndex();
    // The newest entries only: a sender must not make this member read its whole log.
    const lo = Math.max(this.#applied + 1, last - 4095, log.firstIndex());
    if (lo > last) return false;
    try {
      for (const e of log.slice(lo, last + 1, Infinity)) {
        if (e.type !== EntryType.ConfChange) continue;
        const cc = decodeConfChange(e.data);
        if (cc.nodeId === from && (cc.type === ConfChangeType.AddNode || cc.type === ConfChangeType.AddLearnerNode)) return true;
      }
    } catch {
      return false; // compacted meanwhile: the member is not being added by anything this member holds
    }
    return false;
  }

  #peerHttp(path: string): PeerHttpResponse {
    const json = { "Content-Type": "application/json", "X-Etcd-Cluster-ID": this.#id.clusterId };
    if (path === "/members") return { status: 200, headers: json, body: JSON.stringify(this.members()) };
    if (path === "/version") return { status: 200, headers: json, body: '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}' };
    if (path === "/health") {
      const ok = this.#lead !== "";
      return { status: ok ? 200 : 503, headers: json, body: ok ? '{"health":"true"}' : '{"health":"false"}' };
    }
    return { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "404 page not found\n" };
  }

  #onPeerMessages(msgs: Message[]): void {
    if (this.#stopped) return;
    const now = performance.now();
    for (const m of msgs) {
      if (m.to !== this.#id.memberId) continue;
      // Well-formed but not to be stepped (it would trip a core assert, or commit or install what no
      // member can apply): dropped like a lost message, counted and warned once per sender and interval.
      const refused = refusePeerMessage(this.#raw, m) ??
        (m.type === MessageType.Prop ? refuseProposal(m.entries, m.from) : undefined) ??
        (m.type === MessageType.Snap ? this.#refuseSnapshotData(m) : undefined);
      if (refused !== undefined) {
        this.#peerPort.count("messagesRefused", this.#log, limits.peerWarnIntervalMs, m.from, "peer port: refusing a message", {
          type: m.type,
          error: refused,
        });
        continue;
      }
      if (m.type === MessageType.App) this.#recvAppendCount++;
      else if (m.type === MessageType.HeartbeatResp) {
        const f = this.#followers.get(m.from);
        if (f && f.heartbeatSentMs > 0) {
          f.record(now - f.heartbeatSentMs);
          f.heartbeatSentMs = 0;
        }
      }
      try {
        this.#raw.step(m);
      } catch (e) {
        // A broken invariant while stepping a peer's message stops this member with the reason,
        // through the same path as any other fatal error (never an uncaught throw in a socket callback).
        this.#fatal(e as Error);
        return;
      }
    }
    this.#schedule();
  }

  /** Why a received snapshot's data may not be installed (it does not decode), or undefined; keeps what it decoded. */
  #refuseSnapshotData(m: Message): string | undefined {
    const data = m.snapshot!.data;
    try {
      this.#receivedStates.set(data, decodeSnapshot(data));
      return undefined;
    } catch (e) {
      return `a snapshot whose data does not decode (${(e as Error).message})`;
    }
  }

  /** Stops after handing leadership to the most caught-up follower, so clients need not wait for an election. */
  async stopGracefully(timeoutMs: number): Promise<void> {
    if (this.#stopped) return;
    await this.#transferLeadership(timeoutMs);
    this.stop();
  }

  /** When this member leads, hands leadership to the most caught-up voter; resolves once it moved or timeoutMs passed. */
  async #transferLeadership(timeoutMs: number): Promise<void> {
    if (this.#lead === this.#id.memberId && this.#confState.voters.length > 1) {
      const st = this.#raw.status();
      let best: NodeId = "";
      let bestMatch = -1;
      for (const [id, p] of Object.entries(st.progress ?? {})) {
        if (id === this.#id.memberId || p.isLearner) continue;
        if (p.match > bestMatch) {
          best = id;
          bestMatch = p.match;
        }
      }
      if (best !== "") {
        this.#log.info("transferring leadership before stopping", { to: best });
        this.#raw.transferLeader(best);
        this.#process();
        await this.#awaitNewLeader(this.#id.memberId, timeoutMs);
        if (this.#lead !== this.#id.memberId) this.#log.info("leadership transferred", { leader: this.#lead || "none" });
      }
    }
  }

  /** Asks the leader `from` to hand leadership to this member; resolves once it did or on timeout. */
  async #takeLeadership(from: NodeId, timeoutMs: number): Promise<void> {
    this.#log.info("asking the leader to hand over leadership", { leader: from });
    this.#raw.transferLeader(this.#id.memberId);
    this.#process();
    await this.#awaitNewLeader(from, timeoutMs);
  }

  /**
   * Waits (polling; at most timeoutMs) until a member other than `from` leads and this member has
   * applied an entry of the leader's term. A new leader turns any membership change it receives
   * before it has applied its own term's first entry into a no-op, and the proposer never hears of
   * it; once this member has applied an entry of the new term, the leader has applied it too.
   */
  async #awaitNewLeader(from: NodeId, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    const ready = () => {
      if (this.#lead === from || this.#lead === "") return false; // "none" for a moment in between
      const r = this.#raw.raft;
      try {
        return r.raftLog.term(this.#applied) >= r.term;
      } catch {
        return false; // compacted: only right after a snapshot, so not yet
      }
    };
    while (!ready() && Date.now() < until && !this.#stopped) await new Promise((r) => setTimeout(r, 10));
  }

  /** Stops timers, fails waiting requests, checkpoints and closes the log. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#transport.stop();
    const err = new NodeError("node/stopped", "etcdserver: server stopped");
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#proposals = [];
    this.#proposalIds = [];
    for (const p of this.#pendingConf.values()) p.reject(err);
    this.#pendingConf.clear();
    for (const w of this.#readWaiters) w.reject(err);
    this.#readWaiters = [];
    for (const b of this.#readBatches.values()) for (const w of b.waiters) w.reject(err);
    this.#readBatches.clear();
    for (const x of this.#readIndexWaits.splice(0)) for (const w of x.waiters) w.reject(err);
    try {
      this.#storage.save({ hardState: this.#storableHardState(), entries: [] });
    } catch { /* the commit index is recoverable; stopping anyway */ }
    this.#storage.close();
  }

  // ---------------- the loop ----------------

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every request parsed in this turn
    // has proposed by then, so they all share the next Ready and its one fsync (group commit).
    setImmediate(() => {
      this.#scheduled = false;
      this.#process();
    });
  }

  #tick(): void {
    if (this.#stopped) return;
    if (this.#readBatches.size > 0) this.#retryLostReadRounds(Date.now());
    this.#raw.tick();
    this.#process();
  }

  #process(): void {
    // A removed member only waits to stop: its last Ready was not advanced, so it must not make another.
    if (this.#processing || this.#stopped || this.#removed) return;
    this.#processing = true;
    try {
      this.#flushProposals();
      this.#issueReadIndex();
      let rounds = 0;
      while (this.#raw.hasReady() && !this.#stopped) {
        const rd = this.#raw.ready();
        // The leader's appends and heartbeats go out before its own fsync: followers write in
        // parallel with it, so a commit costs one disk write plus one round trip, not two writes.
        if (rd.sendBeforePersist > 0) this.#send(rd.messages, 0, rd.sendBeforePersist);
        const batch = this.#batchFor(rd);
        if (batch) {
          try {
            this.#storage.save(batch);
          } catch (e) {
            if (!(e as StorageError).diskFull) throw e;
            this.#onDiskFull(e as StorageError);
            return;
          }
          this.#wrote();
        }
        if (rd.messages.length > rd.sendBeforePersist) this.#send(rd.messages, rd.sendBeforePersist, rd.messages.length);
        this.#finishReady(rd);
        if (this.#removed) return;
        // Yield to the event loop now and then so a long replay does not starve the HTTP server.
        if (++rounds >= 64) {
          this.#schedule();
          break;
        }
      }
      this.#maybeSnapshot();
    } catch (e) {
      this.#fatal(e as Error);
    } finally {
      this.#processing = false;
    }
  }

  #send(msgs: readonly Message[], from: number, to: number): void {
    const out = from === 0 && to === msgs.length ? msgs : msgs.slice(from, to);
    const now = performance.now();
    for (const m of out) {
      if (m.type === MessageType.App) this.#sendAppendCount++;
      else if (m.type === MessageType.Heartbeat) {
        let f = this.#followers.get(m.to);
        if (!f) this.#followers.set(m.to, (f = new FollowerCounter()));
        if (f.heartbeatSentMs === 0) f.heartbeatSentMs = now;
        else if (now - f.heartbeatSentMs > this.#cfg.electionTimeoutMs) {
          // No answer for an election timeout: count a failure and start timing afresh.
          f.fail++;
          f.heartbeatSentMs = now;
        }
      }
    }
    this.#transport.send(out);
  }

  /**
   * What a Ready needs written, or undefined. A commit-only change needs no fsync (the commit index
   * is recoverable), and the hard state is written only when the term or vote changed: those must
   * be durable before any message goes out; leaving the commit index out keeps one page out of
   * every fsync. Snapshots and a clean stop write it too.
   */
  #batchFor(rd: Ready): SaveBatch | undefined {
    if (rd.entries.length === 0 && !rd.snapshot && !rd.mustSync) return undefined;
    const hs = this.#currentHardState();
    const stored = this.#storage.hardState();
    const changed = hs.term !== stored.term || hs.vote !== stored.vote;
    return { hardState: changed || rd.snapshot ? hs : undefined, entries: rd.entries, snapshot: rd.snapshot };
  }

  #wrote(): void {
    if (this.#diskFull) {
      this.#log.info("the disk has room again; writes resume");
      this.#diskFull = false;
      this.#diskFullMessage = "";
    }
  }

  /**
   * The batch could not be written: its entries exist only in the core's memory. A member of a
   * larger cluster stops loudly (its appends may already be on followers, so no answer about
   * them would be true; the rest of the cluster goes on without it, as with etcd). A single member
   * drops them the way a crash would, by restarting the core from what is durable, so that a
   * write refused here is truly never applied later. Waiting writes are told so; new ones are
   * refused at once until a retry (housekeeping, every 500 ms) can write again.
   */
  #onDiskFull(se: StorageError): void {
    if (this.#confState.voters.length > 1) {
      this.#fatal(new Error(`disk full: ${se.message}. This member stops; the other members go on. Free space in ${this.#cfg.dataDir} and start it again`));
      return;
    }
    if (!this.#diskFull) this.#log.error("disk full: writes are refused until there is room", { error: se.message });
    this.#diskFull = true;
    this.#diskFullMessage = `etcdserver: disk is full: no space left on device (the write was not made durable)`;
    const err = new NodeError("node/disk-full", this.#diskFullMessage);
    // Only the writes whose entries never reached the disk are refused. An entry already durable
    // (perhaps committed, and in this very Ready to be applied) stays pending: the rebuilt core
    // commits and applies it, and its client gets its answer then.
    const durable = this.#storage.lastIndex();
    for (const e of this.#raw.raft.raftLog.unstable.entries) {
      if (e.index <= durable) continue;
      const env = this.#ownEnvelopes.get(e.data);
      const p = env && this.#pending.get(env.requestId);
      if (p) {
        this.#pending.delete(env.requestId);
        p.reject(err);
      }
    }
    for (const b of this.#readBatches.values()) for (const w of b.waiters) w.reject(err);
    this.#readBatches.clear();
    for (const x of this.#readIndexWaits.splice(0)) for (const w of x.waiters) w.reject(err);
    // Everything applied is durable and committed; the core may start from there.
    this.#storage.noteCommit(Math.min(this.#raw.raft.raftLog.committed, this.#storage.lastIndex()));
    this.#raw = new RawNode({ ...this.#rawConfig, applied: this.#applied });
    this.#onSoftState("", StateType.Follower);
    this.#duePending.clear();
  }

  /** While the disk is full: try again to become leader, which writes the new term and an entry. */
  #retryAfterDiskFull(): void {
    if (this.single) this.#raw.campaign();
    this.#process();
  }

  #finishReady(rd: Ready): void {
    if (rd.softState) this.#onSoftState(rd.softState.lead, rd.softState.raftState);
    if (rd.snapshot && rd.snapshot.metadata.index > this.#applied) {
      this.#applier.restore(this.#receivedStates.get(rd.snapshot.data) ?? decodeSnapshot(rd.snapshot.data), rd.snapshot.metadata.index);
      this.#confState = rd.snapshot.metadata.confState;
      this.#log.info("installed a snapshot from the leader", { index: this.#applied });
      this.#syncPeers();
    }
    for (const e of rd.committedEntries) {
      this.#applyEntry(e);
      if (this.#removed) return;
    }
    for (const rs of rd.readStates) this.#onReadState(rs.index, rs.requestCtx);
    this.#raw.advance(rd);
    this.#releaseReads();
    if (this.#needPublish && this.#lead === this.#id.memberId && this.#applied >= this.#storage.lastIndex()) {
      this.#publish();
    }
  }

  #onSoftState(lead: NodeId, state: string): void {
    if (lead !== this.#lead && lead === this.#id.memberId) {
      this.#leaderSince = new Date(this.clock.nowMs()).toISOString();
      this.#leaderFirstIndex = this.#raw.raft.raftLog.lastIndex();
      this.#followers.clear();
    }
    if (lead !== this.#lead) this.#log.info("leader changed", { leader: lead || "none", term: this.#raw.raft.term });
    if (lead !== "") this.#heardFromLeader = true;
    if (lead !== this.#lead) {
      // Read index requests sent to the old leader will not be answered: ask again.
      for (const b of this.#readBatches.values()) this.#readWaiters.push(...b.waiters);
      this.#readBatches.clear();
    }
    this.#lead = lead;
    this.#raftState = state;
    if (state !== StateType.Leader) this.#duePending.clear();
  }

  #applyEntry(e: Entry): void {
    const applied = this.#applier.apply(e, this.#ownEnvelopes.get(e.data));
    if (applied.kind === "conf-change") {
      this.#applyConfChange(e, applied.confChange, applied.change.type);
    } else if (applied.kind === "command" && applied.envelope.proposer === this.#id.memberId) {
      const p = this.#pending.get(applied.envelope.requestId);
      if (p) {
        this.#pending.delete(applied.envelope.requestId);
        p.resolve(applied.result);
      }
    }
  }

  /** A committed membership change, already folded into the projections: the core's configuration, the peers. */
  #applyConfChange(e: Entry, cc: ConfChange, change: string): void {
    this.#confState = this.#raw.applyConfChange(cc);
    this.#storage.setConfState(this.#confState);
    // The commit index on disk must cover an applied membership change (one fsync; changes are rare).
    // Restarted below it, a member would replay with the old membership while its peers use the new
    // one: the survivor of a 2-voter cluster that removed the other could then never elect again
    // (tests/log/sim, SIM_NO_CONF_COMMIT_SYNC=1 seed 525).
    const hs = this.#storableHardState();
    if (hs.commit > this.#storage.hardState().commit) this.#storage.save({ hardState: hs, entries: [] });
    this.#syncPeers();
    // A member added once the log has been compacted can only start from a snapshot, and the Raft
    // core sends the newest stored one: it must already list the new member, or the member refuses
    // it forever (etcd builds a fresh snapshot per send for the same reason).
    if (this.#storage.firstIndex() > 1) this.#snapshotDue = true;
    const key = `${cc.type}:${cc.nodeId}`;
    const p = this.#pendingConf.get(key);
    if (p) {
      this.#pendingConf.delete(key);
      p.resolve(undefined);
    }
    if (e.index > this.#storage.hardState().commit || this.#heardFromLeader) {
      this.#log.info("membership changed", { change, member: cc.nodeId, index: e.index, voters: this.#confState.voters.length });
    }
    if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === this.#id.memberId) {
      this.#onRemovedFromCluster();
    }
  }

  #onRemovedFromCluster(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#log.warn("this member was removed from the cluster; stopping");
    // Let the leader hear our acknowledgement of the removal before the connections close.
    setTimeout(() => this.#onRemoved(), 100);
  }

  #onRefused(peer: NodeId, reason: string): void {
    if (reason.startsWith("removed member")) {
      this.#onRemovedFromCluster();
      return;
    }
    if (reason.startsWith("cluster id mismatch") && !this.#heardFromLeader && !this.#stopped) {
      this.#fatal(new Error(
        `member ${peer} refused this member: ${reason}. This member was started for another cluster than the one at its ` +
          `--initial-cluster URLs; check --initial-cluster, --initial-cluster-token and --initial-cluster-state ` +
          `(use "existing" and "coreplane member add" / POST /v2/members to join a running cluster)`,
      ));
    }
  }

  /** Points the transport at every member's peer URLs (the projection's, or the creation-time list). */
  #syncPeers(): void {
    const list = this.#membersState().members.size > 0 ? [...this.#membersState().members.values()] : this.#id.members;
    const keep = new Set<NodeId>();
    for (const m of list) {
      if (m.id === this.#id.memberId) continue;
      keep.add(m.id);
      this.#transport.setPeer(m.id, m.peerURLs);
    }
    for (const v of [...this.#confState.voters, ...this.#confState.learners]) {
      if (!keep.has(v) && v !== this.#id.memberId) {
        const m = this.#id.members.find((x) => x.id === v);
        if (m) {
          keep.add(v);
          this.#transport.setPeer(v, m.peerURLs);
        }
      }
    }
    for (const m of this.#id.members) if (!keep.has(m.id) && this.#membersState().removed.has(m.id)) this.#transport.removePeer(m.id);
    for (const id of this.#membersState().removed) this.#transport.removePeer(id);
  }

  /** A new single-member cluster records its member and version in the "/0" namespace, as etcd does (indices 2-4). */
  #publish(): void {
    this.#needPublish = false;
    const me = this.members().find((m) => m.id === this.#id.memberId)!;
    for (const c of bootstrapCommands({ memberId: me.id, name: me.name, peerURLs: me.peerURLs, clientURLs: me.clientURLs })) {
      this.propose(c).catch((e) => this.#log.warn("publishing member attributes failed", { error: (e as Error).message }));
    }
  }

  /**
   * In a cluster, each member publishes its name and client URLs through the log once it runs (as
   * etcd does), so every member lists every other's client URLs.
   */
  #publishAttributes(): void {
    if (this.#attributesPublished || this.#attributesInFlight || this.#lead === "" || this.single) return;
    const st = this.#membersState();
    const me = st.members.get(this.#id.memberId);
    if (!me) return; // not applied our own addition yet
    const want = this.#cfg.advertiseClientUrls;
    if (me.name === this.#cfg.name && me.clientURLs.join(",") === want.join(",")) {
      this.#attributesPublished = true;
      return;
    }
    this.#attributesInFlight = true;
    this.propose({ type: "member/attributes", id: this.#id.memberId, name: this.#cfg.name, clientURLs: [...want] }).then(
      () => {
        this.#attributesInFlight = false;
        this.#attributesPublished = true;
      },
      () => {
        this.#attributesInFlight = false;
      },
    );
  }

  // ---------------- linearizable reads (read index, batched) ----------------

  #issueReadIndex(): void {
    if (this.#readWaiters.length === 0 || this.#lead === "") return;
    // One round in flight at a time: reads that arrive meanwhile share the next round, so under
    // load a round carries many reads and the members exchange far fewer heartbeats. A lost round
    // is asked again after limits.readIndexRetryMs (housekeeping), which also frees the slot.
    if (this.#readBatches.size >= limits.readIndexRoundsInFlightMax) return;
    // The leader keys pending rounds by context, across every member: it must be unique cluster-wide.
    const ctx = `${this.#id.memberId}:${++this.#readSeq}`;
    this.#readBatches.set(ctx, { waiters: this.#readWaiters, issuedMs: Date.now() });
    this.#readWaiters = [];
    // On a follower the core asks the leader (MsgReadIndex); every waiter of the batch shares the round.
    this.#raw.readIndex(enc.encode(ctx));
  }

  #onReadState(index: Index, ctxBytes: Uint8Array): void {
    const ctx = dec.decode(ctxBytes);
    const b = this.#readBatches.get(ctx);
    if (!b) return;
    this.#readBatches.delete(ctx);
    this.#readIndexWaits.push({ index, waiters: b.waiters });
    if (this.#readWaiters.length > 0) this.#schedule();
  }

  /**
   * A read index round lost on the way (a dropped message, a leader that had not yet committed in
   * its term) is asked again rather than left to time out. Checked every tick: with one round in
   * flight, a lost round holds every quorum read of this member until it is retried.
   */
  #retryLostReadRounds(now: number): void {
    for (const [ctx, b] of this.#readBatches) {
      if (now - b.issuedMs < limits.readIndexRetryMs) continue;
      this.#readBatches.delete(ctx);
      this.#readWaiters.push(...b.waiters);
    }
  }

  #releaseReads(): void {
    while (this.#readIndexWaits.length > 0 && this.#readIndexWaits[0].index <= this.#applied) {
      for (const w of this.#readIndexWaits.shift()!.waiters) w.resolve();
    }
  }

  // ---------------- timers: expiry, timeouts, snapshots ----------------

  #housekeeping(): void {
    if (this.#stopped) return;
    const now = Date.now();
    this.#logBytes = this.#storage.bytesOnDisk();
    // Time out writes that did not commit (etcd answers "request timed out" after about 7 s).
    for (const [id, p] of this.#pending) {
      if (p.deadlineMs > now) break; // insertion order = deadline order
      this.#pending.delete(id);
      p.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
    }
    for (const [k, p] of this.#pendingConf) {
      if (p.deadlineMs > now) continue;
      this.#pendingConf.delete(k);
      p.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
    }
    const timedOut = (ws: ReadWaiter[]) => {
      const keep: ReadWaiter[] = [];
      for (const w of ws) {
        if (w.deadlineMs <= now) w.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
        else keep.push(w);
      }
      return keep;
    };
    this.#readWaiters = timedOut(this.#readWaiters);
    // Updated in place: deleting and re-adding a key while iterating a Map visits it again, forever.
    for (const [ctx, b] of this.#readBatches) {
      b.waiters = timedOut(b.waiters);
      if (b.waiters.length === 0) this.#readBatches.delete(ctx);
    }
    this.#retryLostReadRounds(now);
    for (const x of this.#readIndexWaits) x.waiters = timedOut(x.waiters);
    if (this.#readWaiters.length > 0) this.#schedule();
    // The leader alone proposes what time makes due (e.g. TTL expiry), with its clock in the entry;
    // a projection is asked again once its last due commands were applied or failed.
    if (this.#lead === this.#id.memberId && !this.#diskFull) {
      for (const { projection, commands } of this.#applier.due(this.clock.nowMs())) {
        if (this.#duePending.has(projection)) continue;
        this.#duePending.add(projection);
        const done = () => this.#duePending.delete(projection);
        Promise.all(commands.map((c) => this.propose(c))).then(done, done);
      }
    }
    this.#publishAttributes();
    if (this.#diskFull) this.#retryAfterDiskFull();
  }

  /**
   * Snapshots every --snapshot-count applied entries, but never spends more than about a tenth of
   * the time on it: encoding a million keys blocks the loop, so under heavy load snapshots space out.
   */
  #maybeSnapshot(): void {
    const snapIndex = this.#storage.snapshotMeta().index;
    const now = performance.now();
    if (this.#snapshotDue && this.#applied > snapIndex) {
      this.#snapshotDue = false;
    } else {
      if (!this.#snapshotBoundaryCrossed(snapIndex)) return;
      if (now - this.#lastSnapshotMs < this.#lastSnapshotCostMs * 10) return;
    }
    const data = encodeSnapshot(this.#applier.states);
    const encodedMs = performance.now();
    const compactTo = this.#applied - this.#cfg.snapshotCatchupEntries;
    try {
      // The commit index on disk must cover the snapshot, or a restart would see applied > committed.
      this.#storage.createSnapshot(this.#applied, this.#confState, data, this.clock.nowMs(), {
        hardState: this.#storableHardState(),
        compactTo: compactTo > this.#storage.firstIndex() ? compactTo : undefined,
      });
    } catch (e) {
      if ((e as StorageError).diskFull) {
        this.#log.warn("disk full: snapshot skipped", { index: this.#applied });
        this.#lastSnapshotMs = performance.now();
        return;
      }
      throw e;
    }
    this.#lastSnapshotCostMs = performance.now() - now;
    this.#lastSnapshotMs = performance.now();
    this.#log.info("snapshot", {
      index: this.#applied,
      bytes: data.length,
      ms: Math.round(this.#lastSnapshotCostMs),
      encodeMs: Math.round(encodedMs - now),
    });
  }

  /**
   * Every --snapshot-count entries, at an index staggered by this member's rank among the voters:
   * voter i of n snapshots at k·count + count·i/n (k ≥ 1), so never before `count` entries and never
   * at the same index as another voter. A snapshot blocks a member's loop for tens to hundreds of ms;
   * when every member took it at the same index the cluster stalled as one (the p99 of the cluster
   * bench). Staggered, a follower's pause costs no commit (the other follower makes the quorum).
   */
  #snapshotBoundaryCrossed(snapIndex: Index): boolean {
    const count = this.#cfg.snapshotCount;
    const applied = this.#applied;
    // Right after a snapshot received from the leader the next boundary may be close: not before half a count.
    if (applied - snapIndex < Math.ceil(count / 2)) return false;
    if (applied - snapIndex >= count * 2) return true;
    const offset = this.#snapshotOffset();
    const k = Math.max(1, Math.floor((snapIndex - offset) / count) + 1);
    return applied >= k * count + offset;
  }

  /** count·rank/voters, recomputed only when the voters change (this runs on every loop turn). */
  #snapshotOffset(): number {
    const voters = this.#confState.voters;
    if (this.#offsetFor !== voters) {
      const sorted = [...voters].sort();
      const rank = Math.max(0, sorted.indexOf(this.#id.memberId));
      this.#offset = Math.floor((this.#cfg.snapshotCount * rank) / Math.max(1, sorted.length));
      this.#offsetFor = voters;
    }
    return this.#offset;
  }

  /**
   * The hard state as it may be written outside a Ready: the commit index capped at the stored log
   * (after a failed batch the core may know of commits beyond what this member holds, and a hard
   * state past the log would not start again). Everything applied is below both.
   */
  #storableHardState(): HardState {
    const hs = this.#currentHardState();
    return { ...hs, commit: Math.min(hs.commit, this.#storage.lastIndex()) };
  }

  #currentHardState(): HardState {
    const r = this.#raw.raft;
    return { term: r.term, vote: r.vote, commit: r.raftLog.committed };
  }

  #fatal(e: Error): void {
    if (this.#stopped) return;
    const err = e instanceof CorruptEntryError ? withRepairHint(e, this.#cfg.dataDir, this.#confState.voters.length > 1) : e;
    this.#log.error("fatal", { error: err.message, stack: e.stack });
    this.stop();
    this.#onFatal(err);
  }
}

/**
 * --initial-cluster-state existing: ask the running members (GET <peer URL>/members, as etcd's
 * joining member does) for the member list and the cluster id, and find this member in it by its
 * peer URLs. It must have been added first (POST /v2/members or etcdctl member add).
 */
async function joinIdentity(cfg: Config, logger: Logger): Promise<Identity> {
  const mine = new Set(cfg.initialAdvertisePeerUrls);
  const urls = [...cfg.initialCluster.values()].flat().filter((u) => !mine.has(u));
  if (urls.length === 0) {
    throw new Error("--initial-cluster-state existing needs --initial-cluster to name at least one running member besides this one");
  }
  const until = Date.now() + 15_000;
  const errors: string[] = [];
  while (Date.now() < until) {
    for (const u of urls) {
      try {
        const r = await fetch(`${u}/members`, { signal: AbortSignal.timeout(2000) });
        const clusterId = r.headers.get("x-etcd-cluster-id") ?? "";
        const members = (await r.json()) as MemberInfo[];
        if (!r.ok || !Array.isArray(members) || clusterId === "") throw new Error(`unexpected answer ${r.status}`);
        const me = members.find((m) => m.peerURLs.some((p) => mine.has(p)));
        if (!me) {
          throw new Error(
            `the cluster at ${u} (id ${clusterId}) has no member with peer URL ${cfg.initialAdvertisePeerUrls.join(",")}; ` +
              `add it first: curl -X POST ${u.replace(/:\d+$/, ":2379")}/v2/members -H 'Content-Type: application/json' ` +
              `-d '{"peerURLs":["${cfg.initialAdvertisePeerUrls[0]}"]}' (or etcdctl member add)`,
          );
        }
        logger.info("joining a running cluster", { cluster: clusterId, id: me.id, via: u, members: members.length });
        return { memberId: me.id, clusterId, members: members.map((m) => ({ ...m, clientURLs: [...m.clientURLs] })) };
      } catch (e) {
        const msg = (e as Error).message;
        if (msg.startsWith("the cluster at")) throw e;
        errors.push(`${u}: ${msg}`);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `--initial-cluster-state existing: could not get the member list from any of ${urls.join(", ")} ` +
      `(last errors: ${errors.slice(-urls.length).join("; ")}); start the running members first, or use --initial-cluster-state new`,
  );
}
