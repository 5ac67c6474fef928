// `coreplane log dump|replay|history|export|verify|repair`: the offline tools over a data dir
// (opened read-only) or a portable export file (--file). Every result shown is computed by the
// same apply path as the live member (replay.ts -> projections/applier.ts).
// Must not modify a data dir, except `repair`, which asks no questions but refuses when a member
// holds the dir or when it would lose acknowledged entries without --force.

import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Index } from "../internal/brand.ts";
import { AssertionError } from "../internal/assert.ts";
import { EntryType } from "../log/types.ts";
import { nodeJson } from "../api/json.ts";
import {
  CorruptEntryError,
  decodeEnvelope,
  type KvError,
  type KvEvent,
  type KvNode,
  type KvResult,
  kvGet,
  kvNodeCount,
  type States,
  type UnknownCommandResult,
} from "../projections/mod.ts";
import { intFlag, parseFlags, strFlag, UsageError, type FlagValues } from "./cli_args.ts";
import { type CliIo, ExitCode } from "./cli.ts";
import { LOG_FILE_FORMAT, LOG_FILE_VERSION, LogFileError, LogFileWriter } from "./log_file.ts";
import { type LogSource, openDataDirSource, openFileSource } from "./log_source.ts";
import { verifyLog } from "./log_verify.ts";
import { fmtInt, Progress } from "./progress.ts";
import { checkReplayable, describeAvailable, type EntryView, ReplayRangeError, walk } from "./replay.ts";
import { clusterRepairAdvice } from "./repair_advice.ts";
import { loadRuntime } from "./runtime.ts";
import { isHeldByAnother, NoLogError } from "./sqlite_readonly.ts";
import { DB_FILE, SqliteStorage } from "./storage_sqlite.ts";
import { requestLabel } from "./request_id.ts";

const DEFAULT_DATA_DIR = "coreplane.data";

const USAGE = `Usage: coreplane log <command> [flags]

Offline tools for a member's log. They read the data dir read-only (safe on a copy, and while a
member runs), or a portable export file given with --file.

Commands:
  dump      print every entry: index, term, leader time, proposer, command and its result
  replay    rebuild the state as it was at an index; print a summary, the key tree or one key
  history   every entry that touched a key
  export    write a portable log file for a bug report
  verify    check CRCs, index continuity and snapshots; exit 6 when damaged
  repair    drop a damaged tail (--truncate-after N)

Common flags:
  --data-dir D   the member's data dir [COREPLANE_DATA_DIR, default "${DEFAULT_DATA_DIR}"]
  --file F       read an export file (from "coreplane log export") instead of a data dir

Run "coreplane log <command> --help" for a command's flags.
`;

const SOURCE_FLAGS = {
  "data-dir": { type: "string" },
  file: { type: "string" },
} as const;

