// The in-memory twin of the daemon for api tests, as each protocol's narrow deps see it
// (EtcdV2Deps, ClusterDeps; createApi gets it for both): propose() applies the command at once to a
// KvState with kvProjection.apply (entry time from an injected fixed clock), bumps a raft index,
// notifies subscribers and resolves with the result (the command round-trips through the log's
// entry codec first, as in the daemon); linearizableRead() resolves; raftPosition, status and
// members are constants matching the responses captured from a real etcd 3.4.23 (cluster 48276a8f75b6a87, member
// 2e1259d415f2a040). Failures can be injected. Must not open sockets or read the real clock.

import {
  type Api,
  type ClusterDeps,
  createApi,
  type ApiOptions,
  type EtcdV2Deps,
  type MemberInfo,
  NodeError,
  type NodeErrorCode,
  type RaftPosition,
  type RaftStatus,
} from "../../api/mod.ts";
import { fixedClock } from "../../internal/clock.ts";
import {
  type Command,
  decodeEntry,
  encodeEntry,
  kvBootstrapCommands,
  type KvCommand,
  kvProjection,
  type KvResult,
  type KvState,
  type Subscriber,
} from "../../projections/mod.ts";

export const CLUSTER_ID = "48276a8f75b6a87";
export const MEMBER_ID = "2e1259d415f2a040";
/** 2026-11-23T16:05:22.018Z, the capture's start time. */
export const START_MS = Date.UTC(2026, 10, 23, 16, 5, 22, 18);

export const MEMBER: MemberInfo = {
  id: MEMBER_ID,
  name: "n1",
  peerURLs: ["http://127.0.0.1:23800"],
  clientURLs: ["http://127.0.0.1:23790"],
};

export interface FakeDeps extends EtcdV2Deps, ClusterDeps {
  readonly clock: ReturnType<typeof fixedClock>;
  readonly kv: KvState;
  /** The raft index of the last applied entry (bootstrap entries included). */
  raftIndex: number;
  term: number;
  leader: string;
  stateName: string;
  membersList: MemberInfo[];
  /** The next propose() rejects with this code (once). */
  failNextPropose?: NodeErrorCode;
  /** Every linearizableRead() rejects with this code while set. */
  failReads?: NodeErrorCode;
  /** How many times status() was called (a reply's headers must come from raftPosition()). */
  statusCalls: number;
  /** Commands proposed through the api, in order. */
  readonly proposed: KvCommand[];
  readonly sinks: Subscriber<"kv">[];
  /** Applies a command as the daemon would (used for internal writes such as kv/expire). */
  apply(command: Command): KvResult;
}

export function createFakeDeps(opts: { nowMs?: number; valueBytesMax?: number } = {}): FakeDeps {
  const clock = fixedClock(opts.nowMs ?? START_MS);
  const state = kvProjection.initialState();
  const sinks: Subscriber<"kv">[] = [];
  const deps: FakeDeps = {
    clock,
    kv: state,
    valueBytesMax: opts.valueBytesMax ?? 1.5 * 1024 * 1024,
    raftIndex: 0,
    term: 2,
    leader: MEMBER_ID,
    stateName: "StateLeader",
    membersList: [MEMBER],
    statusCalls: 0,
    proposed: [],
    sinks,
    state: (_name: "kv") => state,
    // Membership in memory, as the daemon's members projection would apply it.
    addMember(peerURLs) {
      const m: MemberInfo = { id: (0x1000 + deps.membersList.length).toString(16), name: "", peerURLs: [...peerURLs], clientURLs: [] };
      deps.membersList.push(m);
      return Promise.resolve(m);
    },
    removeMember(id) {
      deps.membersList = deps.membersList.filter((m) => m.id !== id);
      return Promise.resolve();
    },
    updateMember(id, peerURLs) {
      deps.membersList = deps.membersList.map((m) => (m.id === id ? { ...m, peerURLs: [...peerURLs] } : m));
      return Promise.resolve();
    },
    followerStats: () => [],
    apply(command: Command): KvResult {
      deps.raftIndex++;
      const result = kvProjection.apply(state, command as KvCommand, { index: deps.raftIndex, term: deps.term, timeMs: clock.nowMs() });
      for (const s of sinks) s.onResult(result);
      return result;
    },
    propose(command: KvCommand): Promise<KvResult> {
      if (deps.failNextPropose !== undefined) {
        const code = deps.failNextPropose;
        deps.failNextPropose = undefined;
        return Promise.reject(new NodeError(code, code));
      }
      deps.proposed.push(command);
      // The daemon applies what it decodes from the log entry, so the command goes through the
      // real entry codec here too: a representation CBOR cannot carry fails in api tests.
      const entry = encodeEntry({ timeMs: clock.nowMs(), proposer: MEMBER_ID, requestId: 1, command });
      return Promise.resolve(deps.apply(decodeEntry(entry, deps.raftIndex + 1).command));
    },
    linearizableRead(): Promise<void> {
      if (deps.failReads !== undefined) return Promise.reject(new NodeError(deps.failReads, deps.failReads));
      return Promise.resolve();
    },
    raftPosition(): RaftPosition {
      return { term: deps.term, commitIndex: deps.raftIndex, appliedIndex: deps.raftIndex };
    },
    status(): RaftStatus {
      deps.statusCalls++;
      return {
        id: MEMBER_ID,
        name: "n1",
        clusterId: CLUSTER_ID,
        term: deps.term,
        leader: deps.leader,
        state: deps.stateName,
        commitIndex: deps.raftIndex,
        appliedIndex: deps.raftIndex,
        snapshotIndex: 0,
        firstIndex: 1,
        lastIndex: deps.raftIndex,
        logBytesOnDisk: 4096,
        startTime: "2026-11-23T16:05:22.018Z",
        leaderStartTime: "2026-11-23T16:05:22.220Z",
        recvAppendRequestCnt: 0,
        sendAppendRequestCnt: 0,
      };
    },
    members: () => deps.membersList,
    subscribe(_name: "kv", sub: Subscriber<"kv">): void {
      sinks.push(sub);
    },
  };
  // etcd's three internal writes (member, attributes, cluster version): the first user write is index 4.
  for (const c of kvBootstrapCommands(MEMBER_ID, "n1", [...MEMBER.peerURLs], [...MEMBER.clientURLs])) deps.apply(c);
  return deps;
}

/** The api over one twin, passed for every protocol (as node/server.ts passes the Node). */
export function createFakeApi(deps: FakeDeps, opts: ApiOptions = {}): Api {
  return createApi({ etcdV2: deps, cluster: deps }, opts);
}
