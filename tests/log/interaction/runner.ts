// Runs one datadriven interaction script (tests/testdata/*.txt) against a fresh InteractionEnv
// and reports every directive whose output differs from the golden output, as a unified diff
// headed by the script's name and line; with rewrite on, writes the actual outputs back into
// the file instead (REWRITE=1, like etcd's -rewrite). Must not hold scripts or Raft logic.

import { readFileSync, writeFileSync } from "node:fs";
import { normalizeOutput, parseScript, rewriteScript, unifiedDiff } from "./datadriven.ts";
import { InteractionEnv } from "./env.ts";

export interface ScriptResult {
  /** One entry per mismatching directive, ready to print. */
  readonly failures: string[];
  readonly directives: number;
  readonly rewritten: boolean;
}

/** `label` names the script in messages (e.g. "tests/testdata/campaign.txt"). */
export function runScript(path: string, label: string, rewrite: boolean): ScriptResult {
  const text = readFileSync(path, "utf8");
  const directives = parseScript(text);
  const env = new InteractionEnv();
  const actuals: string[] = [];
  const failures: string[] = [];
  for (const d of directives) {
    let actual: string;
    try {
      actual = normalizeOutput(env.handle(d));
    } catch (e) {
      const err = e as Error;
      err.message = `${label}:${d.line}: ${d.cmdLine}: ${err.message}`;
      throw err;
    }
    actuals.push(actual);
    if (actual !== d.expected) {
      failures.push(`${label}:${d.line}: ${d.cmdLine}\n--- expected\n+++ actual\n` +
        unifiedDiff(d.expected, actual, d.expectedLine));
    }
  }
  if (rewrite) {
    const updated = rewriteScript(text, directives, actuals);
    if (updated !== text) writeFileSync(path, updated);
    return { failures: [], directives: directives.length, rewritten: updated !== text };
  }
  return { failures, directives: directives.length, rewritten: false };
}
