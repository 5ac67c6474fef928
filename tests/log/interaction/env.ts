// The interaction-test environment: a set of RawNodes over MemoryStorage driven one command at a
// time by a datadriven script, after etcd-io/raft's rafttest/interaction_env*.go. Messages queue
// in one list until a script delivers (or drops) them; Readys are handled only when a script says
// so (process-ready, stabilize). Ready handling is the node/ driver contract in synchronous mode:
// persist (hard state, snapshot, entries), apply committed entries (conf changes through
// applyConfChange), queue the messages, then advance. Must not decide anything for the core:
// every behaviour shown comes from RawNode; this file only drives it and prints what it does.

import type { NodeId } from "../../../internal/brand.ts";
import { createPrng } from "../../../internal/prng.ts";
import { decodeConfChange, encodeConfChange } from "../../../log/conf_change.ts";
import { MemoryStorage } from "../../../log/memory_storage.ts";
import { ProposalDroppedError, type RaftConfig } from "../../../log/raft.ts";
import { RawNode } from "../../../log/raw_node.ts";
import { ReadOnlyOption } from "../../../log/read_only.ts";
import {
  CompactedError,
  type InitialState,
  type LogStorage,
  SnapshotOutOfDateError,
  UnavailableError,
} from "../../../log/storage.ts";
import { type ConfState, type Entry, EntryType, type Message, MessageType, type Snapshot } from "../../../log/types.ts";
import { type CmdArg, type Directive, parseLine, ScriptSyntaxError } from "./datadriven.ts";
import {
  dec,
  describeEntries,
  describeMessage,
  describeProgressMap,
  describeReady,
  parseConfChange,
} from "./describe.ts";
import { instrument, LEVELS, type Level, logNewRaft, Output } from "./trace.ts";

/** An error a command reports in its output (etcd's handlers return these as `error`). */
export class CommandError extends Error {
  override name = "CommandError";
}

export interface Node {
  readonly id: NodeId;
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
  /**
   * The state machine: one snapshot per applied entry, whose data appends the entry's data
   * (rafttest's "appender"). The storage hands out the latest one when the leader needs a snapshot.
   */
  readonly history: Snapshot[];
  readonly electionTick: number;
  readonly heartbeatTick: number;
}

const EMPTY = new Uint8Array(0);
const EMPTY_CONF: ConfState = { voters: [], learners: [] };

/**
 * MemoryStorage, except that snapshot() returns the node's latest applied state, as rafttest's
 * snapOverrideStorage does: a compaction then never leaves the leader without a snapshot to send.
 */
