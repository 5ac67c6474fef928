// The one way a test that cannot run here says so. At registration time the test states what it
// needs (a tool on PATH, a tmpfs, ...): when that is missing it is registered with uvu's skip and
// prints one "SKIP <name>: <reason>" line, so uvu counts it under "Skipped" and not as passed;
// under CI=true it is registered as a test that fails with the reason instead. Must not install
// anything (.ci/run does that) and must not decide inside a running test.

import type { Callback, Test } from "uvu";
import { which } from "./tools.ts";

type Body = Callback;

/** How to get each tool the suites use, for the reason line. */
const HINTS: Record<string, string> = {
  etcd: "apt-get install etcd-server",
  etcdctl: "apt-get install etcd-client",
  wrk: "apt-get install wrk",
};

/** Why the first missing tool cannot be used ("etcd is not installed (apt-get ...)"), or undefined when all are there. */
export function missingTools(...tools: string[]): string | undefined {
  for (const t of tools) if (!which(t)) return `${t} is not installed (${HINTS[t] ?? `install ${t}`})`;
  return undefined;
}

/**
 * Registers `name` on suite `s`: as is when `missing` is undefined; otherwise as a skip with a
 * visible SKIP line, or, under CI=true, as a test that fails saying what is missing.
 */
export function requires(s: Test, name: string, missing: string | undefined, body: Body): void {
  if (missing === undefined) s(name, body);
  else if (process.env.CI === "true") {
    s(name, () => {
      throw new Error(`${name}: ${missing}, and CI=true requires it`);
    });
  } else skip(s, name, missing, body);
}

/** Registers `name` as skipped on purpose (not selected, say), with its SKIP line; never a failure. */
export function skip(s: Test, name: string, reason: string, body: Body): void {
  console.log(`SKIP ${name}: ${reason}`);
  s.skip(name, body);
}
