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
import { checkEnvelope, CorruptEntryError, type Envelope } from "../log/codec.ts";
import { decodeEntry, encodeEntry } from "../projections/entry.ts";
import { decodeConfChange } from "../log/conf_change.ts";
import { RawNode } from "../log/raw_node.ts";
import type { RaftConfig } from "../log/raft.ts";
import { type ConfState, type HardState, EntryType, type Entry, type Ready, StateType } from "../log/types.ts";
import type { ApiDeps, KvEventSink, MemberInfo, RaftStatus } from "../api/deps.ts";
import { NodeError } from "../api/deps.ts";
import { applyCommand, createStates, type States } from "../projections/apply.ts";
import type { Command } from "../projections/command.ts";
import { kvBootstrapCommands, type KvResult, type KvState, kvNextExpirationMs } from "../projections/kv.ts";
import { decodeSnapshot, encodeSnapshot } from "../projections/snapshot.ts";
import type { Config } from "./config.ts";
import { clusterIdFor, memberIdFor } from "./ids.ts";
import type { Logger } from "./logger.ts";
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

/** The state a data dir's metadata records about this member and its cluster. */
interface Identity {
  memberId: NodeId;
  clusterId: string;
  members: MemberInfo[];
}

export interface NodeOptions {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Called when the node cannot go on (a storage failure other than a full disk): the process must exit. */
  readonly onFatal: (err: Error) => void;
}