const HELP: Record<string, string> = {
  dump: `Usage: coreplane log dump [--data-dir D | --file F] [--from I] [--to I] [--json]

Prints every entry in [from, to], one line each: index, term, leader time (ISO), proposer and
request id, the command, and "=>" its result (computed by replaying from the newest snapshot at
or below --from, or from index 1). Keys are shown as clients see them ("/foo"); the cluster's
internal keys as "(internal)/0/...". Entries whose earlier state was compacted away show no result.

  --from I   first index (default: the first stored entry)
  --to I     last index (default: the last stored entry)
  --json     one JSON object per line (for jq): index, term, kind, timeMs, time, proposer,
             requestId, command and result with the store's internal paths ("/1/foo")
`,
  replay: `Usage: coreplane log replay [--data-dir D | --file F] [--to I] [--key K [--recursive]] [--json]

Rebuilds every projection as it was right after entry I, starting from the newest snapshot at or
below I (or from empty when the log reaches back to index 1), and prints:
  without --key: a summary (index, etcd index, number of nodes) and the replay rate;
                 with --json, the whole key tree as etcd would list it (recursive, sorted)
  with --key K:  the etcd v2 node of client key K at that point, as JSON

  --to I         the index (default: the last stored entry)
  --key K        a client key, e.g. /foo
  --recursive    with --key on a directory: include the whole subtree
  --json         JSON output
`,
  history: `Usage: coreplane log history --key K [--data-dir D | --file F] [--recursive] [--json]

Lists every entry that touched client key K: sets, creates, updates, compare-and-swaps, deletes
and expiries of K, deletions and expiries of a directory above K, and commands on K that the store
rejected. One line each: index, leader time, action, and the effect (previous -> new value).

  --key K        the client key, e.g. /foo
  --recursive    also keys below K
  --json         one JSON object per line
`,
  export: `Usage: coreplane log export --out OUT [--data-dir D] [--from I] [--to I]
       coreplane log export --file OUT [--data-dir D] [--from I] [--to I]

Writes a portable log file: a header (format version, member and cluster ids, index range, commit
index, and the stored snapshots the range can replay from) followed by the raw entries, byte for
byte, so their CRCs still verify. Every other log command reads it with --file.

  --file OUT / --out OUT   the file to write (must not exist)
  --from I, --to I         the range (default: every stored entry)
`,
  verify: `Usage: coreplane log verify [--data-dir D | --file F] [--json]

Checks every entry's CRC and decoding, index continuity, terms, the commit index, and each
snapshot: its CRC, and that replaying the log up to it gives the same encoded state (when the log
still reaches back to index 1 or to an older snapshot; otherwise it says what could be checked).
Exit 0 when clean; 6 with the first bad index and the repair command when not.

  --json   print the report as JSON
`,
  repair: `Usage: coreplane log repair --truncate-after N [--data-dir D] [--force]

Deletes every entry after N (a damaged or torn tail) and lowers the commit index to N. Asks no
questions. Refuses when a member has the data dir open, when N is below the first stored entry,
and, unless --force, when N is below the commit index (acknowledged writes would be lost) or below
the newest snapshot (which --force then deletes too); the lost entries are gone. Refuses, whatever
the flags, on a member of a cluster: the leader counts the entries it acknowledged, so a member
with a damaged log is replaced instead (member remove, a fresh data dir, member add, start it with
--initial-cluster-state existing), and the message says how.

  --truncate-after N   keep entries up to and including N
  --force              allow losing committed entries / snapshots above N
`,
};

export async function runLog(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(USAGE);
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const cmd = COMMANDS[sub];
  if (!cmd) {
    io.err(`coreplane log: unknown command "${sub}"\n\n${USAGE}`);
    return ExitCode.usage;
  }
  try {
    return await cmd(rest, io);
  } catch (e) {
    return reportError(e, sub, io);
  }
}

const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  dump: runDump,
  replay: runReplay,
  history: runHistory,
  export: runExport,
  verify: runVerify,
  repair: runRepair,
};

