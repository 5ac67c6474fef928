// Finds external tools (etcd, etcdctl, wrk) on PATH for tests. What a test does when one is
// missing is decided at registration by tests/helpers/requires.ts. Must not install anything:
// .ci/run does that.

import { execFileSync } from "node:child_process";

const found = new Map<string, string | undefined>();

/** Absolute path of an executable on PATH, or undefined. */
export function which(tool: string): string | undefined {
  if (!found.has(tool)) {
    let path: string | undefined;
    try {
      path = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      path = undefined;
    }
    found.set(tool, path);
  }
  return found.get(tool);
}
