// Which implementations the cluster fault suites run against. CLUSTER_IMPL=coreplane|etcd|coreplane,etcd
// picks; the default is coreplane (etcd runs only when asked, to prove the harness on a reference).
// Must not start anything.

import type { Test } from "uvu";
import type { Implementation } from "../helpers/cluster.ts";
import { missingTools, requires, skip } from "../helpers/requires.ts";

export function implementations(): Implementation[] {
  const env = process.env.CLUSTER_IMPL;
  if (!env) return ["coreplane"];
  const out = env.split(",").map((s) => s.trim()).filter((s): s is Implementation => s === "coreplane" || s === "etcd");
  if (out.length === 0) throw new Error(`CLUSTER_IMPL=${env}: expected coreplane, etcd or both (comma-separated)`);
  return out;
}

/** CLUSTER_CASES=<substring>[,<substring>] runs only the cases whose name contains one of them (for sweeping seeds over one scenario). */
export function selected(name: string): boolean {
  const env = process.env.CLUSTER_CASES;
  return !env || env.split(",").some((s) => s.trim() !== "" && name.includes(s.trim()));
}

/**
 * Registers a scenario on `s`: skipped (with its SKIP line) when CLUSTER_CASES leaves it out, and
 * through requires() when the implementation needs a tool (etcd) this machine may lack.
 */
export function scenario(s: Test, impl: Implementation, title: string, name: string, body: (name: string) => Promise<void>): void {
  const run = () => body(name);
  if (!selected(name)) skip(s, title, `not selected by CLUSTER_CASES=${process.env.CLUSTER_CASES}`, run);
  else requires(s, title, impl === "etcd" ? missingTools("etcd") : undefined, run);
}