class HarnessStorage implements LogStorage {
  readonly #mem: MemoryStorage;
  readonly #history: Snapshot[];
  constructor(mem: MemoryStorage, history: Snapshot[]) {
    this.#mem = mem;
    this.#history = history;
  }
  initialState(): InitialState {
    return this.#mem.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.#mem.entries(lo, hi, maxBytes);
  }
  term(i: number): number {
    return this.#mem.term(i);
  }
  firstIndex(): number {
    return this.#mem.firstIndex();
  }
  lastIndex(): number {
    return this.#mem.lastIndex();
  }
  snapshot(): Snapshot {
    return this.#history[this.#history.length - 1];
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

function intArg(a: CmdArg | undefined, what: string): number {
  if (a === undefined || a.vals.length !== 0 || !/^\d+$/.test(a.key)) {
    throw new ScriptSyntaxError(`expected ${what}, got ${a === undefined ? "nothing" : a.key}`);
  }
  return Number(a.key);
}

function boolVal(v: string): boolean {
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ScriptSyntaxError(`expected true or false, got ${v}`);
}

/** The node ids (1-based positions) among the bare arguments. */
function nodeArgs(args: readonly CmdArg[]): number[] {
  return args.filter((a) => a.vals.length === 0).map((a) => intArg(a, "a node number"));
}

export class InteractionEnv {
  readonly nodes: Node[] = [];
  /** Messages in flight, in the order they were sent. */
  messages: Message[] = [];
  readonly out = new Output();

  /** Runs one directive and returns its output ("ok" when it printed nothing), like rafttest's Handle. */
  handle(d: Directive): string {
    this.out.take();
    let err: string | undefined;
    try {
      if (d.cmd === "propose-conf-change") this.#proposeConfChange(d);
      else err = this.#multi(d);
    } catch (e) {
      err = reported(e);
    }
    if (err !== undefined) {
      if (this.out.quiet()) return err;
      this.out.write(err + "\n");
    }
    const s = this.out.take();
    return s === "" ? "ok" : s;
  }

  /** The command line, then each input line as one more command. Returns the error that stopped it. */
  #multi(d: Directive): string | undefined {
    this.#single(d.cmd, d.args);
    for (const line of d.input) {
      if (line.trim() === "") continue;
      const { cmd, args } = parseLine(line);
      try {
        this.#single(cmd, args);
      } catch (e) {
        const err = reported(e);
        if (this.out.quiet()) return err;
        this.out.write(err + "\n");
      }
    }
    return undefined;
  }

  #single(cmd: string, args: readonly CmdArg[]): void {
    switch (cmd) {
      case "_breakpoint":
        return;
      case "add-nodes":
        return this.#addNodes(args);
      case "campaign":
        return this.#node(args).raw.campaign();
      case "compact":
        return this.#compact(args);
      case "deliver-msgs":
        return this.#deliverMsgs(args);
      case "process-ready":
        return this.#processReadyCmd(args);
      case "log-level":
        return this.#logLevel(args[0]?.key ?? "");
      case "raft-log":
        return this.#raftLog(this.#node(args));
      case "raft-state":
        return this.#raftState();
      case "set-randomized-election-timeout": {
        const n = this.#node(args);
        const t = args.find((a) => a.key === "timeout");
        if (t === undefined || t.vals.length !== 1) throw new ScriptSyntaxError("timeout=<n> is required");
        n.raw.raft.randomizedElectionTimeout = Number(t.vals[0]);
        return;
      }
      case "stabilize":
        return this.#stabilizeCmd(args);
      case "status":
        return this.#status(this.#node(args));
      case "tick-election": {
        const n = this.#node(args);
        for (let i = 0; i < n.electionTick; i++) n.raw.tick();
        return;
      }
      case "tick": {
        const n = this.#node(args);
        const count = intArg(args[1], "the number of ticks");
        for (let i = 0; i < count; i++) n.raw.tick();
        return;
      }
      case "tick-heartbeat": {
        const n = this.#node(args);
        for (let i = 0; i < n.heartbeatTick; i++) n.raw.tick();
        return;
      }
      case "transfer-leadership": {
        const get = (k: string): Node => {
          const a = args.find((x) => x.key === k);
          if (a === undefined || a.vals.length !== 1) throw new ScriptSyntaxError(`${k}=<node> is required`);
          return this.#nodeAt(Number(a.vals[0]));
        };
        const from = get("from");
        from.raw.transferLeader(get("to").id);
        return;
      }
      case "forget-leader":
        throw new CommandError("forget-leader: not supported by this Raft core (no MsgForgetLeader)");
      case "send-snapshot":
        return this.#sendSnapshot(args);
      case "propose": {
        const n = this.#node(args);
        if (args.length !== 2 || args[1].vals.length > 0) throw new ScriptSyntaxError("propose <node> <data>");
        n.raw.propose(new TextEncoder().encode(args[1].key));
        return;
      }
      case "report-unreachable": {
        const ids = nodeArgs(args);
        if (ids.length !== 2) throw new CommandError("must specify exactly two node indexes: node on which to report, and reported node");
        this.#nodeAt(ids[0]).raw.reportUnreachable(this.#nodeAt(ids[1]).id);
        return;
      }
      default:
        throw new CommandError("unknown command");
    }
  }

