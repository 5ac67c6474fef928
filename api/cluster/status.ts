// The native cluster status endpoint, GET /v1/cluster/status: this member's Raft view (id, name,
// term, leader, commit/applied/snapshot index, first/last log index, log bytes on disk) as one
// JSON object, plus on the leader every member's replication progress and the peer port's abuse
// counters, for operators and the bench. Must not do I/O: it only renders deps.status().

import type { MemberInfo, RaftStatus } from "../deps.ts";
import type { ClusterDeps } from "./deps.ts";
import { errorResponse, baseHeaders, reply } from "../http.ts";
import { methodNotAllowedReply } from "../errors.ts";

/** The JSON shape of /v1/cluster/status (stable field names; numbers are plain JSON numbers). */
export interface ClusterStatusJson {
  id: string;
  name: string;
  clusterId: string;
  state: string;
  term: number;
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  snapshotIndex: number;
  firstIndex: number;
  lastIndex: number;
  logBytesOnDisk: number;
  /** The members, each with the leader's view of its log when this member leads. */
  members: { id: string; name: string; peerURLs: string[]; clientURLs: string[]; match?: number; next?: number; progress?: string }[];
  /** The peer port: what it refused (by reason) and what it holds now (connections, buffered bytes). */
  peer?: Record<string, number>;
}

export function clusterStatusJson(st: RaftStatus, members: readonly MemberInfo[] = []): ClusterStatusJson {
  return {
    id: st.id,
    name: st.name,
    clusterId: st.clusterId,
    state: st.state,
    term: st.term,
    leader: st.leader,
    commitIndex: st.commitIndex,
    appliedIndex: st.appliedIndex,
    snapshotIndex: st.snapshotIndex,
    firstIndex: st.firstIndex,
    lastIndex: st.lastIndex,
    logBytesOnDisk: st.logBytesOnDisk,
    members: members.map((m) => {
      const p = st.progress?.[m.id];
      return {
        id: m.id, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs],
        ...(p ? { match: p.match, next: p.next, progress: p.state } : {}),
      };
    }),
    ...(st.peer ? { peer: { ...st.peer } } : {}),
  };
}

/** GET (or HEAD) /v1/cluster/status. */
export function serveClusterStatus(deps: ClusterDeps, req: Request, origin: string | null): Response {
  const head = req.method === "HEAD";
  if (req.method !== "GET" && !head) return errorResponse(origin, methodNotAllowedReply(), false, { allow: "GET,HEAD" });
  const h = baseHeaders(origin);
  h["content-type"] = "application/json";
  return reply(200, h, JSON.stringify(clusterStatusJson(deps.status(), deps.members())) + "\n", head);
}
