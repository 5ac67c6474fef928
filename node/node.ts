// A member: the composition of its parts and the Ready loop that drives the pure Raft core (log/)
// with real time. Each Ready is persisted in one SQLite transaction, its committed entries applied
// through the one Applier (projections/applier.ts), then the waiting requests answered. The parts:
// identity.ts (who this member is), proposals.ts (writes and their waiters), read_index.ts
// (linearizable reads), membership.ts (member changes, leadership transfer, peers),
// snapshot_policy.ts (when to snapshot), follower_stats.ts (traffic counters); the peer port's HTTP
// answers are peer_http.ts's. Node owns the lifecycle (start, stop), the core, the storage, the
// transport, a full disk, and the leader's proposals of due commands.
// Must not parse HTTP or know etcd's wire format (api/ does), hold projection logic or name a
// service, or read the Raft core other than through RawNode's public methods.

import { setImmediate } from "node:timers";
import type { Index, NodeId } from "../internal/mod.ts";
import type { Clock } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import { createPrng } from "../internal/mod.ts";
import { refusePeerMessage } from "../log/mod.ts";
import { RawNode } from "../log/mod.ts";
import type { RaftConfig } from "../log/mod.ts";
import { type ConfChange, ConfChangeType, type ConfState, type Entry, EntryType, type HardState, type Message, MessageType, type Ready, StateType } from "../log/mod.ts";
import type { FollowerStats, MemberInfo, RaftPosition, RaftStatus } from "../api/mod.ts";
import { NodeError } from "../api/mod.ts";
import {
  Applier,
  checkEnvelope,
  type Command,
  CorruptEntryError,
  createStates,
  decodeSnapshot,
  encodeConfChangeContext,
  encodeSnapshot,
  type MembersState,
  type ProjectionName,
  refuseProposal,
  type ResultFor,
  type StateOf,
  type States,
  type Subscriber,
} from "../projections/mod.ts";
import type { Config } from "./config.ts";
import { TrafficStats } from "./follower_stats.ts";
import { type Identity, loadIdentity } from "./identity.ts";
import { Membership } from "./membership.ts";
import { PeerPortState, type PeerServerHandler } from "./peer_server.ts";
import { Proposals } from "./proposals.ts";
import { ReadIndexRounds } from "./read_index.ts";
import { SnapshotPolicy } from "./snapshot_policy.ts";
import { Transport } from "./transport.ts";
import { withRepairHint } from "./repair_advice.ts";
import type { Logger } from "./logger.ts";
import { nextStart } from "./request_id.ts";
import type { Runtime } from "./runtime.ts";
import { type SaveBatch, SqliteStorage } from "./storage_sqlite.ts";
import type { StorageError } from "./sqlite.ts";

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