function reportError(e: unknown, sub: string, io: CliIo): number {
  if (e instanceof UsageError) {
    io.err(`coreplane log ${sub}: ${e.message}\nRun "coreplane log ${sub} --help" for the flags.\n`);
    return ExitCode.usage;
  }
  if (e instanceof ReplayRangeError) {
    io.err(`coreplane log ${sub}: ${e.message}\n`);
    return ExitCode.usage;
  }
  if (e instanceof NoLogError || e instanceof LogFileError) {
    io.err(`coreplane log ${sub}: ${e.message}\n`);
    return ExitCode.dataError;
  }
  if (e instanceof CorruptEntryError) {
    io.err(`coreplane log ${sub}: ${e.message}\nRun "coreplane log verify" on it for the full picture and the repair command.\n`);
    return ExitCode.dataError;
  }
  const err = e as Error;
  io.err(`coreplane log ${sub}: ${err?.message ?? String(e)}\n`);
  return ExitCode.dataError;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

function dataDirOf(values: FlagValues, io: CliIo): string {
  return strFlag(values, "data-dir") ?? io.env.COREPLANE_DATA_DIR ?? DEFAULT_DATA_DIR;
}

async function openSource(values: FlagValues, io: CliIo): Promise<LogSource> {
  const file = strFlag(values, "file");
  if (file !== undefined) {
    if (values["data-dir"] !== undefined) throw new UsageError("give --data-dir or --file, not both");
    return openFileSource(file);
  }
  return openDataDirSource(await loadRuntime(), dataDirOf(values, io));
}

function helpOr(values: FlagValues, sub: string, io: CliIo): boolean {
  if (values.help) io.out(HELP[sub]);
  return Boolean(values.help);
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

/** Internal store path -> what a client sees: "/1/foo" -> "/foo", "/0/x" -> "(internal)/0/x". */
function showPath(p: string | undefined): string {
  if (p === undefined || p === "/1") return "/";
  if (p.startsWith("/1/")) return p.slice(2);
  return `(internal)${p}`;
}

/** A client key -> the store's internal path ("/foo" -> "/1/foo"), cleaned like etcd's path.Clean. */
function internalPath(key: string): string {
  const parts = key.split("/").filter((x) => x !== "" && x !== ".");
  const out: string[] = [];
  for (const x of parts) {
    if (x === "..") out.pop();
    else out.push(x);
  }
  return out.length === 0 ? "/1" : "/1/" + out.join("/");
}

function isoTime(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString();
}

function q(s: string | undefined): string {
  return s === undefined ? "" : JSON.stringify(s);
}

/** A command, compactly: its type, path and value, then every other field that is set. */
function showCommand(c: unknown): string {
  if (c === null || typeof c !== "object") return JSON.stringify(c);
  const o = c as Record<string, unknown>;
  let out = String(o.type ?? "?");
  if (typeof o.path === "string") out += " " + showPath(o.path);
  if (typeof o.value === "string") out += " " + q(o.value);
  for (const [k, v] of Object.entries(o)) {
    if (k === "type" || k === "path" || k === "value" || v === undefined || v === null || v === false) continue;
    if (k === "prevIndex" && v === 0) continue;
    out += v === true ? ` ${k}` : ` ${k}=${typeof v === "string" ? q(v) : JSON.stringify(v)}`;
  }
  return out;
}

function showNodeValue(n: KvNode | undefined): string {
  if (n === undefined) return "(none)";
  if (n.dir) return "(dir)";
  return n.value === undefined ? "(no value)" : q(n.value);
}

function showEvent(ev: KvEvent): string {
  let out = `${ev.action} ${showPath(ev.node.key)}`;
  if (ev.node.dir) out += " (dir)";
  else if (ev.node.value !== undefined) out += ` = ${q(ev.node.value)}`;
  if (ev.prevNode) out += `, was ${showNodeValue(ev.prevNode)}`;
  if (ev.node.expirationMs !== undefined) out += `, expires ${isoTime(ev.node.expirationMs)}`;
  if (ev.refresh) out += " (refresh)";
  return out + ` [etcd index ${ev.index}]`;
}

/** A result, compactly; kv results in etcd's words, anything else as JSON. */
function showResult(r: unknown): string {
  const kv = r as KvResult;
  const type = (r as { type?: string } | null)?.type;
  switch (type) {
    case "event":
      return showEvent((kv as { event: KvEvent }).event);
    case "error": {
      const e = (kv as { error: KvError }).error;
      return `rejected ${e.errorCode}: ${e.message}${e.cause ? ` (${showPathsIn(e.cause)})` : ""} [etcd index ${e.index}]`;
    }
    case "expire": {
      const events = (kv as { events: KvEvent[] }).events;
      if (events.length === 0) return "expire: nothing due";
      return `expire ${events.length}: ` + events.map((ev) => showPath(ev.node.key)).join(", ");
    }
    case "unknown-command":
      return `no projection owns ${q((r as UnknownCommandResult).commandType)}: ignored`;
    default:
      return JSON.stringify(r);
  }
}

function showPathsIn(cause: string): string {
  return cause.startsWith("/1/") || cause === "/1" ? showPath(cause) : cause;
}

// ---------------------------------------------------------------------------------------------
// dump

async function runDump(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, from: { type: "string" }, to: { type: "string" }, json: { type: "boolean" } });
  if (helpOr(values, "dump", io)) return ExitCode.ok;
  noPositionals(positionals);
  const src = await openSource(values, io);
  try {
    const from = intFlag(values, "from", 1) ?? src.firstIndex;
    const to = Math.min(intFlag(values, "to", 0) ?? src.lastIndex, src.lastIndex);
    if (from < src.firstIndex) {
      throw new ReplayRangeError(`--from ${from} is before the first stored entry ${src.firstIndex} (earlier entries were compacted into a snapshot). ${describeAvailable(src)}`);
    }
    const json = Boolean(values.json);
    const progress = new Progress(io, "dump");
    let out = "";
    const flush = () => {
      if (out.length > 0) io.out(out);
      out = "";
    };
    let unknownNoted = false;
    walk(src, {
      from,
      to,
      visit: (v) => {
        if (json) out += JSON.stringify(entryJson(v)) + "\n";
        else {
          if (!v.known && !unknownNoted) {
            unknownNoted = true;
            out += `# results before the first usable snapshot are unknown: ${describeAvailable(src)}\n`;
          }
          out += dumpLine(v) + "\n";
        }
        if (out.length > 1 << 16) flush();
      },
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.done();
    flush();
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

function entryJson(v: EntryView): Record<string, unknown> {
  const e = v.entry;
  const o: Record<string, unknown> = { index: e.index, term: e.term, kind: v.kind };
  if (v.envelope) {
    o.timeMs = v.envelope.timeMs;
    o.time = isoTime(v.envelope.timeMs);
    o.proposer = v.envelope.proposer;
    o.requestId = v.envelope.requestId;
    o.command = v.envelope.command;
    o.result = v.known ? v.result : null;
    if (!v.known) o.resultUnknown = true;
  }
  if (v.confChange) o.confChange = { type: v.confChange.type, nodeId: v.confChange.nodeId, contextBytes: v.confChange.context.length };
  return o;
}

const CONF_CHANGE_NAMES = ["AddNode", "RemoveNode", "UpdateNode", "AddLearnerNode"];

function dumpLine(v: EntryView): string {
  const e = v.entry;
  const head = `${String(e.index).padStart(8)}  t${e.term}`;
  switch (v.kind) {
    case "noop":
      return `${head}  -  -  (leader no-op: a new term begins)`;
    case "conf-change":
      return `${head}  -  -  conf change ${CONF_CHANGE_NAMES[v.confChange!.type] ?? v.confChange!.type} ${v.confChange!.nodeId}`;
    default: {
      const env = v.envelope!;
      const result = v.known ? showResult(v.result) : "(result unknown: state before this entry was compacted)";
      return `${head}  ${isoTime(env.timeMs)}  ${env.proposer}#${requestLabel(env.requestId)}  ${showCommand(env.command)}  => ${result}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// replay

async function runReplay(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...SOURCE_FLAGS,
    to: { type: "string" },
    key: { type: "string" },
    recursive: { type: "boolean", short: "r" },
    json: { type: "boolean" },
  });
  if (helpOr(values, "replay", io)) return ExitCode.ok;
  noPositionals(positionals);
  const src = await openSource(values, io);
  try {
    const to = intFlag(values, "to", 0) ?? src.lastIndex;
    const start = checkReplayable(src, to);
    const progress = new Progress(io, `replay to ${to}`);
    const t0 = performance.now();
    const r = walk(src, {
      from: to + 1,
      to,
      onProgress: (d, t) => progress.update(d, t),
    });
    const seconds = (performance.now() - t0) / 1000;
    progress.done();
    // The leader time of the last command applied: TTLs are shown as they were then.
    const lastTimeMs = lastCommandTime(src, to);
    const states = r.states as States;
    const kv = states.kv;
    const nowMs = lastTimeMs ?? Date.now();
    const from = start.snapshot ? `the snapshot at ${start.index}` : "empty";
    const secs = Math.max(seconds, 1e-6);
    const rate = `replayed ${fmtInt(r.entries)} entries (${start.index + 1}..${to}) from ${from} in ${seconds.toFixed(2)} s: ${fmtInt(r.entries / secs)} entries/s` +
      (start.snapshot ? `; the state of all ${fmtInt(to)} entries in ${seconds.toFixed(2)} s: ${fmtInt(to / secs)} entries/s\n` : "\n");
    const key = strFlag(values, "key");
    if (key !== undefined) {
      const got = kvGet(kv, internalPath(key), { recursive: Boolean(values.recursive), sorted: true }, nowMs);
      io.err(rate);
      if (got.type === "error") {
        const e = got.error;
        if (values.json) io.out(JSON.stringify(e) + "\n");
        io.err(`Error:  ${e.errorCode}: ${e.message} (${e.cause ? showPathsIn(e.cause) : ""}) [${e.index}]\n`);
        return ExitCode.serverError;
      }
      if (got.type !== "event") throw new Error(`kvGet answered ${got.type}`);
      io.out(nodeJson(got.event.node) + "\n");
      return ExitCode.ok;
    }
    const term = to >= src.firstIndex ? termAt(src, to) : undefined;
    if (values.json) {
      const keys = kvGet(kv, "/1", { recursive: true, sorted: true }, nowMs);
      const cluster = kvGet(kv, "/0", { recursive: true, sorted: true }, nowMs);
      const head = {
        index: to,
        term: term ?? null,
        timeMs: lastTimeMs ?? null,
        time: lastTimeMs === undefined ? null : isoTime(lastTimeMs),
        etcdIndex: kv.index,
        nodes: kvNodeCount(kv),
      };
      const body = JSON.stringify(head).slice(0, -1) +
        `,"keys":${keys.type === "event" ? nodeJson(keys.event.node) : "null"}` +
        `,"cluster":${cluster.type === "event" ? nodeJson(cluster.event.node) : "null"}}\n`;
      io.out(body);
      io.err(rate);
      return ExitCode.ok;
    }
    io.out(
      `state at index ${to}${term !== undefined ? ` (term ${term}` : " ("}${lastTimeMs !== undefined ? `, leader time ${isoTime(lastTimeMs)})` : ")"}\n` +
        `  etcd index  ${kv.index}\n` +
        `  nodes       ${fmtInt(kvNodeCount(kv))} (keys and directories, the /0 and /1 namespaces included)\n` +
        rate,
    );
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

function termAt(src: LogSource, i: Index): number | undefined {
  for (const e of src.entries(i, i)) return e.term;
  return src.snapshots.find((s) => s.index === i)?.term;
}

/** The leader time of the newest command at or below `i`, looking back a little. */
function lastCommandTime(src: LogSource, i: Index): number | undefined {
  const lo = Math.max(src.firstIndex, i - 64);
  let t: number | undefined;
  for (const e of src.entries(lo, i)) {
    if (e.data.length === 0 || e.type !== EntryType.Normal) continue;
    try {
      t = decodeEnvelope(e.data, e.index).timeMs;
    } catch { /* replay would have failed first */ }
  }
  return t;
}


// ---------------------------------------------------------------------------------------------
// history

interface HistoryLine {
  index: Index;
  term: number;
  timeMs: number;
  action: string;
  key: string;
  prevValue?: string | null;
  value?: string | null;
  via?: string;
  rejected?: { errorCode: number; message: string; cause?: string };
}

async function runHistory(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, key: { type: "string" }, recursive: { type: "boolean", short: "r" }, json: { type: "boolean" } });
  if (helpOr(values, "history", io)) return ExitCode.ok;
  noPositionals(positionals);
  const key = strFlag(values, "key");
  if (key === undefined) throw new UsageError("--key is required");
  const path = internalPath(key);
  const recursive = Boolean(values.recursive);
  const under = path + "/";
  const matches = (k: string | undefined) => k === path || (recursive && k !== undefined && k.startsWith(under));
  const src = await openSource(values, io);
  try {
    const json = Boolean(values.json);
    const progress = new Progress(io, "history");
    /** The last value seen per matching key, so deletions by an ancestor can say what was lost. */
    const current = new Map<string, string | null>();
    let out = "";
    let count = 0;
    const emit = (h: HistoryLine) => {
      count++;
      if (json) out += JSON.stringify(h) + "\n";
      else {
        const effect = h.rejected
          ? `rejected ${h.rejected.errorCode}: ${h.rejected.message}${h.rejected.cause ? ` (${showPathsIn(h.rejected.cause)})` : ""}`
          : `${showVal(h.prevValue)} -> ${showVal(h.value)}${h.via ? ` (${h.via})` : ""}`;
        out += `${String(h.index).padStart(8)}  ${isoTime(h.timeMs)}  ${h.action.padEnd(16)}  ${showPath(h.key)}  ${effect}\n`;
      }
    };
    walk(src, {
      from: src.firstIndex,
      to: src.lastIndex,
      onKnown: (states) => {
        // Seed what the key held at the start point (a snapshot, or empty).
        const got = kvGet(states.kv, path, { recursive, sorted: true }, 0);
        if (got.type === "event") seed(got.event.node, current);
      },
      visit: (v) => {
        if (v.kind !== "command" || !v.known) {
          if (v.kind === "command" && !v.known) {
            const c = v.envelope!.command as { path?: string };
            if (matches(c.path)) {
              emit({ index: v.entry.index, term: v.entry.term, timeMs: v.envelope!.timeMs, action: "(unknown result)", key: c.path!, value: null, via: showCommand(c) });
            }
          }
          return;
        }
        const env = v.envelope!;
        const base = { index: v.entry.index, term: v.entry.term, timeMs: env.timeMs };
        const r = v.result as KvResult;
        const onEvent = (ev: KvEvent) => {
          const k = ev.node.key;
          const removal = ev.action === "delete" || ev.action === "compareAndDelete" || ev.action === "expire";
          if (matches(k)) {
            const prev = current.has(k!) ? current.get(k!)! : ev.prevNode ? (ev.prevNode.value ?? null) : null;
            const value = removal ? null : ev.node.dir ? null : (ev.node.value ?? null);
            if (removal && ev.node.dir) {
              // A directory removed: everything recorded below it went with it.
              for (const ck of [...current.keys()]) if (ck.startsWith(k + "/")) current.delete(ck);
            }
            if (removal) current.delete(k!);
            else current.set(k!, value);
            emit({ ...base, action: ev.action, key: k!, prevValue: ev.prevNode ? (ev.prevNode.value ?? null) : prev, value, ...(ev.node.dir ? { via: "directory" } : {}) });
            return;
          }
          if (removal && k !== undefined && (path.startsWith(k + "/") || (recursive && under.startsWith(k + "/")))) {
            // An ancestor directory was removed: every key below it went too.
            const gone = [...current.keys()].filter((ck) => ck.startsWith(k + "/"));
            if (gone.length === 0 && !recursive) gone.push(path);
            for (const ck of gone) {
              emit({ ...base, action: ev.action, key: ck, prevValue: current.get(ck) ?? null, value: null, via: `with directory ${showPath(k)}` });
              current.delete(ck);
            }
          }
        };
        if (r?.type === "event") onEvent(r.event);
        else if (r?.type === "expire") for (const ev of r.events) onEvent(ev);
        else if (r?.type === "error") {
          const c = env.command as { path?: string; type: string };
          if (matches(c.path)) {
            emit({ ...base, action: c.type, key: c.path!, rejected: r.error });
          }
        }
        if (out.length > 1 << 16) {
          io.out(out);
          out = "";
        }
      },
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.done();
    if (out.length > 0) io.out(out);
    if (count === 0 && !json) io.err(`no entry in ${src.firstIndex}..${src.lastIndex} touched ${key}\n`);
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

/** Iterative: a listing nests as deep as the store does (issue 12: a 9,000-deep key). */
function seed(top: KvNode, into: Map<string, string | null>): void {
  const stack = [top];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.key !== undefined) into.set(n.key, n.dir ? null : (n.value ?? null));
    const kids = n.nodes ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]); // pre-order, as the recursion was
  }
}

function showVal(v: string | null | undefined): string {
  return v === null || v === undefined ? "(none)" : q(v);
}

// ---------------------------------------------------------------------------------------------
// export

async function runExport(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    "data-dir": { type: "string" },
    file: { type: "string" },
    out: { type: "string", short: "o" },
    from: { type: "string" },
    to: { type: "string" },
  });
  if (helpOr(values, "export", io)) return ExitCode.ok;
  noPositionals(positionals);
  const outPath = strFlag(values, "out") ?? strFlag(values, "file");
  if (outPath === undefined) throw new UsageError("--file OUT (or --out OUT) is required: the export file to write");
  if (values.out !== undefined && values.file !== undefined) throw new UsageError("give --file or --out, not both");
  const src = await openDataDirSource(await loadRuntime(), dataDirOf(values, io));
  try {
    const from = intFlag(values, "from", 1) ?? src.firstIndex;
    const to = Math.min(intFlag(values, "to", 0) ?? src.lastIndex, src.lastIndex);
    if (from < src.firstIndex) {
      throw new ReplayRangeError(`--from ${from} is before the first stored entry ${src.firstIndex}. ${describeAvailable(src)}`);
    }
    if (to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
    // Refuse to overwrite: an export is evidence.
    try {
      closeSync(openSync(outPath, "wx"));
    } catch (e) {
      throw new UsageError(`cannot create ${outPath}: ${(e as Error).message}`);
    }
    const snaps = src.snapshots
      .filter((s) => s.index >= from - 1 && s.index <= to)
      .map((s) => ({ index: s.index, term: s.term, data: src.snapshotData(s.index) }));
    const w = new LogFileWriter(outPath, {
      format: LOG_FILE_FORMAT,
      version: LOG_FILE_VERSION,
      memberId: src.memberId,
      clusterId: src.clusterId,
      firstIndex: from,
      lastIndex: to,
      commitIndex: src.commitIndex,
      term: src.term,
      voters: src.voters,
      snapshots: snaps,
      exportedAtMs: Date.now(),
      source: src.description,
    });
    const progress = new Progress(io, "export");
    const total = to - from + 1;
    try {
      for (const e of src.entries(from, to)) {
        w.add(e);
        if ((w.count & 0x3fff) === 0) progress.update(w.count, total);
      }
    } finally {
      w.close();
      progress.done();
    }
    const note = from > 1 && snaps.every((s) => s.index !== from - 1)
      ? snaps.length > 0
        ? ` Results of entries before index ${snaps[0].index + 1} will be unknown to the reader (state before them is not in the file).`
        : ` The file holds no snapshot and does not start at index 1: readers can list its entries but not compute their results.`
      : "";
    io.out(`wrote ${outPath}: entries ${from}..${to} (${fmtInt(w.count)}), ${snaps.length} snapshot(s)${snaps.length ? ` at ${snaps.map((s) => s.index).join(", ")}` : ""}.${note}\n`);
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

// ---------------------------------------------------------------------------------------------
// verify

async function runVerify(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, json: { type: "boolean" } });
  if (helpOr(values, "verify", io)) return ExitCode.ok;
  noPositionals(positionals);
  const src = await openSource(values, io);
  const progress = new Progress(io, "verify");
  try {
    const rep = verifyLog(src, (d, t) => progress.update(d, t));
    progress.done();
    const dataDir = values.file === undefined ? dataDirOf(values, io) : undefined;
    const repair = rep.badIndex !== undefined ? repairAdvice(rep.badIndex, src, dataDir) : undefined;
    if (values.json) {
      io.out(JSON.stringify({ source: src.description, ok: rep.problems.length === 0, ...rep, repair: repair?.command || null }) + "\n");
    } else {
      let out = `${src.description}: member ${src.memberId}, cluster ${src.clusterId}\n` +
        `  entries ${src.firstIndex}..${src.lastIndex}, commit index ${src.commitIndex}, term ${src.term}, ` +
        `snapshots: ${src.snapshots.length > 0 ? src.snapshots.map((s) => s.index).join(", ") : "none"}\n`;
      for (const c of rep.checks) out += `ok   ${c}\n`;
      for (const p of rep.problems) out += `BAD  ${p}\n`;
      if (rep.problems.length === 0) out += "the log is clean\n";
      else if (repair) out += repair.text;
      io.out(out);
    }
    return rep.problems.length === 0 ? ExitCode.ok : ExitCode.dataError;
  } finally {
    progress.done();
    src.close();
  }
}

/**
 * The last entry a client may have been told was written. The stored commit index lags by up to
 * one batch (a commit-only change is not fsynced), and a single member commits every entry as soon
 * as it is durable, so there every stored entry counts.
 */
function acknowledgedUpTo(src: LogSource): Index {
  return src.voters.length <= 1 ? Math.max(src.commitIndex, src.lastIndex) : src.commitIndex;
}

function repairAdvice(bad: Index, src: LogSource, dataDir: string | undefined): { command: string; text: string } {
  const keep = bad - 1;
  const lost = src.lastIndex - keep;
  const committedLost = Math.max(0, acknowledgedUpTo(src) - keep);
  const newestSnap = src.snapshots.length > 0 ? src.snapshots[src.snapshots.length - 1].index : 0;
  const force = committedLost > 0 || newestSnap > keep;
  const command = `coreplane log repair${dataDir !== undefined ? ` --data-dir ${dataDir}` : ""} --truncate-after ${keep}${force ? " --force" : ""}`;
  if (src.voters.length > 1 && dataDir !== undefined) {
    return { command: "", text: `the log is damaged from index ${bad}; a member will not start on it.\n${clusterRepairAdvice(dataDir)}\n` };
  }
  let text = `the log is damaged from index ${bad}; a member will not start on it.\n` +
    `To drop entry ${bad} and everything after it (${fmtInt(lost)} entries${committedLost > 0 ? `, ${fmtInt(committedLost)} of them committed` : ""}):\n  ${command}\n`;
  if (committedLost > 0) {
    text += `--force is needed because committed (acknowledged) entries are lost. In a cluster this member copies them back from the leader; a single member loses those writes.\n`;
  }
  if (dataDir === undefined) text += `(this is an export file: run repair on the data dir it came from)\n`;
  return { command, text };
}

// ---------------------------------------------------------------------------------------------
// repair

async function runRepair(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { "data-dir": { type: "string" }, "truncate-after": { type: "string" }, force: { type: "boolean" } });
  if (helpOr(values, "repair", io)) return ExitCode.ok;
  noPositionals(positionals);
  const n = intFlag(values, "truncate-after", 0);
  if (n === undefined) throw new UsageError("--truncate-after N is required (the last entry to keep)");
  const force = Boolean(values.force);
  const dataDir = dataDirOf(values, io);
  const rt = await loadRuntime();
  if (isHeldByAnother(rt, dataDir)) {
    io.err(`coreplane log repair: a running process (a member?) has ${dataDir} open. Stop it first; nothing was changed.\n`);
    return ExitCode.dataError;
  }
  const src = await openDataDirSource(rt, dataDir);
  const info = {
    first: src.firstIndex,
    last: src.lastIndex,
    commit: src.commitIndex,
    acked: acknowledgedUpTo(src),
    single: src.voters.length <= 1,
    snapshots: src.snapshots.map((s) => s.index),
  };
  src.close();
  const refuse = (why: string) => {
    io.err(`coreplane log repair: ${why}\nNothing was changed.\n`);
    return ExitCode.dataError;
  };
  if (!info.single) return refuse(clusterRepairAdvice(dataDir));
  if (n >= info.last) {
    io.out(`nothing to do: the log ends at ${info.last}, at or before ${n}\n`);
    return ExitCode.ok;
  }
  if (n < info.first - 1) {
    return refuse(`entries up to ${info.first - 1} were compacted into a snapshot; the log cannot be truncated below ${info.first - 1}`);
  }
  const snapsAbove = info.snapshots.filter((s) => s > n);
  if (snapsAbove.length > 0) {
    if (!force) {
      return refuse(`the newest snapshot is at ${snapsAbove[snapsAbove.length - 1]}, after ${n}: truncating would leave a snapshot of entries the log no longer holds. Add --force to delete the snapshot(s) at ${snapsAbove.join(", ")} as well`);
    }
    const remaining = info.snapshots.filter((s) => s <= n && s >= info.first - 1);
    if (info.first > 1 && remaining.length === 0) {
      return refuse(`deleting the snapshot(s) at ${snapsAbove.join(", ")} would leave no starting point: entries before ${info.first} are compacted and no older snapshot meets them`);
    }
  }
  if (n < info.acked && !force) {
    return refuse(
      `entries ${n + 1}..${info.acked} are committed${info.single ? " (a single member commits every entry it has stored)" : ""}: ` +
        `clients may have been told they were written. Add --force to drop them anyway ` +
        `(a single member loses them)`,
    );
  }
  if (snapsAbove.length > 0) {
    // storage_sqlite.ts has no call for deleting snapshots; this is the only write outside it, under --force.
    const db = rt.openSqlite(join(dataDir, DB_FILE));
    try {
      db.prepare("DELETE FROM snapshots WHERE idx > ?").run(n);
    } finally {
      db.close();
    }
  }
  let storage: SqliteStorage;
  try {
    storage = await SqliteStorage.open(rt, dataDir);
  } catch (e) {
    if (e instanceof AssertionError) return refuse(`the log cannot be opened for repair: ${e.message}`);
    throw e;
  }
  let removed: number;
  try {
    removed = storage.truncateAfter(n);
  } finally {
    storage.close();
  }
  io.out(
    `truncated ${dataDir} after index ${n}: removed ${fmtInt(removed)} entries (${n + 1}..${info.last})` +
      `${info.commit > n ? `; commit index lowered from ${info.commit} to ${n}` : ""}` +
      `${snapsAbove.length > 0 ? `; deleted snapshot(s) at ${snapsAbove.join(", ")}` : ""}.\n` +
      `Check it with: coreplane log verify --data-dir ${dataDir}\n`,
  );
  return ExitCode.ok;
}
