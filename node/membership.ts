// Membership as this member drives it: adding, removing and updating members through conf-change
// entries (one change at a time, each waiting until this member applies it), handing leadership over
// before the leader is removed or stops, pointing the transport at every member's peer URLs, telling
// the peer port who may open a Raft stream, and publishing this member's name and client URLs (and a
// new single member's bootstrap commands) through the log.
// Must not apply anything or write storage: the members projection holds the membership, and the
// node applies conf changes and tells this part (onConfChangeApplied).

import type { Index, NodeId, Term } from "../internal/mod.ts";
import type { Clock } from "../internal/mod.ts";
import { limits } from "../internal/mod.ts";
import type { BasicStatus, Status } from "../log/mod.ts";
import { type ConfChange, ConfChangeType, type ConfState } from "../log/mod.ts";
import { type MemberInfo, NodeError } from "../api/mod.ts";
import { bootstrapCommands, type Command, encodeConfChangeContext, type MembersState } from "../projections/mod.ts";
import type { Identity } from "./identity.ts";
import { newMemberIdFor } from "./ids.ts";
import type { Logger } from "./logger.ts";

interface PendingChange {
  resolve(): void;
  reject(err: Error): void;
  deadlineMs: number;
}

/** What membership reads of the Raft core and asks of it. */
export interface MembershipRaft {
  basicStatus(): BasicStatus;
  status(): Status;
  termAt(index: Index): Term;
  addsMember(id: NodeId, lo: Index, window: number): boolean;
  proposeConfChange(cc: ConfChange): void;
  transferLeader(to: NodeId): void;
}

/** What membership needs of the node. */
export interface MembershipDeps {
  readonly identity: Identity;
  /** This start's --name, --advertise-client-urls and election timeout. */
  readonly name: string;
  readonly advertiseClientUrls: readonly string[];
  readonly electionTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The core (it is rebuilt after a full disk, so asked for each time). */
  core(): MembershipRaft;
  membersState(): MembersState;
  confState(): ConfState;
  lead(): NodeId;
  applied(): Index;
  stopped(): boolean;
  /** Why no write may be proposed now, or undefined. */
  refuseWrite(): NodeError | undefined;
  propose(command: Command): Promise<unknown>;
  /** Runs the Ready loop now. */
  process(): void;
  schedule(): void;
  setPeer(id: NodeId, urls: readonly string[]): void;
  removePeer(id: NodeId): void;
}

export class Membership {
  readonly #d: MembershipDeps;
  readonly #me: NodeId;
  /** Membership changes this member proposed, by "<type>:<id>", answered when applied. */
  readonly #pendingConf = new Map<string, PendingChange>();
  /** A new single-member cluster still has to propose its bootstrap commands. */
  #needPublish: boolean;
  #attributesPublished = false;
  #attributesInFlight = false;

  constructor(deps: MembershipDeps, needPublish: boolean) {
    this.#d = deps;
    this.#me = deps.identity.memberId;
    this.#needPublish = needPublish;
  }

  /** Whether a new single member has yet to publish its bootstrap commands (it does not serve before). */
  get needPublish(): boolean {
    return this.#needPublish;
  }

  /** The members, from the membership projection; this member's own name and client URLs are this start's flags. */
  members(): readonly MemberInfo[] {
    const st = this.#d.membersState();
    const created = this.#d.identity.members;
    const list: readonly MemberInfo[] = st.members.size > 0 ? [...st.members.values()] : created;
    return list.map((m) => {
      // Data dirs written before membership was a projection have bootstrap entries without URLs.
      const peerURLs = m.peerURLs.length > 0 ? m.peerURLs : created.find((x) => x.id === m.id)?.peerURLs ?? [];
      return m.id === this.#me ? { ...m, peerURLs, name: this.#d.name, clientURLs: this.#d.advertiseClientUrls } : { ...m, peerURLs };
    });
  }