/** A member of a coreplane cluster: the Raft node, its durable log, its projections and its peers. */
export class Node {
  readonly clock: Clock;
  readonly valueBytesMax: number;
  readonly #cfg: Config;
  readonly #log: Logger;
  readonly #storage: SqliteStorage;
  /** Replaced (rebuilt from what is durable) after a write failed on a full disk. */
  #raw: RawNode;
  readonly #rawConfig: RaftConfig;
  readonly #id: Identity;
  readonly #onFatal: (err: Error) => void;
  readonly #onRemoved: () => void;
  readonly #transport: Transport;
  /** Every projection's state and the applied index: the one apply path (projections/applier.ts). */
  readonly #applier: Applier;
  readonly #proposals: Proposals;
  readonly #reads: ReadIndexRounds;
  readonly #membership: Membership;
  readonly #snapshots: SnapshotPolicy;
  readonly #traffic: TrafficStats;
  #confState: ConfState;
  #lead: NodeId = "";
  #raftState: string = StateType.Follower;
  #leaderSince = "";
  readonly #startTime = new Date().toISOString();
  #scheduled = false;
  #processing = false;
  /** Set while the disk is full: writes are refused at once, and the core restarts from disk on each retry. */
  #diskFull = false;
  #diskFullMessage = "";
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  #removed = false;
  #heardFromLeader = false;
  /** Projections whose due commands this leader proposed and has not seen applied or failed. */
  readonly #duePending = new Set<ProjectionName>();
  #logBytes = 0;
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
    start: number,
    needPublish: boolean,
  ) {
    const cfg = opts.config;
    this.#rawConfig = rawConfig;
    this.#cfg = cfg;
    this.#log = opts.logger;
    this.clock = opts.clock;
    this.valueBytesMax = cfg.maxRequestBytes;
    this.#onFatal = opts.onFatal;
    this.#onRemoved = opts.onRemoved ?? (() => {});
    this.#storage = storage;
    this.#raw = raw;
    this.#id = id;
    this.#applier = new Applier(states, applied);
    this.#confState = conf;
    this.#logBytes = storage.bytesOnDisk();
    const schedule = () => this.#schedule();
    this.#proposals = new Proposals({
      memberId: id.memberId,
      clock: opts.clock,
      proposeBatch: (data) => this.#raw.proposeBatch(data),
      schedule,
    }, start);
    this.#reads = new ReadIndexRounds({ memberId: id.memberId, readIndex: (ctx) => this.#raw.readIndex(ctx), schedule });
    this.#snapshots = new SnapshotPolicy(cfg.snapshotCount, id.memberId);
    this.#traffic = new TrafficStats(cfg.electionTimeoutMs);
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
          this.#traffic.onUnreachable(peer);
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
    this.#membership = new Membership({
      identity: id,
      name: cfg.name,
      advertiseClientUrls: cfg.advertiseClientUrls,
      electionTimeoutMs: cfg.electionTimeoutMs,
      clock: opts.clock,
      logger: opts.logger,
      core: () => this.#raw,
      membersState: () => this.#membersState(),
      confState: () => this.#confState,
      lead: () => this.#lead,
      applied: () => this.#applied,
      stopped: () => this.#stopped,
      refuseWrite: () => this.#refuseWrite(),
      propose: (c) => this.propose(c),
      process: () => this.#process(),
      schedule,
      setPeer: (peer, urls) => this.#transport.setPeer(peer, urls),
      removePeer: (peer) => this.#transport.removePeer(peer),
    }, needPublish);
  }

  /**
   * Opens the data dir, restores the newest snapshot, replays the committed tail, becomes leader
   * if it is the only voter, and resolves once it has applied everything committed before start.
   * A fresh member either bootstraps a new cluster from --initial-cluster (every member writes the
   * same first entries) or, with --initial-cluster-state existing, asks the running members who
   * it is and waits for the leader to send it the log (identity.ts).
   */
  static async start(opts: NodeOptions): Promise<Node> {
    const { config: cfg, runtime, logger } = opts;
    const storage = await SqliteStorage.open(runtime, cfg.dataDir);
    const fresh = storage.lastIndex() === 0 && storage.hardState().term === 0 && storage.snapshotMeta().index === 0;
    let id: Identity;
    let bootstrap: boolean;
    try {
      ({ id, bootstrap } = await loadIdentity(storage, fresh, cfg, logger));
    } catch (e) {
      storage.close();
      throw e;
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
    const conf = storage.initialState().confState;
    const node = new Node(opts, storage, rawConfig, raw, id, states, snap.index, conf, start, bootstrap && id.members.length === 1);
    node.#membership.syncPeers();
    const commitAtStart = storage.hardState().commit;
    node.#process();
    if (node.single) raw.campaign();
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
    while (
      this.#lead === "" ||
      (this.#lead === this.#id.memberId && (this.#membership.needPublish || this.#applied < this.#leaderFirstIndex))
    ) {
      if (Date.now() > until) throw new NodeError("node/no-leader", "no leader was elected in time");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // ---------------- what api/ reads and asks ----------------

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
    return this.#proposals.propose(command);
  }

  #refuseWrite(): NodeError | undefined {
    if (this.#stopped) return new NodeError("node/stopped", "etcdserver: server stopped");
    if (this.#diskFull) return new NodeError("node/disk-full", this.#diskFullMessage);
    if (this.#proposals.size >= limits.pendingProposalsMax) return new NodeError("node/busy", "etcdserver: too many requests");
    if (this.#lead === "") return new NodeError("node/no-leader", "etcdserver: no leader");
    return undefined;
  }

  linearizableRead(): Promise<void> {
    if (this.#stopped) return Promise.reject(new NodeError("node/stopped", "etcdserver: server stopped"));
    return this.#reads.read();
  }

  addMember(peerURLs: readonly string[]): Promise<MemberInfo> {
    return this.#membership.addMember(peerURLs);
  }

  removeMember(id: NodeId): Promise<void> {
    return this.#membership.removeMember(id);
  }

  updateMember(id: NodeId, peerURLs: readonly string[]): Promise<void> {
    return this.#membership.updateMember(id, peerURLs);
  }

  followerStats(): readonly FollowerStats[] {
    if (this.#lead !== this.#id.memberId) return [];
    return this.#traffic.followers(this.#confState.voters, this.#id.memberId);
  }

  /** Cheap (no map built): what every client reply's X-Raft-Term / X-Raft-Index / X-Etcd-Index need. */
  raftPosition(): RaftPosition {
    return { term: this.#raw.term, commitIndex: this.#raw.commitIndex, appliedIndex: this.#applied };
  }

  /** Everything /v1/cluster/status and /v2/stats/self show; builds the leader's progress map. The on-disk size is refreshed by housekeeping. */
  status(): RaftStatus {
    const raw = this.#raw;
    let progress: Record<NodeId, { match: Index; next: Index; state: string }> | undefined;
    const st = raw.status();
    if (st.progress) {
      progress = {};
      for (const [id, pr] of Object.entries(st.progress)) progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    }
    return {
      id: this.#id.memberId,
      name: this.#cfg.name,
      clusterId: this.#id.clusterId,
      term: st.term,
      leader: this.#lead,
      state: this.#raftState,
      commitIndex: st.commit,
      appliedIndex: this.#applied,
      snapshotIndex: this.#storage.snapshotMeta().index,
      firstIndex: this.#storage.firstIndex(),
      lastIndex: this.#storage.lastIndex(),
      logBytesOnDisk: this.#logBytes,
      startTime: this.#startTime,
      leaderStartTime: this.#leaderSince,
      recvAppendRequestCnt: this.#traffic.recvAppendCount,
      sendAppendRequestCnt: this.#traffic.sendAppendCount,
      progress,
      peer: this.#peerPort.json(),
    };
  }

  #membersState(): MembersState {
    return this.#applier.state("members");
  }

  /** The members, from the membership projection; this member's own name and client URLs are this start's flags. */
  members(): readonly MemberInfo[] {
    return this.#membership.members();
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
        if (!this.#membership.knownSender(from)) return `sender not found: ${from} is not a member of cluster ${this.#id.clusterId} here`;
        return undefined;
      },
      refuseSnapshot: (m) => {
        // Useless snapshots are refused before their data is read: one from an older term, or one
        // in this member's term from anyone but the leader it follows (or to it, when it leads).
        const st = this.#raw.basicStatus();
        if (m.term < st.term) return `snapshot of term ${m.term} is older than this member's term ${st.term}`;
        if (m.term === st.term && st.raftState === StateType.Leader) return `this member leads term ${st.term}`;
        if (m.term === st.term && this.#lead !== "" && m.from !== this.#lead) return `${m.from} does not lead term ${st.term}`;
        return undefined;
      },
      onMessages: (msgs) => this.#onPeerMessages(msgs),
      http: {
        clusterId: this.#id.clusterId,
        members: () => this.members(),
        hasLeader: () => this.#lead !== "",
      },
      port: this.#peerPort,
    };
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
      this.#traffic.onReceive(m, now);
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

  // ---------------- lifecycle ----------------

  /** Stops after handing leadership to the most caught-up follower, so clients need not wait for an election. */
  async stopGracefully(timeoutMs: number): Promise<void> {
    if (this.#stopped) return;
    await this.#membership.transferLeadership(timeoutMs);
    this.stop();
  }

  /** Stops timers, fails waiting requests, checkpoints and closes the log. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#transport.stop();
    const err = new NodeError("node/stopped", "etcdserver: server stopped");
    this.#proposals.failAll(err);
    this.#membership.failAll(err);
    this.#reads.failAll(err);
    try {
      this.#storage.save({ hardState: this.#storableHardState(), entries: [] });
    } catch { /* the commit index is recoverable; stopping anyway */ }
    this.#storage.close();
  }

  // ---------------- the Ready loop ----------------

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
    if (this.#reads.inFlight) this.#reads.retryLost(Date.now());
    this.#raw.tick();
    this.#process();
  }

  #process(): void {
    // A removed member only waits to stop: its last Ready was not advanced, so it must not make another.
    if (this.#processing || this.#stopped || this.#removed) return;
    this.#processing = true;
    try {
      this.#proposals.flush();
      this.#reads.issue(this.#lead !== "");
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
    this.#traffic.onSend(out, performance.now());
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
    const hs = this.#raw.hardState();
    const stored = this.#storage.hardState();
    const changed = hs.term !== stored.term || hs.vote !== stored.vote;
    return { hardState: changed || rd.snapshot ? hs : undefined, entries: rd.entries, snapshot: rd.snapshot };
  }

  #finishReady(rd: Ready): void {
    if (rd.softState) this.#onSoftState(rd.softState.lead, rd.softState.raftState);
    if (rd.snapshot && rd.snapshot.metadata.index > this.#applied) {
      this.#applier.restore(this.#receivedStates.get(rd.snapshot.data) ?? decodeSnapshot(rd.snapshot.data), rd.snapshot.metadata.index);
      this.#confState = rd.snapshot.metadata.confState;
      this.#log.info("installed a snapshot from the leader", { index: this.#applied });
      this.#membership.syncPeers();
    }
    for (const e of rd.committedEntries) {
      this.#applyEntry(e);
      if (this.#removed) return;
    }
    for (const rs of rd.readStates) this.#reads.onReadState(rs.index, rs.requestCtx);
    this.#raw.advance(rd);
    this.#reads.release(this.#applied);
    if (this.#membership.needPublish && this.#lead === this.#id.memberId && this.#applied >= this.#storage.lastIndex()) {
      this.#membership.publishBootstrap();
    }
  }

  #onSoftState(lead: NodeId, state: string): void {
    if (lead !== this.#lead && lead === this.#id.memberId) {
      this.#leaderSince = new Date(this.clock.nowMs()).toISOString();
      this.#leaderFirstIndex = this.#raw.basicStatus().lastIndex;
      this.#traffic.resetFollowers();
    }
    if (lead !== this.#lead) this.#log.info("leader changed", { leader: lead || "none", term: this.#raw.term });
    if (lead !== "") this.#heardFromLeader = true;
    if (lead !== this.#lead) this.#reads.onLeaderChange();
    this.#lead = lead;
    this.#raftState = state;
    if (state !== StateType.Leader) this.#duePending.clear();
  }

  #applyEntry(e: Entry): void {
    const applied = this.#applier.apply(e, this.#proposals.ownEnvelope(e.data));
    if (applied.kind === "conf-change") {
      this.#applyConfChange(e, applied.confChange, applied.change.type);
    } else if (applied.kind === "command" && applied.envelope.proposer === this.#id.memberId) {
      this.#proposals.answer(applied.envelope.requestId, applied.result);
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
    this.#membership.syncPeers();
    // A member added once the log has been compacted can only start from a snapshot, and the Raft
    // core sends the newest stored one: it must already list the new member, or the member refuses
    // it forever (etcd builds a fresh snapshot per send for the same reason).
    if (this.#storage.firstIndex() > 1) this.#snapshots.markDue();
    this.#membership.onConfChangeApplied(cc);
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

  // ---------------- a full disk ----------------

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
    this.#proposals.rejectNotDurable(this.#raw.unstableEntries(), this.#storage.lastIndex(), err);
    this.#reads.failRounds(err);
    // Everything applied is durable and committed; the core may start from there.
    this.#storage.noteCommit(Math.min(this.#raw.commitIndex, this.#storage.lastIndex()));
    this.#raw = new RawNode({ ...this.#rawConfig, applied: this.#applied });
    this.#onSoftState("", StateType.Follower);
    this.#duePending.clear();
  }

  /** While the disk is full: try again to become leader, which writes the new term and an entry. */
  #retryAfterDiskFull(): void {
    if (this.single) this.#raw.campaign();
    this.#process();
  }

  // ---------------- timers: deadlines, due commands, snapshots ----------------

  #housekeeping(): void {
    if (this.#stopped) return;
    const now = Date.now();
    this.#logBytes = this.#storage.bytesOnDisk();
    this.#proposals.expire(now);
    this.#membership.expire(now);
    this.#reads.expire(now);
    // The leader alone proposes what time makes due (e.g. a TTL's expiry); each entry carries the
    // proposing member's clock. A projection is asked again once its last due commands were applied or failed.
    if (this.#lead === this.#id.memberId && !this.#diskFull) {
      for (const { projection, commands } of this.#applier.due(this.clock.nowMs())) {
        if (this.#duePending.has(projection)) continue;
        this.#duePending.add(projection);
        const done = () => this.#duePending.delete(projection);
        Promise.all(commands.map((c) => this.propose(c))).then(done, done);
      }
    }
    this.#membership.publishAttributes(this.single);
    if (this.#diskFull) this.#retryAfterDiskFull();
  }

  /** Takes a snapshot when the policy (snapshot_policy.ts) says so; runs on every loop turn. */
  #maybeSnapshot(): void {
    const snapIndex = this.#storage.snapshotMeta().index;
    const now = performance.now();
    if (!this.#snapshots.shouldSnapshot(this.#applied, snapIndex, this.#confState.voters, now)) return;
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
        this.#snapshots.skipped(performance.now());
        return;
      }
      throw e;
    }
    const costMs = performance.now() - now;
    this.#snapshots.taken(costMs, performance.now());
    this.#log.info("snapshot", {
      index: this.#applied,
      bytes: data.length,
      ms: Math.round(costMs),
      encodeMs: Math.round(encodedMs - now),
    });
  }

  /**
   * The hard state as it may be written outside a Ready: the commit index capped at the stored log
   * (after a failed batch the core may know of commits beyond what this member holds, and a hard
   * state past the log would not start again). Everything applied is below both.
   */
  #storableHardState(): HardState {
    const hs = this.#raw.hardState();
    return { ...hs, commit: Math.min(hs.commit, this.#storage.lastIndex()) };
  }

  #fatal(e: Error): void {
    if (this.#stopped) return;
    const err = e instanceof CorruptEntryError ? withRepairHint(e, this.#cfg.dataDir, this.#confState.voters.length > 1) : e;
    this.#log.error("fatal", { error: err.message, stack: e.stack });
    this.stop();
    this.#onFatal(err);
  }
}
