// Test helpers for external tools (etcd, etcdctl, wrk): find them, and decide what a test does
// when one is missing. Under CI=true a missing tool is a failure; elsewhere the test prints a
// visible "SKIP <reason>" line (counted by tests/ci.mjs) and passes without running.
// Must not install anything: .ci/run does that.

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

/**
 * True when the tool is there. When it is missing: throws under CI=true (the test fails),
 * otherwise prints "SKIP <test>: <tool> is not installed" and returns false.
 */
export function needTool(tool: string, testName: string, hint = `apt-get install ${tool}`): boolean {
  if (which(tool)) return true;
  const why = `${tool} is not installed (${hint})`;
  if (process.env.CI === "true") throw new Error(`${testName}: ${why}, and CI=true requires it`);
  console.log(`SKIP ${testName}: ${why}`);
  return false;
}
