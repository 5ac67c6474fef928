// The interaction scripts' output buffer with etcd's log levels (rafttest's RedirectLogger), and
// the log lines etcd-io/raft prints from inside raft.go ("became leader at term 2", "cast MsgVote
// for 2 ...", "decreased progress of 3 to [...]"). Our core logs nothing, so these lines are
// produced here by wrapping the methods of one Raft instance (its own properties shadow the
// class's, and the core calls them through `this`), at the same points where etcd logs, from the
// state our core actually has there. Must not change what the core does: every wrapper calls
// the original with the same arguments and returns its result; it only reads state to print.

import { NONE } from "../../../internal/brand.ts";
import { decodeConfChange } from "../../../log/conf_change.ts";
import { type Progress, ProgressState } from "../../../log/progress.ts";
import { CAMPAIGN_TRANSFER, type ProposalDroppedError, type Raft } from "../../../log/raft.ts";
import { EntryType, type Message, MessageType, type Snapshot, StateType } from "../../../log/types.ts";
import { describeConfChange, describeConfig, describeProgress, hex } from "./describe.ts";

export const LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "NONE"] as const;
export const Level = Object.freeze({ Debug: 0, Info: 1, Warn: 2, Error: 3, Fatal: 4, None: 5 } as const);
export type Level = (typeof Level)[keyof typeof Level];

/** What a command prints. At level NONE nothing is written, not even the handlers' output. */
export class Output {
  lvl: Level = Level.Debug;
  #buf = "";

  quiet(): boolean {
    return this.lvl === Level.None;
  }

  write(s: string): void {
    if (!this.quiet()) this.#buf += s;
  }

  log(lvl: Level, msg: string): void {
    if (this.lvl <= lvl) this.#buf += `${LEVELS[lvl]} ${msg}\n`;
  }

  debug(msg: string): void {
    this.log(Level.Debug, msg);
  }

  info(msg: string): void {
    this.log(Level.Info, msg);
  }

  warn(msg: string): void {
    this.log(Level.Warn, msg);
  }

  get length(): number {
    return this.#buf.length;
  }

  /** Returns what was written and empties the buffer. */
  take(): string {
    const s = this.#buf;
    this.#buf = "";
    return s;
  }

