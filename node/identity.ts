// Who this member is and which cluster it belongs to, as the data dir records it: worked out once
// when the data dir is fresh (a bootstrap from --initial-cluster, or a join that asks the running
// members) and read back from the storage meta on every later start.
// Must not touch the Raft core, the log's entries or the projections: the node does that with the
// identity this returns.

import type { NodeId } from "../internal/mod.ts";
import type { MemberInfo } from "../api/mod.ts";
import type { Config } from "./config.ts";
import { clusterIdFor, memberIdFor } from "./ids.ts";
import type { Logger } from "./logger.ts";

/** The state a data dir's metadata records about this member and its cluster. */
export interface Identity {
  readonly memberId: NodeId;
  readonly clusterId: string;
  /** The members this data dir was created with (a bootstrap's --initial-cluster, or a join's fetch). */
  readonly members: readonly MemberInfo[];
}

/** The storage meta the identity lives in (node/storage_sqlite.ts). */
export interface IdentityMeta {
  getMeta(key: string): string | undefined;
  putMeta(key: string, value: string): void;
}

/**
 * This member's identity. A fresh data dir gets one (and keeps it durably): with
 * --initial-cluster-state existing it is asked of the running members; otherwise it is derived from
 * --initial-cluster, and `bootstrap` says the node must write the cluster's first entries. A data
 * dir that holds a log must hold its identity too.
 */
export async function loadIdentity(
  meta: IdentityMeta,
  fresh: boolean,
  cfg: Config,
  logger: Logger,
): Promise<{ readonly id: Identity; readonly bootstrap: boolean }> {
  if (fresh) {
    let id: Identity;
    let bootstrap = false;
    if (cfg.initialClusterState === "existing") {
      id = await joinIdentity(cfg, logger);
    } else {
      // Sorted by id: every member must write byte-identical bootstrap entries.
      const members: MemberInfo[] = [...cfg.initialCluster.entries()]
        .map(([name, peers]) => ({ id: memberIdFor(peers, cfg.initialClusterToken), name, peerURLs: peers, clientURLs: [] as string[] }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const memberId = memberIdFor(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
      id = { memberId, clusterId: clusterIdFor(members.map((m) => m.id)), members };
      bootstrap = true;
    }
    meta.putMeta("identity", JSON.stringify(id));
    return { id, bootstrap };
  }
  const raw = meta.getMeta("identity");
  if (!raw) throw new Error(`${cfg.dataDir} holds a log but no member identity; it was not written by coreplane serve`);
  const id = JSON.parse(raw) as Identity;
  const want = memberIdFor(cfg.initialAdvertisePeerUrls, cfg.initialClusterToken);
  if (want !== id.memberId && cfg.initialClusterState === "new") {
    logger.warn("peer URLs differ from those this data dir was created with; keeping the stored member id", {
      stored: id.memberId,
      flags: want,
    });
  }
  return { id, bootstrap: false };
}

/**
 * --initial-cluster-state existing: ask the running members (GET <peer URL>/members, as etcd's
 * joining member does) for the member list and the cluster id, and find this member in it by its
 * peer URLs. It must have been added first (POST /v2/members or etcdctl member add).
 */
async function joinIdentity(cfg: Config, logger: Logger): Promise<Identity> {
  const mine = new Set(cfg.initialAdvertisePeerUrls);
  const urls = [...cfg.initialCluster.values()].flat().filter((u) => !mine.has(u));
  if (urls.length === 0) {
    throw new Error("--initial-cluster-state existing needs --initial-cluster to name at least one running member besides this one");
  }
  const until = Date.now() + 15_000;
  const errors: string[] = [];
  while (Date.now() < until) {
    for (const u of urls) {
      try {
        const r = await fetch(`${u}/members`, { signal: AbortSignal.timeout(2000) });
        const clusterId = r.headers.get("x-etcd-cluster-id") ?? "";
        const members = (await r.json()) as MemberInfo[];
        if (!r.ok || !Array.isArray(members) || clusterId === "") throw new Error(`unexpected answer ${r.status}`);
        const me = members.find((m) => m.peerURLs.some((p) => mine.has(p)));
        if (!me) {
          throw new Error(
            `the cluster at ${u} (id ${clusterId}) has no member with peer URL ${cfg.initialAdvertisePeerUrls.join(",")}; ` +
              `add it first: curl -X POST ${u.replace(/:\d+$/, ":2379")}/v2/members -H 'Content-Type: application/json' ` +
              `-d '{"peerURLs":["${cfg.initialAdvertisePeerUrls[0]}"]}' (or etcdctl member add)`,
          );
        }
        logger.info("joining a running cluster", { cluster: clusterId, id: me.id, via: u, members: members.length });
        return { memberId: me.id, clusterId, members: members.map((m) => ({ ...m, clientURLs: [...m.clientURLs] })) };
      } catch (e) {
        const msg = (e as Error).message;
        if (msg.startsWith("the cluster at")) throw e;
        errors.push(`${u}: ${msg}`);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `--initial-cluster-state existing: could not get the member list from any of ${urls.join(", ")} ` +
      `(last errors: ${errors.slice(-urls.length).join("; ")}); start the running members first, or use --initial-cluster-state new`,
  );
}