  addMember(peerURLs: readonly string[]): Promise<MemberInfo> {
    const id = newMemberIdFor(peerURLs, Math.floor(this.#d.clock.nowMs() / 1000));
    if (this.#d.membersState().removed.has(id)) return Promise.reject(new NodeError("node/member-removed", "membership: ID removed"));
    const member: MemberInfo = { id, name: "", peerURLs: [...peerURLs], clientURLs: [] };
    return this.#proposeConfChange(
      { type: ConfChangeType.AddNode, nodeId: id, context: encodeConfChangeContext({ name: "", peerURLs }) },
    ).then(() => this.members().find((m) => m.id === id) ?? member);
  }

  removeMember(id: NodeId): Promise<void> {
    const st = this.#d.membersState();
    if (st.removed.has(id)) return Promise.reject(new NodeError("node/member-removed", "membership: ID removed"));
    if (!st.members.has(id)) return Promise.reject(new NodeError("node/member-not-found", `No such member: ${id}`));
    const remove = () => this.#proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) });
    const lead = this.#d.lead();
    const voters = this.#d.confState().voters.length;
    // Removing the leader itself: hand leadership over first, so the cluster does not sit out an
    // election timeout once the leader steps down; the new leader then takes the change.
    if (id === this.#me && lead === this.#me && voters > 1) {
      return this.transferLeadership(this.#d.electionTimeoutMs).then(remove).then(() => {});
    }
    // Removing the leader through a follower: ask for leadership first, for the same reason, and
    // so that the leader does not apply its own removal. A leader that does and dies before the
    // others learn the commit leaves a 2-voter cluster needing its vote for good (etcd-io/etcd#10563).
    if (id === lead && id !== this.#me && voters > 1) {
      return this.#takeLeadership(id, this.#d.electionTimeoutMs).then(remove).then(() => {});
    }
    return remove().then(() => {});
  }

  updateMember(id: NodeId, peerURLs: readonly string[]): Promise<void> {
    const st = this.#d.membersState();
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
  #proposeConfChange(cc: ConfChange): Promise<void> {
    const refused = this.#d.refuseWrite();
    if (refused) return Promise.reject(refused);
    const core = this.#d.core();
    if (this.#pendingConf.size > 0 || (this.#d.lead() === this.#me && core.basicStatus().pendingConfIndex > this.#d.applied())) {
      return Promise.reject(new NodeError("node/member-change-pending", "a membership change is already in progress"));
    }
    const key = `${cc.type}:${cc.nodeId}`;
    return new Promise((resolve, reject) => {
      try {
        core.proposeConfChange(cc);
      } catch (e) {
        reject(new NodeError("node/no-leader", `etcdserver: proposal dropped (${(e as Error).message})`));
        return;
      }
      this.#pendingConf.set(key, { resolve: () => resolve(), reject, deadlineMs: Date.now() + limits.proposalTimeoutMs });
      this.#d.schedule();
    });
  }

  /** A committed conf change was applied here: the member that proposed it answers its caller. */
  onConfChangeApplied(cc: ConfChange): void {
    const key = `${cc.type}:${cc.nodeId}`;
    const p = this.#pendingConf.get(key);
    if (p) {
      this.#pendingConf.delete(key);
      p.resolve();
    }
  }

  /** Times out changes that were not applied in time. */
  expire(now: number): void {
    for (const [k, p] of this.#pendingConf) {
      if (p.deadlineMs > now) continue;
      this.#pendingConf.delete(k);
      p.reject(new NodeError("node/timeout", "etcdserver: request timed out"));
    }
  }

  /** Fails every waiting change (the member stops). */
  failAll(err: Error): void {
    for (const p of this.#pendingConf.values()) p.reject(err);
    this.#pendingConf.clear();
  }

  /** When this member leads, hands leadership to the most caught-up voter; resolves once it moved or timeoutMs passed. */
  async transferLeadership(timeoutMs: number): Promise<void> {
    if (this.#d.lead() === this.#me && this.#d.confState().voters.length > 1) {
      const st = this.#d.core().status();
      let best: NodeId = "";
      let bestMatch = -1;
      for (const [id, p] of Object.entries(st.progress ?? {})) {
        if (id === this.#me || p.isLearner) continue;
        if (p.match > bestMatch) {
          best = id;
          bestMatch = p.match;
        }
      }
      if (best !== "") {
        this.#d.logger.info("transferring leadership before stopping", { to: best });
        this.#d.core().transferLeader(best);
        this.#d.process();
        await this.#awaitNewLeader(this.#me, timeoutMs);
        const lead = this.#d.lead();
        if (lead !== this.#me) this.#d.logger.info("leadership transferred", { leader: lead || "none" });
      }
    }
  }

  /** Asks the leader `from` to hand leadership to this member; resolves once it did or on timeout. */
  async #takeLeadership(from: NodeId, timeoutMs: number): Promise<void> {
    this.#d.logger.info("asking the leader to hand over leadership", { leader: from });
    this.#d.core().transferLeader(this.#me);
    this.#d.process();
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
      const lead = this.#d.lead();
      if (lead === from || lead === "") return false; // "none" for a moment in between
      const core = this.#d.core();
      try {
        // Negative (compacted: only right after a snapshot) is "not yet".
        return core.termAt(this.#d.applied()) >= core.basicStatus().term;
      } catch {
        return false;
      }
    };
    while (!ready() && Date.now() < until && !this.#d.stopped()) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Whether `from` may open a Raft stream here: a voter or learner, a member of the projection (or
   * of the creation-time list before it has any), a member being added by a conf change this member
   * holds but has not applied yet, or anyone not removed while this member knows no leader (a
   * lagging member may not even hold the entry that added a new leader: refusing it then would cut
   * it off for good; etcd takes such messages through its pipeline handler).
   */
  knownSender(from: NodeId): boolean {
    if (from === this.#me) return false;
    const cs = this.#d.confState();
    if (cs.voters.includes(from) || cs.learners.includes(from)) return true;
    const st = this.#d.membersState();
    if (st.members.size > 0 ? st.members.has(from) : this.#d.identity.members.some((m) => m.id === from)) return true;
    if (this.#d.lead() === "") return true;
    // The newest entries only: a sender must not make this member read its whole log.
    return this.#d.core().addsMember(from, this.#d.applied() + 1, limits.knownSenderScanEntries);
  }

  /** Points the transport at every member's peer URLs (the projection's, or the creation-time list). */
  syncPeers(): void {
    const st = this.#d.membersState();
    const created = this.#d.identity.members;
    const list: readonly MemberInfo[] = st.members.size > 0 ? [...st.members.values()] : created;
    const keep = new Set<NodeId>();
    for (const m of list) {
      if (m.id === this.#me) continue;
      keep.add(m.id);
      this.#d.setPeer(m.id, m.peerURLs);
    }
    const cs = this.#d.confState();
    for (const v of [...cs.voters, ...cs.learners]) {
      if (!keep.has(v) && v !== this.#me) {
        const m = created.find((x) => x.id === v);
        if (m) {
          keep.add(v);
          this.#d.setPeer(v, m.peerURLs);
        }
      }
    }
    for (const m of created) if (!keep.has(m.id) && st.removed.has(m.id)) this.#d.removePeer(m.id);
    for (const id of st.removed) this.#d.removePeer(id);
  }

  /** A new single-member cluster proposes its registry's bootstrap commands (etcd's "/0" namespace, indices 2-4). */
  publishBootstrap(): void {
    this.#needPublish = false;
    const me = this.members().find((m) => m.id === this.#me)!;
    for (const c of bootstrapCommands({ memberId: me.id, name: me.name, peerURLs: me.peerURLs, clientURLs: me.clientURLs })) {
      this.#d.propose(c).catch((e) => this.#d.logger.warn("publishing member attributes failed", { error: (e as Error).message }));
    }
  }

  /**
   * In a cluster, each member publishes its name and client URLs through the log once it runs (as
   * etcd does), so every member lists every other's client URLs.
   */
  publishAttributes(single: boolean): void {
    if (this.#attributesPublished || this.#attributesInFlight || this.#d.lead() === "" || single) return;
    const st = this.#d.membersState();
    const me = st.members.get(this.#me);
    if (!me) return; // not applied our own addition yet
    const want = this.#d.advertiseClientUrls;
    if (me.name === this.#d.name && me.clientURLs.join(",") === want.join(",")) {
      this.#attributesPublished = true;
      return;
    }
    this.#attributesInFlight = true;
    this.#d.propose({ type: "member/attributes", id: this.#me, name: this.#d.name, clientURLs: [...want] }).then(
      () => {
        this.#attributesInFlight = false;
        this.#attributesPublished = true;
      },
      () => {
        this.#attributesInFlight = false;
      },
    );
  }
}
