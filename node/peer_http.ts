// The HTTP answers of the peer port, as etcd's peer port gives them: GET /members (the member list
// a joining member reads, with X-Etcd-Cluster-ID), /version and /health. node/peer_server.ts reads
// the request and writes the answer; what it needs of the member is the narrow PeerHttpSource.
// Must not reach the Raft core or the projections: only what PeerHttpSource hands over.

export interface PeerHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the peer port's HTTP answers need of the member. */
export interface PeerHttpSource {
  readonly clusterId: string;
  /** The members as /members lists them (etcd's JSON: id, name, peerURLs, clientURLs). */
  members(): readonly unknown[];
  /** Whether this member knows a leader (/health). */
  hasLeader(): boolean;
}

const VERSION_BODY = '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}';

/** The answer to a GET (or HEAD) of `path` on the peer port. */
export function peerHttpAnswer(source: PeerHttpSource, path: string): PeerHttpResponse {
  const json = { "Content-Type": "application/json", "X-Etcd-Cluster-ID": source.clusterId };
  if (path === "/members") return { status: 200, headers: json, body: JSON.stringify(source.members()) };
  if (path === "/version") return { status: 200, headers: json, body: VERSION_BODY };
  if (path === "/health") {
    const ok = source.hasLeader();
    return { status: ok ? 200 : 503, headers: json, body: ok ? '{"health":"true"}' : '{"health":"false"}' };
  }
  return { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "404 page not found\n" };
}
