// The simulator's safety checker: Raft's guarantees (Figure 3 of the paper) checked incrementally
// after every event, over the whole history of a run, crashes and restarts included. Election
// safety, log matching, leader completeness, state machine safety, monotonic commit and applied
// indexes per member lifetime, durable committed prefixes across restarts, acknowledged writes in
// every later leader's log. Must only observe: it reads the members' state and never changes it.

import type { NodeId } from "../../../internal/brand.ts";
import type { RawNode } from "../../../log/raw_node.ts";
import type { MemoryStorage } from "../../../log/memory_storage.ts";
import { type Entry, EntryType, type Ready, type Snapshot, StateType } from "../../../log/types.ts";

/** A broken safety property. The simulator stops at the first one and prints seed and trace. */
export class Violation extends Error {
  override name = "Violation";
}

/** What the checker needs to see of a member. */
export interface Observed {
  readonly id: NodeId;
  readonly raw: RawNode;
  /** Commit index seen at the previous check, in this lifetime. */
  lastCommit: number;
  /** Term whose leadership was already checked for completeness (0 = none). */
  leaderChecked: number;
  /** Last index of its log when last seen leading (0 = not leading), to spot the entries it appends. */
  leaderLast: number;
  applied: number;
}

export interface AckedWrite {
  readonly index: number;
  readonly term: number;
  readonly what: string;
}

const dec = new TextDecoder();
const TERM_NONE = 0;

function entryKey(e: Entry): string {
  return `${e.type}:${dec.decode(e.data)}`;
}

export class Invariants {
  /** term -> the one member that led it. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** `${index}/${term}` -> the entry's content and the term of the entry before it. */
  readonly #entryAt = new Map<string, { key: string; prevTerm: number }>();
  /** index -> term of the entry committed there (0 = not known to be committed yet). */
  readonly committedTerm: number[] = [];
  /**
   * index -> the term in which it became committed: the term of the first member seen to commit
   * it, which is the committing leader (it moves its commit index in the very event). Leader
   * completeness binds the leaders of later terms only: a stale leader of an earlier term may lack it.
   */
  readonly #committedIn: number[] = [];
  maxCommit = 0;
  /** index -> `${term}/${content}` of the entry applied there. */
  readonly #appliedKey: string[] = [];
  /** index -> canonical state text after applying through index (where a member computed it). */
  readonly #stateAt = new Map<number, string>();
  readonly acked: AckedWrite[] = [];
  /** `${voter}/${term}` -> the candidate it granted its vote to (crashes and restarts included). */
  readonly #votes = new Map<string, NodeId>();
  checks = 0;

  fail(msg: string): never {
    throw new Violation(msg);
  }

  /** After every event: election safety, commit monotonicity, new commits, new leaders' logs. */
  afterEvent(members: Iterable<Observed>): void {
    this.checks++;
    let leaders: Observed[] | undefined;
    const before = this.maxCommit;
    for (const m of members) {
      const r = m.raw.raft;
      if (r.state === StateType.Leader) {
        const prev = this.leaderOfTerm.get(r.term);
        if (prev === undefined) this.leaderOfTerm.set(r.term, m.id);
        else if (prev !== m.id) this.fail(`election safety: ${prev} and ${m.id} both led term ${r.term}`);
        (leaders ??= []).push(m);
      }
      const c = r.raftLog.committed;
      if (c < m.lastCommit) this.fail(`commit index of ${m.id} went back from ${m.lastCommit} to ${c} within one lifetime`);
      if (c > m.lastCommit) {
        const last = r.raftLog.lastIndex();
        if (c > last) this.fail(`${m.id} commits ${c} beyond its last index ${last}`);
        const first = r.raftLog.firstIndex();
        for (let i = Math.max(m.lastCommit + 1, first); i <= c; i++) this.#recordCommit(i, r.raftLog.term(i), m.id, r.term);
        m.lastCommit = c;
      }
    }
    if (leaders === undefined) return;
    for (const m of leaders) {
      const r = m.raw.raft;
      if (m.leaderChecked !== r.term) {
        m.leaderChecked = r.term;
        m.leaderLast = r.raftLog.lastIndex();
        this.#checkLeaderLog(m, 1);
      } else if (this.maxCommit > before) {
        this.#checkLeaderLog(m, before + 1);
      }
      const last = r.raftLog.lastIndex();
      if (last > m.leaderLast) {
        this.#checkAppendedConfChanges(m, m.leaderLast + 1, last);
        m.leaderLast = last;
      }
    }
  }