  #nodeAt(n: number): Node {
    const node = this.nodes[n - 1];
    if (node === undefined) throw new ScriptSyntaxError(`no node ${n} (there are ${this.nodes.length})`);
    return node;
  }

  #node(args: readonly CmdArg[]): Node {
    return this.#nodeAt(intArg(args[0], "a node number"));
  }

  // ---- add-nodes ------------------------------------------------------------------------------

  #addNodes(args: readonly CmdArg[]): void {
    const count = intArg(args[0], "the number of nodes to add");
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    let index = 0;
    let content = EMPTY;
    let electionTick = 3;
    let heartbeatTick = 1;
    const cfg: Partial<RaftConfig> = {
      // rafttest's raftConfigStub: small ticks, no limits, and etcd's defaults (no pre-vote, no
      // check-quorum) where ours differ.
      maxSizePerMsg: Infinity,
      maxInflightMsgs: 2 ** 31 - 1,
      checkQuorum: false,
      preVote: false,
    };
    const mut = cfg as { -readonly [K in keyof RaftConfig]?: RaftConfig[K] };
    for (const a of args.slice(1)) {
      for (const v of a.vals) {
        switch (a.key) {
          case "voters":
            voters.push(Number(v).toString(16));
            break;
          case "learners":
            learners.push(Number(v).toString(16));
            break;
          case "election-tick":
            electionTick = Number(v);
            break;
          case "heartbeat-tick":
            heartbeatTick = Number(v);
            break;
          case "inflight":
            mut.maxInflightMsgs = Number(v);
            break;
          case "index":
            index = Number(v);
            break;
          case "content":
            content = new TextEncoder().encode(v);
            break;
          case "prevote":
            mut.preVote = boolVal(v);
            break;
          case "checkquorum":
            mut.checkQuorum = boolVal(v);
            break;
          case "max-committed-size-per-ready":
            mut.maxCommittedSizePerReady = Number(v);
            break;
          case "read-only":
            if (v === "safe") mut.readOnlyOption = ReadOnlyOption.Safe;
            else if (v === "lease-based") mut.readOnlyOption = ReadOnlyOption.LeaseBased;
            else throw new CommandError(`invalid read-only option "${v}"`);
            break;
          case "async-storage-writes":
            if (boolVal(v)) throw new CommandError("async-storage-writes: not supported by this Raft core");
            break;
          case "disable-conf-change-validation":
            if (boolVal(v)) throw new CommandError("disable-conf-change-validation: not supported by this Raft core");
            break;
          default:
            throw new ScriptSyntaxError(`add-nodes: unknown argument ${a.key}`);
        }
      }
    }
    const bootstrap = index > 0 || voters.length > 0 || learners.length > 0 || content.byteLength > 0;
    if (bootstrap && index <= 1) throw new CommandError("index must be specified as > 1 due to bootstrap");
    for (let i = 0; i < count; i++) {
      const id = (this.nodes.length + 1).toString(16);
      const mem = new MemoryStorage();
      const snap: Snapshot = {
        metadata: { index: bootstrap ? index : 0, term: bootstrap ? 1 : 0, confState: { voters, learners } },
        data: content,
      };
      if (bootstrap) mem.applySnapshot(snap);
      const history: Snapshot[] = [bootstrap ? snap : { metadata: { index: 0, term: 0, confState: EMPTY_CONF }, data: EMPTY }];
      const raw = new RawNode({
        electionTick,
        heartbeatTick,
        ...cfg,
        id,
        storage: new HarnessStorage(mem, history),
        applied: bootstrap ? index : undefined,
        prng: createPrng(this.nodes.length + 1),
      });
      logNewRaft(raw.raft, this.out);
      instrument(raw.raft, this.out);
      this.nodes.push({ id, raw, storage: mem, history, electionTick, heartbeatTick });
    }
  }

  // ---- Ready handling -------------------------------------------------------------------------

  #processReadyCmd(args: readonly CmdArg[]): void {
    const ids = nodeArgs(args);
    for (const n of ids) {
      if (ids.length > 1) {
        this.out.write(`> ${n} handling Ready\n`);
        this.out.withIndent(() => this.processReady(this.#nodeAt(n)));
      } else {
        this.processReady(this.#nodeAt(n));
      }
    }
  }

  /** One Ready: describe it, persist, apply, queue the messages, advance. */
  processReady(n: Node): void {
    const rd = n.raw.ready();
    this.out.write(describeReady(rd));
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    if (rd.snapshot !== undefined) {
      if (rd.entries.length > 0) throw new CommandError("can't apply snapshot and entries at the same time");
      n.storage.applySnapshot(rd.snapshot);
      // The snapshot replaces the state machine.
      n.history.push(rd.snapshot);
    }
    n.storage.append(rd.entries);
    for (const e of rd.committedEntries) this.#apply(n, e);
    for (const m of rd.messages) this.messages.push(m);
    n.raw.advance(rd);
  }

  #apply(n: Node, e: Entry): void {
    const last = n.history[n.history.length - 1];
    let update = e.data;
    let cs = last.metadata.confState;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      update = cc.context;
      cs = n.raw.applyConfChange(cc);
    }
    n.history.push({ metadata: { index: e.index, term: e.term, confState: cs }, data: concat(last.data, update) });
  }

  #stabilizeCmd(args: readonly CmdArg[]): void {
    const ids = nodeArgs(args);
    const lvlArg = args.find((a) => a.key === "log-level");
    const old = this.out.lvl;
    if (lvlArg !== undefined) this.#logLevel(lvlArg.vals[0] ?? "");
    try {
      this.stabilize(ids.length > 0 ? ids.map((i) => this.#nodeAt(i)) : this.nodes);
    } finally {
      this.out.lvl = old;
    }
  }

  /** Handles Readys and delivers messages among `nodes` until nothing moves. */
  stabilize(nodes: readonly Node[]): void {
    for (let round = 0; ; round++) {
      if (round > 10_000) throw new Error("stabilize: no fixed point after 10000 rounds");
      let done = true;
      for (const n of nodes) {
        if (!n.raw.hasReady()) continue;
        this.out.write(`> ${dec(n.id)} handling Ready\n`);
        this.out.withIndent(() => this.processReady(n));
        done = false;
      }
      for (const n of nodes) {
        if (!this.messages.some((m) => m.to === n.id)) continue;
        this.out.write(`> ${dec(n.id)} receiving messages\n`);
        this.out.withIndent(() => this.deliverMsgs(undefined, [{ id: n.id, drop: false }]));
        done = false;
      }
      if (done) return;
    }
  }

  // ---- messages -------------------------------------------------------------------------------

  #deliverMsgs(args: readonly CmdArg[]): void {
    let type: string | undefined;
    const rs: Array<{ id: NodeId; drop: boolean }> = [];
    for (const a of args) {
      if (a.vals.length === 0) rs.push({ id: this.#nodeAt(intArg(a, "a node number")).id, drop: false });
      for (const v of a.vals) {
        if (a.key === "drop") {
          const id = Number(v).toString(16);
          if (rs.some((r) => r.id === id)) throw new ScriptSyntaxError(`can't both deliver and drop msgs to ${v}`);
          rs.push({ id, drop: true });
        } else if (a.key === "type") {
          if (!(Object.values(MessageType) as string[]).includes(v)) throw new ScriptSyntaxError(`unknown message type ${v}`);
          type = v;
        } else {
          throw new ScriptSyntaxError(`deliver-msgs: unknown argument ${a.key}`);
        }
      }
    }
    if (this.deliverMsgs(type, rs) === 0) this.out.write("no messages\n");
  }

  /** Delivers (or drops) the queued messages of `type` (all if undefined) to each recipient in turn. */
  deliverMsgs(type: string | undefined, rs: ReadonlyArray<{ id: NodeId; drop: boolean }>): number {
    let count = 0;
    for (const r of rs) {
      const msgs: Message[] = [];
      const rest: Message[] = [];
      for (const m of this.messages) {
        if (m.to === r.id && (type === undefined || m.type === type)) msgs.push(m);
        else rest.push(m);
      }
      this.messages = rest;
      count += msgs.length;
      for (const m of msgs) {
        this.out.write((r.drop ? "dropped: " : "") + describeMessage(m) + "\n");
        if (r.drop) continue;
        const to = this.nodes.find((n) => n.id === m.to);
        if (to === undefined) throw new CommandError(`message to ${m.to}, which is not a node`);
        const err = to.raw.step(m);
        if (err !== null) this.out.write(proposalDropped(err) + "\n");
      }
    }
    return count;
  }

  #sendSnapshot(args: readonly CmdArg[]): void {
    const ids = nodeArgs(args);
    if (ids.length !== 2) throw new ScriptSyntaxError("send-snapshot <from> <to>");
    const from = this.#nodeAt(ids[0]);
    const to = this.#nodeAt(ids[1]);
    const m: Message = {
      type: MessageType.Snap, to: to.id, from: from.id, term: from.raw.raft.term, logTerm: 0, index: 0,
      entries: [], commit: 0, reject: false, rejectHint: 0, snapshot: from.history[from.history.length - 1],
      context: undefined,
    };
    this.messages.push(m);
    this.out.write(describeMessage(m) + "\n");
  }

  // ---- the rest -------------------------------------------------------------------------------

  #proposeConfChange(d: Directive): void {
    const n = this.#node(d.args);
    let v1 = false;
    for (const a of d.args.slice(1)) {
      for (const v of a.vals) {
        if (a.key === "v1") v1 = boolVal(v);
        else if (a.key === "transition") throw new CommandError("joint consensus (ConfChangeV2 transitions): not supported by this Raft core");
        else throw new CommandError(`unknown command ${a.key}`);
      }
    }
    const toks = d.input.join(" ").split(/\s+/).filter((t) => t !== "");
    const ccs = toks.map((t) => {
      const cc = parseConfChange(t);
      if (cc === undefined) throw new CommandError(`unknown conf change ${t}`);
      return cc;
    });
    if (ccs.length !== 1) {
      throw new CommandError(v1 ? "v1 conf change can only have one operation and no transition"
        : "joint consensus (several changes in one ConfChangeV2): not supported by this Raft core");
    }
    if (!v1) throw new CommandError("ConfChangeV2 is not supported by this Raft core: use v1=true");
    // Round-trip through the entry encoding, so an unencodable change fails here, not in the core.
    n.raw.proposeConfChange(decodeConfChange(encodeConfChange(ccs[0])));
  }

  #compact(args: readonly CmdArg[]): void {
    const n = this.#node(args);
    n.storage.compact(intArg(args[1], "the index to compact to"));
    this.#raftLog(n);
  }

  #raftLog(n: Node): void {
    const fi = n.storage.firstIndex();
    const li = n.storage.lastIndex();
    if (li < fi) {
      this.out.write(`log is empty: first index=${fi}, last index=${li}`);
      return;
    }
    this.out.write(describeEntries(n.storage.entries(fi, li + 1, Infinity)));
  }

  #raftState(): void {
    for (const n of this.nodes) {
      const r = n.raw.raft;
      const voter = r.trk.isVoter(r.id) ? "(Voter)" : "(Non-Voter)";
      this.out.write(`${dec(r.id)}: ${r.state} ${voter} Term:${r.term} Lead:${dec(r.lead)}\n`);
    }
  }

  #status(n: Node): void {
    // Status() has progress only on the leader; etcd prints the map, empty elsewhere.
    const r = n.raw.raft;
    if (r.state === "StateLeader") this.out.write(describeProgressMap(r.trk));
  }

  #logLevel(name: string): void {
    const i = LEVELS.findIndex((l) => l.toLowerCase() === name.toLowerCase());
    if (i < 0) throw new CommandError(`log levels must be either of [${LEVELS.join(" ")}]`);
    this.out.lvl = i as Level;
  }
}

function proposalDropped(err: ProposalDroppedError): string {
  return `raft proposal dropped: ${err.message}`;
}

/**
 * The text of an error a command prints instead of failing the script (etcd's handlers return
 * these); anything else (a broken invariant in the core, a script typo) is rethrown.
 */
function reported(e: unknown): string {
  if (e instanceof ProposalDroppedError) return proposalDropped(e);
  if (e instanceof CommandError || e instanceof CompactedError || e instanceof SnapshotOutOfDateError ||
    e instanceof UnavailableError) return e.message;
  throw e;
}
