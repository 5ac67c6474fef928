// An in-memory cluster of RawNodes for tests: each member has a MemoryStorage, and Readys are
// processed exactly as node/ will: persist (snapshot, entries, hard state), then send, then apply
// (conf changes through applyConfChange), then advance. Messages queue until deliver(); links can
// be cut or members isolated. Deterministic: every prng is seeded. Must not hold assertions.

import { createPrng } from "../../internal/prng.ts";
import type { NodeId } from "../../internal/brand.ts";
import { decodeConfChange } from "../../log/conf_change.ts";
import { MemoryStorage } from "../../log/memory_storage.ts";
import type { RaftConfig } from "../../log/raft.ts";
import { RawNode } from "../../log/raw_node.ts";
import { type ConfState, type Entry, EntryType, type Message, type ReadState, type Ready } from "../../log/types.ts";

export interface Member {
  readonly id: NodeId;
  storage: MemoryStorage;
  raw: RawNode;
  /** Data of applied normal entries, decoded as text (empty no-op entries skipped). */
  applied: string[];
  readStates: ReadState[];
  readys: Ready[];
  confState: ConfState | undefined;
}

export type Options = Partial<Omit<RaftConfig, "id" | "storage" | "prng">> & { seed?: number };

const enc = new TextEncoder();
const dec = new TextDecoder();
export const text = (s: string): Uint8Array => enc.encode(s);

export class Network {
  readonly members = new Map<NodeId, Member>();
  queue: Message[] = [];
  readonly #cut = new Set<string>();
  readonly #isolated = new Set<NodeId>();
  /** Message types dropped on every link (e.g. to starve appends). */
  readonly dropTypes = new Set<string>();
  readonly opts: Options;
  /** Every message ever sent, for assertions on traffic. */
  sent: Message[] = [];

  /** Bootstraps a new cluster of `ids` (all voters). */
  constructor(ids: readonly NodeId[], opts: Options = {}) {
    this.opts = opts;
    for (const id of ids) {
      const m = this.#create(id, new MemoryStorage());
      m.raw.bootstrap(ids);
    }
    // Persist and apply the bootstrap entries everywhere.
    for (const id of ids) this.processReady(id);
  }

  #create(id: NodeId, storage: MemoryStorage): Member {
    const seed = (this.opts.seed ?? 1) * 1000 + parseInt(id, 16);
    const raw = new RawNode({
      electionTick: 10, heartbeatTick: 1, ...this.opts, id, storage, prng: createPrng(seed),
    });
    const m: Member = { id, storage, raw, applied: [], readStates: [], readys: [], confState: undefined };
    this.members.set(id, m);
    return m;
  }

  /** Adds a brand-new, empty member (not bootstrapped), e.g. to join by conf change. */
  addEmpty(id: NodeId): Member {
    return this.#create(id, new MemoryStorage());
  }

  /** Restarts a member from its storage (volatile state lost), as after a crash. */
  restart(id: NodeId): Member {
    const old = this.m(id);
    const storage = old.storage;
    const m = this.#create(id, storage);
    m.applied = old.applied;
    return m;
  }

  m(id: NodeId): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  raw(id: NodeId): RawNode {
    return this.m(id).raw;
  }

  /** Processes one Ready of `id` if there is one. Returns whether there was. */
  processReady(id: NodeId): boolean {
    const m = this.m(id);
    if (!m.raw.hasReady()) return false;
    const rd = m.raw.ready();
    m.readys.push(rd);
    // 1. persist
    if (rd.snapshot !== undefined) {
      m.storage.applySnapshot(rd.snapshot);
      m.applied.push(`<snapshot ${rd.snapshot.metadata.index}>`);
    }
    if (rd.entries.length > 0) m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    // 2. send
    for (const msg of rd.messages) this.send(msg);
    // 3. apply
    for (const e of rd.committedEntries) this.#apply(m, e);
    for (const rs of rd.readStates) m.readStates.push(rs);
    // 4. advance
    m.raw.advance(rd);
    return true;
  }

  #apply(m: Member, e: Entry): void {
    if (e.type === EntryType.ConfChange) {
      const cs = m.raw.applyConfChange(decodeConfChange(e.data));
      m.storage.setConfState(cs);
      m.confState = cs;
    } else if (e.data.byteLength > 0) {
      m.applied.push(dec.decode(e.data));
    }
  }

  send(msg: Message): void {
    this.sent.push(msg);
    if (this.#blocked(msg.from, msg.to) || this.dropTypes.has(msg.type)) return;
    this.queue.push(msg);
  }

  #blocked(from: NodeId, to: NodeId): boolean {
    return this.#isolated.has(from) || this.#isolated.has(to) || this.#cut.has(`${from}>${to}`) ||
      !this.members.has(to);
  }

  /** Delivers every queued message once (new ones wait). Returns how many were delivered. */
  deliver(filter?: (m: Message) => boolean): number {
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const msg of batch) {
      if (filter !== undefined && !filter(msg)) {
        this.queue.push(msg);
        continue;
      }
      if (this.#blocked(msg.from, msg.to)) continue;
      this.m(msg.to).raw.step(msg);
      n++;
    }
    return n;
  }

  /** Processes Readys and delivers messages until nothing moves. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      let moved = false;
      for (const id of this.members.keys()) while (this.processReady(id)) moved = true;
      if (this.deliver() > 0) moved = true;
      if (!moved) return;
    }
    throw new Error("network did not stabilize");
  }

  /** Runs the election at `id` to completion (after applying what is pending: a committed but
   *  unapplied conf change blocks campaigning). */
  campaign(id: NodeId): void {
    this.stabilize();
    this.raw(id).campaign();
    this.stabilize();
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.raw(id).tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const m of this.members.values()) m.raw.tick();
  }

  propose(id: NodeId, s: string): void {
    this.raw(id).propose(text(s));
    this.stabilize();
  }

  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}>${b}`);
    this.#cut.add(`${b}>${a}`);
  }

  /** Heals every cut and isolation, and stops dropping message types. */
  recover(): void {
    this.#cut.clear();
    this.#isolated.clear();
    this.dropTypes.clear();
  }

  leaders(): NodeId[] {
    return [...this.members.values()].filter((m) => m.raw.raft.state === "StateLeader").map((m) => m.id);
  }
}
