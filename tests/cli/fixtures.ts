// Builds data dirs for the log CLI tests without a running member: a real SqliteStorage log
// written the way node.ts writes one (conf change at 1, the leader's no-op at 2, then commands in
// envelopes), with snapshots of the real projection state and compaction where asked. Also runs
// the CLI as a child process and flips a byte of a stored entry.
// Must not start servers (tests use tests/helpers/procs.ts for that).

import { spawn } from "node:child_process";
import type { Index } from "../../internal/brand.ts";
import { encodeConfChange } from "../../log/conf_change.ts";
import { encodeEntry } from "../../projections/mod.ts";
import { ConfChangeType, type Entry, EntryType } from "../../log/types.ts";
import { Applier } from "../../projections/mod.ts";
import type { Command } from "../../projections/mod.ts";
import { encodeSnapshot } from "../../projections/mod.ts";
import { loadRuntime } from "../../node/runtime.ts";
import { DB_FILE, SqliteStorage } from "../../node/storage_sqlite.ts";
import { mainCommand, repoRoot } from "../helpers/procs.ts";
import { join } from "node:path";

export const MEMBER = "8e9e05c52164694d";
export const T0_MS = Date.UTC(2026, 0, 2, 3, 4, 5);

export interface FixtureOptions {
  /** Take a snapshot of the state after every this many entries (0: never). */
  readonly snapshotEvery?: number;
  /** After each snapshot, compact the log up to snapshot index - keep (undefined: never compact). */
  readonly compactKeep?: number;
  /** Entries per save() batch. */
  readonly batch?: number;
}

/**
 * Writes a log of `commands` into `dir`: entry i+3 carries commands[i], stamped T0_MS + i*1000 ms.
 * Returns the last index.
 */
export async function writeLog(dir: string, commands: Iterable<Command>, o: FixtureOptions = {}): Promise<Index> {
  const rt = await loadRuntime();
  const st = await SqliteStorage.open(rt, dir);
  st.putMeta("identity", JSON.stringify({ memberId: MEMBER, clusterId: "cdf818194e3a8c32", members: [] }));
  st.setConfState({ voters: [MEMBER], learners: [] });
  // Snapshots hold what the one apply path gives for every entry, the conf change included, as a member's do.
  const applier = new Applier();
  const batchMax = o.batch ?? 4096;
  let batch: Entry[] = [
    { index: 1, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: MEMBER, context: new Uint8Array(0) }) },
    { index: 2, term: 2, type: EntryType.Normal, data: new Uint8Array(0) },
  ];
  for (const e of batch) applier.apply(e);
  let index = 2;
  let i = 0;
  const flush = () => {
    if (batch.length === 0) return;
    st.save({ entries: batch, hardState: { term: 2, vote: MEMBER, commit: batch[batch.length - 1].index } });
    batch = [];
  };
  for (const command of commands) {
    index++;
    const timeMs = T0_MS + i * 1000;
    const entry: Entry = { index, term: 2, type: EntryType.Normal, data: encodeEntry({ timeMs, proposer: MEMBER, requestId: ++i, command }) };
    batch.push(entry);
    applier.apply(entry);
    if (batch.length >= batchMax) flush();
    if (o.snapshotEvery && index % o.snapshotEvery === 0) {
      flush();
      st.createSnapshot(index, { voters: [MEMBER], learners: [] }, encodeSnapshot(applier.states), timeMs);
      if (o.compactKeep !== undefined && index - o.compactKeep > st.firstIndex()) st.compact(index - o.compactKeep);
    }
  }
  flush();
  st.close();
  return index;
}

/** Plain client sets: "/1" + key. */
export function set(key: string, value: string, ttlSec: number | null = null): Command {
  return { type: "kv/set", path: "/1" + key, value, dir: false, ttlSec, refresh: false };
}

export function del(key: string, recursive = false): Command {
  return { type: "kv/delete", path: "/1" + key, dir: recursive, recursive };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `main.ts <args>` on the current runtime and collects its output. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { cmd, args: pre } = mainCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr: stderr.replace(/^npm warn.*\n/gm, "") }));
  });
}

/** Flips one byte in the middle of entry `index`'s data, with the runtime's own SQLite driver. */
export async function corruptEntry(dir: string, index: Index): Promise<void> {
  const rt = await loadRuntime();
  const db = rt.openSqlite(join(dir, DB_FILE));
  try {
    const row = db.prepare("SELECT data FROM entries WHERE idx = ?").get(index);
    if (!row) throw new Error(`no entry ${index} in ${dir}`);
    const data = new Uint8Array(row.data as Uint8Array);
    data[Math.floor(data.length / 2) + 2] ^= 0x20;
    db.prepare("UPDATE entries SET data = ? WHERE idx = ?").run(data, index);
  } finally {
    db.close();
  }
}