/** A member of a coreplane cluster: the Raft node, its durable log and its projections. */
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
  #states: States;
  #applied: Index;
  #confState: ConfState;
  #lead: NodeId = "";
  #raftState: string = StateType.Follower;
  #leaderSince = "";
  readonly #startTime = new Date().toISOString();
  #requestSeq = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #sinks: KvEventSink[] = [];
  #readWaiters: ReadWaiter[] = [];
  readonly #readBatches = new Map<string, ReadWaiter[]>();
  #readSeq = 0;
  readonly #readIndexWaits: { index: Index; waiters: ReadWaiter[] }[] = [];
  #scheduled = false;
  #processing = false;
  /** Set while the disk is full: writes are refused at once, and the core restarts from disk on each retry. */
  #diskFull = false;
  #diskFullMessage = "";
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  #lastSnapshotMs = 0;
  #lastSnapshotCostMs = 0;
  #expireProposed = false;
  #needPublish = false;
  #logBytes = 0;
  readonly #ownEnvelopes = new WeakMap<Uint8Array, Envelope<Command>>();
  /** The index of the empty entry this member appended when it became leader. */
  #leaderFirstIndex = 0;

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
    this.#storage = storage;
    this.#raw = raw;
    this.#id = id;
    this.#states = states;
    this.#applied = applied;
    this.#confState = conf;
  }

  /**
   * Opens the data dir, restores the newest snapshot, replays the committed tail, becomes leader
   * if it is the only voter, and resolves once it has applied everything committed before start.
   */
  static async start(opts: NodeOptions): Promise<Node> {
    const { config: cfg, runtime, logger } = opts;
    const storage = await SqliteStorage.open(runtime, cfg.dataDir);
    const fresh = storage.lastIndex() === 0 && storage.hardState().term === 0 && storage.snapshotMeta().index === 0;
    let id: Identity;
    if (fresh) {
      if (cfg.initialClusterState === "existing") {
        storage.close();
        throw new Error(`--initial-cluster-state existing: joining a running cluster is not supported yet; start with --initial-cluster-state new`);
      }
      const members: MemberInfo[] = [...cfg.initialCluster.entries()].map(([name, peers]) => ({
        id: memberIdFor(peers, cfg.initialClusterToken),
        name: name === cfg.name ? name : "",
        peerURLs: peers,
        clientURLs: name === cfg.name ? cfg.advertiseClientUrls : [],
      }));
      const memberId = memberIdFor(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
      id = { memberId, clusterId: clusterIdFor(members.map((m) => m.id)), members };
      storage.putMeta("identity", JSON.stringify(id));
    } else {
      const raw = storage.getMeta("identity");
      if (!raw) {
        storage.close();
        throw new Error(`${cfg.dataDir} holds a log but no member identity; it was not written by coreplane serve`);
      }
      id = JSON.parse(raw) as Identity;
      const want = memberIdFor(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
      if (want !== id.memberId) {
        logger.warn("peer URLs differ from those this data dir was created with; keeping the stored member id", {
          stored: id.memberId,
          flags: want,
        });
      }
      // Client URLs are advertised from the flags of this start, as etcd republishes them.
      id.members = id.members.map((m) => (m.id === id.memberId ? { ...m, name: cfg.name, clientURLs: cfg.advertiseClientUrls } : m));
    }

    // Restore: newest snapshot, then the Ready loop replays (snapshot, commit]. Every record it
    // will read is checked first, so a corrupt one stops the start with its index named.
    const snap = storage.snapshotMeta();
    for (const e of storage.iterate(snap.index + 1, storage.lastIndex())) {
      try {
        if (e.type !== EntryType.ConfChange) checkEnvelope(e.data, e.index);
      } catch (err) {
        storage.close();
        throw withRepairHint(err as CorruptEntryError, cfg.dataDir);
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
    if (fresh) raw.bootstrap(id.members.map((m) => m.id));
    const node = new Node(opts, storage, rawConfig, raw, id, states, snap.index, storage.initialState().confState);
    node.#needPublish = fresh;
    node.#logBytes = storage.bytesOnDisk();
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
    });
    return node;
  }

  /** Resolves when this member leads (a single member elects itself at once). */
  async waitForLeader(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    // A leader serves once it has applied the entry of its own term: everything before it is then applied too.
    while (this.#lead === "" || (this.#lead === this.#id.memberId && (this.#needPublish || this.#applied < this.#leaderFirstIndex))) {
      if (Date.now() > until) throw new NodeError("node/no-leader", "no leader was elected in time");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // ---------------- ApiDeps ----------------

  kvState(): KvState {
    return this.#states.kv as KvState;
  }

  subscribe(sink: KvEventSink): void {
    this.#sinks.push(sink);
  }

  propose(command: Command): Promise<unknown> {
    if (this.#stopped) return Promise.reject(new NodeError("node/stopped", "etcdserver: server stopped"));
    if (this.#diskFull) return Promise.reject(new NodeError("node/disk-full", this.#diskFullMessage));
    if (this.#pending.size >= limits.pendingProposalsMax) {
      return Promise.reject(new NodeError("node/busy", "etcdserver: too many requests"));
    }
    if (this.#lead === "") return Promise.reject(new NodeError("node/no-leader", "etcdserver: no leader"));
    const requestId = ++this.#requestSeq;
    const env: Envelope<Command> = { timeMs: this.clock.nowMs(), proposer: this.#id.memberId, requestId, command };
    const data = encodeEntry(env);
    // The core hands the same bytes back when the entry commits (it never copies entry data), so
    // the member that encoded them skips decoding them; the bytes are what replay will decode.
    this.#ownEnvelopes.set(data, env);
    return new Promise((resolve, reject) => {
      try {
        this.#raw.propose(data);
      } catch (e) {
        reject(new NodeError("node/no-leader", `etcdserver: proposal dropped (${(e as Error).message})`));
        return;
      }
      this.#pending.set(requestId, { resolve, reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#schedule();
    });
  }

  linearizableRead(): Promise<void> {
    if (this.#stopped) return Promise.reject(new NodeError("node/stopped", "etcdserver: server stopped"));
    return new Promise((resolve, reject) => {
      this.#readWaiters.push({ resolve, reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#schedule();
    });
  }

  /** Cheap: the api reads it for every reply's X-Raft-* headers. The on-disk size is refreshed by housekeeping. */
  status(): RaftStatus {
    const r = this.#raw.raft;
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
      recvAppendRequestCnt: 0,
      sendAppendRequestCnt: 0,
    };
  }

  members(): readonly MemberInfo[] {
    return this.#id.members;
  }

  /** Stops timers, fails waiting requests, checkpoints and closes the log. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    const err = new NodeError("node/stopped", "etcdserver: server stopped");
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    for (const w of this.#readWaiters) w.reject(err);
    this.#readWaiters = [];
    try {
      this.#storage.save({ hardState: this.#currentHardState(), entries: [] });
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
    this.#raw.tick();
    this.#process();
  }

  #process(): void {
    if (this.#processing || this.#stopped) return;
    this.#processing = true;
    try {
      this.#issueReadIndex();
      let rounds = 0;
      while (this.#raw.hasReady() && !this.#stopped) {
        const rd = this.#raw.ready();
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
        this.#finishReady(rd);
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
    return { hardState: changed ? hs : undefined, entries: rd.entries, snapshot: rd.snapshot };
  }

  #wrote(): void {
    if (this.#diskFull) {
      this.#log.info("the disk has room again; writes resume");
      this.#diskFull = false;
      this.#diskFullMessage = "";
    }
  }

  /**
   * The batch could not be written: its entries exist only in the core's memory. Drop them the
   * way a crash would, by restarting the core from what is durable, so that a write refused
   * here is truly never applied later. Waiting writes are told so; new ones are refused at once
   * until a retry (housekeeping, every 500 ms) can write again.
   */
  #onDiskFull(se: StorageError): void {
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
    for (const ws of this.#readBatches.values()) for (const w of ws) w.reject(err);
    this.#readBatches.clear();
    for (const x of this.#readIndexWaits.splice(0)) for (const w of x.waiters) w.reject(err);
    // Everything applied is durable and committed; the core may start from there.
    this.#storage.noteCommit(Math.min(this.#raw.raft.raftLog.committed, this.#storage.lastIndex()));
    this.#raw = new RawNode({ ...this.#rawConfig, applied: this.#applied });
    this.#onSoftState("", StateType.Follower);
    this.#expireProposed = false;
  }

  /** While the disk is full: try again to become leader, which writes the new term and an entry. */
  #retryAfterDiskFull(): void {
    if (this.#confState.voters.length === 1 && this.#confState.voters[0] === this.#id.memberId) this.#raw.campaign();
    this.#process();
  }

  #finishReady(rd: Ready): void {
    if (rd.softState) this.#onSoftState(rd.softState.lead, rd.softState.raftState);
    if (rd.snapshot && rd.snapshot.metadata.index > this.#applied) {
      this.#states = decodeSnapshot(rd.snapshot.data);
      this.#applied = rd.snapshot.metadata.index;
      this.#confState = rd.snapshot.metadata.confState;
    }
    // Messages to other members need the peer transport of the cluster issue; one member sends none.
    for (const e of rd.committedEntries) this.#applyEntry(e);
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
    }
    if (lead !== this.#lead) this.#log.info("leader changed", { leader: lead || "none", term: this.#raw.raft.term });
    this.#lead = lead;
    this.#raftState = state;
  }

  #applyEntry(e: Entry): void {
    assert(e.index === this.#applied + 1, `apply ${e.index} after ${this.#applied}`);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.#confState = this.#raw.applyConfChange(cc);
      this.#storage.setConfState(this.#confState);
    } else if (e.data.length > 0) {
      const env = this.#ownEnvelopes.get(e.data) ?? decodeEntry(e.data, e.index);
      const result = applyCommand(this.#states, env.command, { index: e.index, term: e.term, timeMs: env.timeMs });
      if ((env.command as { type: string }).type.startsWith("kv/")) {
        for (const s of this.#sinks) s.onKvResult(result as KvResult);
        if ((env.command as { type: string }).type === "kv/expire") this.#expireProposed = false;
      }
      if (env.proposer === this.#id.memberId) {
        const p = this.#pending.get(env.requestId);
        if (p) {
          this.#pending.delete(env.requestId);
          p.resolve(result);
        }
      }
    }
    this.#applied = e.index;
  }

  /** A new cluster records its member and version in the "/0" namespace, as etcd does (indices 1-3). */
  #publish(): void {
    this.#needPublish = false;
    const me = this.#id.members.find((m) => m.id === this.#id.memberId)!;
    for (const c of kvBootstrapCommands(me.id, me.name, me.peerURLs as string[], me.clientURLs as string[])) {
      this.propose(c).catch((e) => this.#log.warn("publishing member attributes failed", { error: (e as Error).message }));
    }
  }

  // ---------------- linearizable reads (read index, batched) ----------------

  #issueReadIndex(): void {
    if (this.#readWaiters.length === 0 || this.#lead === "") return;
    const ctx = String(++this.#readSeq);
    this.#readBatches.set(ctx, this.#readWaiters);
    this.#readWaiters = [];
    this.#raw.readIndex(new TextEncoder().encode(ctx));
  }

  #onReadState(index: Index, ctxBytes: Uint8Array): void {
    const ctx = new TextDecoder().decode(ctxBytes);
    const waiters = this.#readBatches.get(ctx);
    if (!waiters) return;
    this.#readBatches.delete(ctx);
    this.#readIndexWaits.push({ index, waiters });
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
    const timedOut = (ws: ReadWaiter[]) => {
      const keep: ReadWaiter[] = [];
      for (const w of ws) {
        if (w.deadlineMs <= now) w.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
        else keep.push(w);
      }
      return keep;
    };
    for (const [ctx, ws] of this.#readBatches) {
      const keep = timedOut(ws);
      if (keep.length === 0) this.#readBatches.delete(ctx);
      else this.#readBatches.set(ctx, keep);
    }
    // The leader alone expires TTL keys, by proposing kv/expire with its clock in the entry.
    if (this.#lead === this.#id.memberId && !this.#expireProposed && !this.#diskFull) {
      const next = kvNextExpirationMs(this.kvState());
      if (next !== undefined && next <= this.clock.nowMs()) {
        this.#expireProposed = true;
        this.propose({ type: "kv/expire" }).catch(() => {
          this.#expireProposed = false;
        });
      }
    }
    if (this.#diskFull) this.#retryAfterDiskFull();
  }

  /**
   * Snapshots every --snapshot-count applied entries, but never spends more than about a tenth of
   * the time on it: encoding a million keys blocks the loop, so under heavy load snapshots space out.
   */
  #maybeSnapshot(): void {
    const snapIndex = this.#storage.snapshotMeta().index;
    if (this.#applied - snapIndex < this.#cfg.snapshotCount) return;
    const now = performance.now();
    if (now - this.#lastSnapshotMs < this.#lastSnapshotCostMs * 10) return;
    const data = encodeSnapshot(this.#states);
    try {
      // The commit index on disk must cover the snapshot, or a restart would see applied > committed.
      this.#storage.save({ hardState: this.#currentHardState(), entries: [] });
      this.#storage.createSnapshot(this.#applied, this.#confState, data, this.clock.nowMs());
    } catch (e) {
      if ((e as StorageError).diskFull) {
        this.#log.warn("disk full: snapshot skipped", { index: this.#applied });
        this.#lastSnapshotMs = performance.now();
        return;
      }
      throw e;
    }
    const compactTo = this.#applied - limits.catchUpEntries;
    if (compactTo > this.#storage.firstIndex()) this.#storage.compact(compactTo);
    this.#lastSnapshotCostMs = performance.now() - now;
    this.#lastSnapshotMs = performance.now();
    this.#log.info("snapshot", { index: this.#applied, bytes: data.length, ms: Math.round(this.#lastSnapshotCostMs) });
  }

  #currentHardState(): HardState {
    const r = this.#raw.raft;
    return { term: r.term, vote: r.vote, commit: r.raftLog.committed };
  }

  #fatal(e: Error): void {
    if (this.#stopped) return;
    const err = e instanceof CorruptEntryError ? withRepairHint(e, this.#cfg.dataDir) : e;
    this.#log.error("fatal", { error: err.message, stack: e.stack });
    this.stop();
    this.#onFatal(err);
  }
}

/** The message an operator needs: which entry, and the commands that get the member going again. */
export function withRepairHint(e: CorruptEntryError, dataDir: string): CorruptEntryError {
  const out = new CorruptEntryError(
    e.index,
    e.message.replace(/^log entry \d+ is corrupt: /, "") +
      `. The member cannot start on a damaged log. Inspect it with "coreplane log verify --data-dir ${dataDir}", ` +
      `then drop the damaged tail with the command verify prints, e.g. "coreplane log repair --data-dir ${dataDir} --truncate-after ${e.index - 1} --force" ` +
      `(--force because acknowledged entries after ${e.index - 1} are lost on this member; in a cluster they are copied back from the leader)`,
  );
  return out;
}