  /** Runs f, then indents each line f wrote by two spaces (rafttest's withIndent). */
  withIndent(f: () => void): void {
    const orig = this.#buf;
    this.#buf = "";
    try {
      f();
    } finally {
      const inner = this.#buf;
      this.#buf = orig;
      if (inner !== "") {
        for (const line of inner.replace(/\n$/, "").split("\n")) this.#buf += "  " + line + "\n";
      }
    }
  }
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function voteRespType(t: Message["type"]): Message["type"] {
  return t === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
}

/**
 * Wraps `pr`'s method `key` until the returned function is called, calling `before`/`after`
 * around each call. Used for the few log lines etcd prints from inside Progress transitions.
 */
function tapProgress(
  pr: Progress,
  key: "maybeDecrTo" | "becomeProbe",
  hooks: { before?: () => void; after?: (ok: boolean) => void },
): () => void {
  const orig = pr[key] as (...a: number[]) => boolean | void;
  const tapped = (...a: number[]): boolean | void => {
    hooks.before?.();
    const res = orig.apply(pr, a);
    hooks.after?.(res !== false);
    return res;
  };
  (pr as unknown as Record<string, unknown>)[key] = tapped;
  return () => {
    Reflect.deleteProperty(pr, key);
  };
}

/** The lines etcd logs when a node is created (newRaft), which runs before instrument() can. */
export function logNewRaft(r: Raft, out: Output): void {
  out.info(`${hex(r.id)} switched to configuration ${describeConfig(r.trk)}`);
  out.info(`${hex(r.id)} became follower at term ${r.term}`);
  const log = r.raftLog;
  out.info(`newRaft ${hex(r.id)} [peers: [${r.trk.voters.map(hex).join(",")}], term: ${r.term}, ` +
    `commit: ${log.committed}, applied: ${log.applied}, lastindex: ${log.lastIndex()}, lastterm: ${log.lastTerm()}]`);
}

/** Makes `r` print etcd's log lines to `out`. */
export function instrument(r: Raft, out: Output): void {
  const id = hex(r.id);
  const lastTerm = (): number => r.raftLog.lastTerm();
  const lastIndex = (): number => r.raftLog.lastIndex();

  // ---- state transitions ----------------------------------------------------------------------
  const becomeFollower = r.becomeFollower.bind(r);
  r.becomeFollower = (term, lead) => {
    becomeFollower(term, lead);
    out.info(`${id} became follower at term ${r.term}`);
  };
  const becomeCandidate = r.becomeCandidate.bind(r);
  r.becomeCandidate = () => {
    becomeCandidate();
    out.info(`${id} became candidate at term ${r.term}`);
  };
  const becomePreCandidate = r.becomePreCandidate.bind(r);
  r.becomePreCandidate = () => {
    becomePreCandidate();
    out.info(`${id} became pre-candidate at term ${r.term}`);
  };
  const becomeLeader = r.becomeLeader.bind(r);
  r.becomeLeader = () => {
    becomeLeader();
    out.info(`${id} became leader at term ${r.term}`);
  };

  // ---- elections ------------------------------------------------------------------------------
  const hup = r.hup.bind(r);
  r.hup = (t) => {
    if (r.state === StateType.Leader) out.debug(`${id} ignoring MsgHup because already leader`);
    else if (!r.promotable()) out.warn(`${id} is unpromotable and can not campaign`);
    else if (r.hasUnappliedConfChanges()) {
      out.warn(`${id} cannot campaign at term ${r.term} since there are still pending configuration changes to apply`);
    } else out.info(`${id} is starting a new election at term ${r.term}`);
    hup(t);
  };
  const campaign = r.campaign.bind(r);
  r.campaign = (t) => {
    const n = r.msgs.length;
    campaign(t);
    for (const m of r.msgs.slice(n)) {
      if (m.type !== MessageType.Vote && m.type !== MessageType.PreVote) continue;
      out.info(`${id} [logterm: ${m.logTerm}, index: ${m.index}] sent ${m.type} request to ${hex(m.to)} at term ${r.term}`);
    }
  };
  const poll = r.poll.bind(r);
  r.poll = (from, granted) => {
    const t = r.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    out.info(granted ? `${id} received ${t} from ${hex(from)} at term ${r.term}`
      : `${id} received ${t} rejection from ${hex(from)} at term ${r.term}`);
    const res = poll(from, granted);
    const tally = r.trk.tallyVotes();
    out.info(`${id} has received ${tally.granted} ${t} votes and ${tally.rejected} vote rejections`);
    return res;
  };

  // ---- membership and snapshots ---------------------------------------------------------------
  const switchToConfig = r.switchToConfig.bind(r);
  r.switchToConfig = () => {
    // The tracker already holds the new configuration; etcd logs before reacting to it.
    out.info(`${id} switched to configuration ${describeConfig(r.trk)}`);
    return switchToConfig();
  };
  const maybeSendSnapshot = r.maybeSendSnapshot.bind(r);
  r.maybeSendSnapshot = (to) => {
    const pr = r.trk.progress.get(to)!;
    if (!pr.recentActive) {
      out.debug(`ignore sending snapshot to ${hex(to)} since it is not recently active`);
      return maybeSendSnapshot(to);
    }
    const snap = r.raftLog.snapshot();
    out.debug(`${id} [firstindex: ${r.raftLog.firstIndex()}, commit: ${r.raftLog.committed}] sent snapshot` +
      `[index: ${snap.metadata.index}, term: ${snap.metadata.term}] to ${hex(to)} [${describeProgress(pr)}]`);
    const ok = maybeSendSnapshot(to);
    out.debug(`${id} paused sending replication messages to ${hex(to)} [${describeProgress(pr)}]`);
    return ok;
  };
  const handleSnapshot = r.handleSnapshot.bind(r);
  r.handleSnapshot = (m) => {
    const s = m.snapshot as Snapshot;
    const { index, term } = s.metadata;
    const log = r.raftLog;
    if (index > log.committed) {
      const cs = s.metadata.confState;
      if (r.state !== StateType.Follower) out.warn(`${id} attempted to restore snapshot as leader; should never happen`);
      else if (!cs.voters.includes(r.id) && !cs.learners.includes(r.id)) {
        out.warn(`${id} attempted to restore snapshot but it is not in the ConfState; should never happen`);
      } else if (log.matchTerm(index, term)) {
        out.info(`${id} [commit: ${log.committed}, lastindex: ${lastIndex()}, lastterm: ${lastTerm()}] ` +
          `fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`);
      }
    }
    handleSnapshot(m);
    if (log.unstable.snapshot === s) {
      out.info(`${id} [commit: ${log.committed}, lastindex: ${lastIndex()}, lastterm: ${lastTerm()}] ` +
        `restored snapshot [index: ${index}, term: ${term}]`);
      out.info(`${id} [commit: ${log.committed}] restored snapshot [index: ${index}, term: ${term}]`);
    } else {
      out.info(`${id} [commit: ${log.committed}] ignored snapshot [index: ${index}, term: ${term}]`);
    }
  };

  // ---- the log --------------------------------------------------------------------------------
  const handleAppendEntries = r.handleAppendEntries.bind(r);
  r.handleAppendEntries = (m) => {
    const n = r.msgsAfterAppend.length;
    handleAppendEntries(m);
    const resp = r.msgsAfterAppend.slice(n).find((x) => x.type === MessageType.AppResp && x.reject);
    if (resp !== undefined) {
      out.debug(`${id} [logterm: ${r.raftLog.termOrZero(m.index)}, index: ${m.index}] rejected MsgApp ` +
        `[logterm: ${m.logTerm}, index: ${m.index}] from ${hex(m.from)}`);
    }
  };
  const raftLog = r.raftLog;
  const findConflict = raftLog.findConflict.bind(raftLog);
  raftLog.findConflict = (ents) => {
    const ci = findConflict(ents);
    if (ci !== 0 && ci <= raftLog.lastIndex()) {
      const ne = ents[ci - ents[0].index];
      out.info(`found conflict at index ${ci} [existing term: ${raftLog.termOrZero(ci)}, conflicting term: ${ne.term}]`);
    }
    return ci;
  };
  const unstable = raftLog.unstable;
  const truncateAndAppend = unstable.truncateAndAppend.bind(unstable);
  unstable.truncateAndAppend = (ents) => {
    const from = ents[0].index;
    if (from !== unstable.offset + unstable.entries.length) {
      if (from <= unstable.offset) out.info(`replace the unstable entries from index ${from}`);
      else out.info(`truncate the unstable entries before index ${from}`);
    }
    truncateAndAppend(ents);
  };

  // ---- step: term handling, votes and the per-message lines -------------------------------------
  const step = r.step.bind(r);
  r.step = (m: Message): ProposalDroppedError | null => {
    const from = hex(m.from);
    if (m.term !== 0 && m.term > r.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = r.checkQuorum && r.lead !== NONE && r.electionElapsed < r.electionTimeout;
        if (!force && inLease) {
          out.info(`${id} [logterm: ${lastTerm()}, index: ${lastIndex()}, vote: ${hex(r.vote)}] ignored ${m.type} ` +
            `from ${from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}: lease is not expired ` +
            `(remaining ticks: ${r.electionTimeout - r.electionElapsed})`);
          return step(m);
        }
      }
      if (m.type !== MessageType.PreVote && !(m.type === MessageType.PreVoteResp && !m.reject)) {
        out.info(`${id} [term: ${r.term}] received a ${m.type} message with higher term from ${from} [term: ${m.term}]`);
      }
    } else if (m.term !== 0 && m.term < r.term) {
      if ((r.checkQuorum || r.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // Answered with an empty MsgAppResp carrying our term; etcd logs nothing.
      } else if (m.type === MessageType.PreVote) {
        out.info(`${id} [logterm: ${lastTerm()}, index: ${lastIndex()}, vote: ${hex(r.vote)}] rejected ${m.type} ` +
          `from ${from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`);
      } else {
        out.info(`${id} [term: ${r.term}] ignored a ${m.type} message with lower term from ${from} [term: ${m.term}]`);
      }
      return step(m);
    }

    // The state the message is handled in, once its term has been taken into account.
    const bumps = m.term > r.term && m.type !== MessageType.PreVote &&
      !(m.type === MessageType.PreVoteResp && !m.reject);
    const state = bumps ? StateType.Follower : r.state;
    const lead = bumps
      ? (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap ? m.from : NONE)
      : r.lead;
    const term = bumps ? m.term : r.term;
    const vote = bumps ? NONE : r.vote;
    const nMsgs = r.msgs.length;
    const nAfter = r.msgsAfterAppend.length;
    const untap: Array<() => void> = [];
    const after: Array<() => void> = [];
    const pr = state === StateType.Leader ? r.trk.progress.get(m.from) : undefined;

    switch (m.type) {
      case MessageType.Vote:
      case MessageType.PreVote:
        after.push(() => {
          const resp = r.msgsAfterAppend.slice(nAfter).find((x) => x.type === voteRespType(m.type) && x.to === m.from);
          if (resp === undefined) return;
          const what = resp.reject ? `rejected ${m.type} from` : `cast ${m.type} for`;
          out.info(`${id} [logterm: ${lastTerm()}, index: ${lastIndex()}, vote: ${hex(vote)}] ${what} ${from} ` +
            `[logterm: ${m.logTerm}, index: ${m.index}] at term ${term}`);
        });
        break;
      case MessageType.CheckQuorum:
        if (state === StateType.Leader && !r.trk.quorumActive()) {
          out.warn(`${id} stepped down to follower since quorum is not active`);
        }
        break;
      case MessageType.Prop:
        if (state === StateType.Leader) {
          if (!r.trk.progress.has(r.id)) break;
          if (r.leadTransferee !== NONE) {
            out.debug(`${id} [term ${term}] transfer leadership to ${hex(r.leadTransferee)} is in progress; dropping proposal`);
            break;
          }
          let pending = r.pendingConfIndex;
          m.entries.forEach((e, i) => {
            if (e.type !== EntryType.ConfChange) return;
            if (pending > r.raftLog.applied) {
              out.info(`${id} ignoring conf change ${describeConfChange(decodeConfChange(e.data))} at config ` +
                `${describeConfig(r.trk)}: possible unapplied conf change at index ${pending} (applied to ${r.raftLog.applied})`);
            } else {
              pending = r.raftLog.lastIndex() + i + 1;
            }
          });
        } else if (state === StateType.Follower) {
          if (lead === NONE) out.info(`${id} no leader at term ${term}; dropping proposal`);
          else if (r.disableProposalForwarding) {
            out.info(`${id} not forwarding to leader ${hex(lead)} at term ${term}; dropping proposal`);
          }
        } else {
          out.info(`${id} no leader at term ${term}; dropping proposal`);
        }
        break;
      case MessageType.ReadIndex:
        if (state === StateType.Follower && lead === NONE) out.info(`${id} no leader at term ${term}; dropping index reading msg`);
        break;
      case MessageType.TimeoutNow:
        if (state === StateType.Follower) {
          out.info(`${id} [term ${term}] received MsgTimeoutNow from ${from} and starts an election to get leadership.`);
        } else if (state !== StateType.Leader) {
          out.debug(`${id} [term ${term} state ${state}] ignored MsgTimeoutNow from ${from}`);
        }
        break;
      case MessageType.TransferLeader:
        if (state === StateType.Follower && lead === NONE) {
          out.info(`${id} no leader at term ${term}; dropping leader transfer msg`);
        } else if (pr !== undefined) {
          const last = r.leadTransferee;
          if (pr.isLearner) out.debug(`${id} is learner. Ignored transferring leadership`);
          else if (last !== NONE && last === m.from) {
            out.info(`${id} [term ${term}] transfer leadership to ${from} is in progress, ignores request to same node ${from}`);
          } else {
            if (last !== NONE) out.info(`${id} [term ${term}] abort previous transferring leadership to ${hex(last)}`);
            if (m.from === r.id) out.debug(`${id} is already leader. Ignored transferring leadership to self`);
            else {
              out.info(`${id} [term ${term}] starts to transfer leadership to ${from}`);
              if (pr.match === r.raftLog.lastIndex()) {
                after.push(() => out.info(`${id} sends MsgTimeoutNow to ${from} immediately as ${from} already has up-to-date log`));
              }
            }
          }
        }
        break;
      case MessageType.AppResp:
        if (pr === undefined) break;
        if (m.reject) {
          out.debug(`${id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${from} ` +
            `for index ${m.index}`);
          untap.push(tapProgress(pr, "maybeDecrTo", {
            after: (ok) => {
              if (ok) out.debug(`${id} decreased progress of ${from} to [${describeProgress(pr)}]`);
            },
          }));
        } else {
          untap.push(tapProgress(pr, "becomeProbe", {
            before: () => {
              if (pr.state !== ProgressState.Snapshot) return;
              out.debug(`${id} recovered from needing snapshot, resumed sending replication messages to ${from} ` +
                `[${describeProgress(pr)}]`);
            },
          }));
          after.push(() => {
            const sent = r.msgs.slice(nMsgs).some((x) => x.type === MessageType.TimeoutNow && x.to === m.from);
            if (sent) out.info(`${id} sent MsgTimeoutNow to ${from} after received MsgAppResp`);
          });
        }
        break;
      case MessageType.SnapStatus:
        if (pr === undefined || pr.state !== ProgressState.Snapshot) break;
        untap.push(tapProgress(pr, "becomeProbe", {
          after: () => {
            out.debug(`${id} snapshot ${m.reject ? "failed" : "succeeded"}, resumed sending replication messages to ` +
              `${from} [${describeProgress(pr)}]`);
          },
        }));
        break;
      case MessageType.Unreachable:
        if (pr === undefined) break;
        after.push(() => out.debug(`${id} failed to send message to ${from} because it is unreachable [${describeProgress(pr)}]`));
        break;
    }
    if (state === StateType.Leader && pr === undefined && (m.type === MessageType.SnapStatus ||
      m.type === MessageType.Unreachable || m.type === MessageType.TransferLeader)) {
      out.debug(`${id} no progress available for ${from}`);
    }
    try {
      const res = step(m);
      for (const f of after) f();
      return res;
    } finally {
      for (const u of untap) u();
    }
  };
}
