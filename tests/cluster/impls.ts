// Which implementations the cluster fault suites run against. CLUSTER_IMPL=coreplane|etcd|coreplane,etcd
// picks; the default is coreplane (etcd runs only when asked, to prove the harness on a reference).
// Must not start anything.

import type { Implementation } from "../helpers/cluster.ts";

/**
 * True when coreplane members can form a cluster, else the reason the coreplane cases are skipped.
 * They can since the lead's peer transport landed (commit ca1b104, "cluster: peer transport ...").
 */
export function coreplaneClusterReady(): true | string {
  return true;
}

export function implementations(): Implementation[] {
  const env = process.env.CLUSTER_IMPL;
  if (!env) return ["coreplane"];
  const out = env.split(",").map((s) => s.trim()).filter((s): s is Implementation => s === "coreplane" || s === "etcd");
  if (out.length === 0) throw new Error(`CLUSTER_IMPL=${env}: expected coreplane, etcd or both (comma-separated)`);
  return out;
}

/**
 * CLUSTER_CASES=<substring>[,<substring>] runs only the cases whose name contains one of them
 * (for sweeping seeds over one scenario); the others print a SKIP line.
 */
export function selected(name: string): boolean {
  const env = process.env.CLUSTER_CASES;
  if (!env || env.split(",").some((s) => s.trim() !== "" && name.includes(s.trim()))) return true;
  console.log(`SKIP ${name}: not selected by CLUSTER_CASES=${env}`);
  return false;
}