  /**
   * One membership change at a time: a leader appends a conf change only when every earlier one in
   * its log is applied, and (this core's stricter rule, log/DESIGN.md) once it has applied an entry
   * of its own term. Checked in the event that appends it, so `applied` is the one it decided on.
   */
  #checkAppendedConfChanges(m: Observed, from: number, to: number): void {
    const log = m.raw.raft.raftLog;
    const term = m.raw.raft.term;
    const ents = log.slice(from, to + 1, Infinity);
    for (const e of ents) {
      if (e.type !== EntryType.ConfChange || e.term !== term) continue;
      const applied = log.applied;
      if (log.term(applied) !== term) {
        this.fail(`${m.id}, leader of term ${term}, appended a conf change at ${e.index} before applying an entry of its term (applied ${applied})`);
      }
      if (e.index - 1 > applied) {
        for (const p of log.slice(applied + 1, e.index, Infinity)) {
          if (p.type === EntryType.ConfChange) {
            this.fail(`${m.id}, leader of term ${term}, appended a conf change at ${e.index} while the one at ${p.index} is not applied (applied ${applied})`);
          }
        }
      }
    }
  }

  #recordCommit(i: number, term: number, who: NodeId, inTerm: number): void {
    if (term <= 0) this.fail(`${who} has no entry at committed index ${i} (term lookup ${term})`);
    const known = this.committedTerm[i] ?? TERM_NONE;
    if (known === TERM_NONE) {
      this.committedTerm[i] = term;
      this.#committedIn[i] = inTerm;
      if (i > this.maxCommit) this.maxCommit = i;
    } else if (known !== term) {
      this.fail(`state machine safety: index ${i} committed with term ${known}, but ${who} committed term ${term}`);
    }
  }

  /** Leader completeness: a leader's log holds every entry committed in an earlier term. */
  #checkLeaderLog(m: Observed, from: number): void {
    const r = m.raw.raft;
    const log = r.raftLog;
    const first = log.firstIndex();
    for (let i = Math.max(from, first); i <= this.maxCommit; i++) {
      const want = this.committedTerm[i] ?? TERM_NONE;
      if (want === TERM_NONE || this.#committedIn[i] >= r.term) continue;
      const t = log.term(i);
      if (t !== want) {
        this.fail(`leader completeness: ${m.id}, leader of term ${r.term}, has term ${t} at index ${i}, where an entry of ` +
          `term ${want} was committed in term ${this.#committedIn[i]}`);
      }
    }
    for (const a of this.acked) {
      if (a.index < first || a.index < from || (this.#committedIn[a.index] ?? Infinity) >= r.term) continue;
      const t = log.term(a.index);
      if (t !== a.term) {
        this.fail(`acknowledged write lost: ${a.what} (index ${a.index}, term ${a.term}) is not in the log of ${m.id}, leader of term ${r.term} (term there: ${t})`);
      }
    }
  }

  /** A member grants at most one vote per term, across all of its lifetimes (its vote is durable first). */
  onVoteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    const k = `${voter}/${term}`;
    const prev = this.#votes.get(k);
    if (prev === undefined) this.#votes.set(k, candidate);
    else if (prev !== candidate) this.fail(`${voter} voted for both ${prev} and ${candidate} in term ${term}`);
  }

  /** Log matching, at the moment entries enter a member's log (every entry does, through a Ready). */
  onReady(id: NodeId, raw: RawNode, rd: Ready): void {
    if (rd.snapshot !== undefined) this.#checkSnapshot(id, rd.snapshot);
    if (rd.entries.length === 0) return;
    let prevTerm = raw.raft.raftLog.term(rd.entries[0].index - 1);
    let prevIndex = rd.entries[0].index - 1;
    for (const e of rd.entries) {
      if (e.index !== prevIndex + 1) this.fail(`${id}: Ready entries not contiguous (${prevIndex} then ${e.index})`);
      if (prevTerm >= 0 && e.term < prevTerm) this.fail(`${id}: log terms decrease at index ${e.index} (${prevTerm} then ${e.term})`);
      const k = `${e.index}/${e.term}`;
      const key = entryKey(e);
      const info = this.#entryAt.get(k);
      if (info === undefined) {
        this.#entryAt.set(k, { key, prevTerm });
      } else {
        if (info.key !== key) this.fail(`log matching: two different entries at index ${e.index} term ${e.term} (${id})`);
        if (prevTerm >= 0 && info.prevTerm >= 0 && info.prevTerm !== prevTerm) {
          this.fail(`log matching: entry ${e.index}/${e.term} follows term ${prevTerm} at ${id} but term ${info.prevTerm} elsewhere`);
        }
      }
      prevTerm = e.term;
      prevIndex = e.index;
    }
  }

  #checkSnapshot(id: NodeId, s: Snapshot): void {
    const { index, term } = s.metadata;
    if (index > this.maxCommit) this.fail(`${id} got a snapshot at ${index}, beyond the highest commit ${this.maxCommit}`);
    const want = this.committedTerm[index] ?? TERM_NONE;
    if (want !== TERM_NONE && want !== term) this.fail(`${id} got a snapshot at ${index} term ${term}, committed term there is ${want}`);
  }

  /** State machine safety: the entry a member applies at an index is the one every member applies there. */
  onApply(id: NodeId, applied: number, e: Entry): void {
    if (e.index !== applied + 1) this.fail(`${id} applies index ${e.index} after ${applied}`);
    const want = this.committedTerm[e.index] ?? TERM_NONE;
    if (want !== TERM_NONE && want !== e.term) this.fail(`${id} applies ${e.index}/${e.term}, committed term there is ${want}`);
    if (e.index > this.maxCommit) this.fail(`${id} applies ${e.index}, beyond the highest commit ${this.maxCommit}`);
    const key = `${e.term}/${entryKey(e)}`;
    const prev = this.#appliedKey[e.index];
    if (prev === undefined) this.#appliedKey[e.index] = key;
    else if (prev !== key) this.fail(`state machine safety: ${id} applies a different entry at ${e.index} than another member`);
  }

  /** The state after applying through `index` (or restoring a snapshot there) is the same everywhere. */
  onState(id: NodeId, index: number, text: string): void {
    const prev = this.#stateAt.get(index);
    if (prev === undefined) this.#stateAt.set(index, text);
    else if (prev !== text) this.fail(`state machine safety: ${id}'s state at ${index} differs from another member's:\n  ${text}\n  ${prev}`);
  }

  /** After a restart: the durable log still holds the committed entries up to the durable commit index. */
  onRestart(id: NodeId, durable: MemoryStorage): void {
    const hs = durable.initialState().hardState;
    const first = durable.firstIndex();
    if (hs.commit > durable.lastIndex()) this.fail(`${id} restarts with commit ${hs.commit} beyond its durable log (${durable.lastIndex()})`);
    for (let i = first; i <= hs.commit; i++) {
      const want = this.committedTerm[i] ?? TERM_NONE;
      const t = durable.term(i);
      if (want !== TERM_NONE && t !== want) this.fail(`${id} restarts with term ${t} at committed index ${i} (committed term ${want})`);
    }
    const snap = durable.snapshot().metadata;
    if (snap.index > 0) {
      const want = this.committedTerm[snap.index] ?? TERM_NONE;
      if (want !== TERM_NONE && want !== snap.term) this.fail(`${id} restarts from a snapshot at ${snap.index}/${snap.term}, committed term ${want}`);
    }
  }
}
