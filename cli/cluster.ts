// `coreplane cluster status`: asks every endpoint for GET /v1/cluster/status (api/cluster/) and
// prints one row per member (id, name, Raft state, term, leader, commit/applied/snapshot index,
// log range and size) as a table, or --json. Exit 0 when every endpoint answered and they agree
// on a leader, 5 (unhealthy) when some did not or there is no leader, 2 when none answered.
// Must not change anything on the members.

import type { ClusterStatusJson } from "../api/mod.ts";
import { parseFlags, strFlag, UsageError } from "./args.ts";
import { ConnectionError, endpointsOf, request } from "./http.ts";
import { type CliIo, ExitCode } from "./io.ts";

const TIMEOUT_MS = 2000;

const USAGE = `Usage: coreplane cluster <command> [flags]

Commands:
  status    every member's Raft progress, as a table (or --json)

Run "coreplane cluster status --help" for its flags.
`;

const STATUS_HELP = `Usage: coreplane cluster status [--endpoints URLS] [--json]

Asks each endpoint for GET /v1/cluster/status and prints one row per member: its id and name, its
Raft state and term, the leader it follows, its commit, applied and snapshot indexes, the range of
log entries it stores, and the log's size on disk.

  --endpoints URLS   comma-separated [COREPLANE_ENDPOINTS, default http://127.0.0.1:2379]
  --json             a JSON array, one object per endpoint ({endpoint, ...status} or {endpoint, error})

Exit codes: 0 healthy, 2 no endpoint answered, 5 some did not answer or there is no leader.
`;

type Row = { endpoint: string } & (ClusterStatusJson | { error: string });

export async function runCluster(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    if (sub === undefined) io.err(USAGE);
    else io.out(USAGE);
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (sub !== "status") {
    io.err(`coreplane cluster: unknown command "${sub}"\n\n${USAGE}`);
    return ExitCode.usage;
  }
  try {
    const { values, positionals } = parseFlags(rest, { endpoints: { type: "string" }, json: { type: "boolean" } });
    if (values.help) {
      io.out(STATUS_HELP);
      return ExitCode.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const endpoints = endpointsOf(strFlag(values, "endpoints"), io.env);
    const rows = await Promise.all(endpoints.map((ep) => statusOf(ep)));
    if (values.json) io.out(JSON.stringify(rows) + "\n");
    else io.out(table(rows));
    const ok = rows.filter((r): r is { endpoint: string } & ClusterStatusJson => !("error" in r));
    if (ok.length === 0) {
      io.err(`no endpoint answered: ${rows.map((r) => ("error" in r ? r.error : "")).join("; ")}\n`);
      return ExitCode.badConnection;
    }
    if (ok.length < rows.length) return ExitCode.unhealthy;
    if (ok.some((r) => r.leader === "")) {
      if (!values.json) io.err("cluster is unavailable: no leader\n");
      return ExitCode.unhealthy;
    }
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`coreplane cluster status: ${e.message}\nRun "coreplane cluster status --help" for the flags.\n`);
      return ExitCode.usage;
    }
    throw e;
  }
}

async function statusOf(endpoint: string): Promise<Row> {
  try {
    const r = await request([endpoint], { method: "GET", path: "/v1/cluster/status", timeoutMs: TIMEOUT_MS });
    if (r.status !== 200) return { endpoint, error: `HTTP ${r.status}: ${r.body.trim().slice(0, 200)}` };
    return { endpoint, ...(JSON.parse(r.body) as ClusterStatusJson) };
  } catch (e) {
    if (e instanceof ConnectionError) return { endpoint, error: e.attempts[0] ?? e.message };
    return { endpoint, error: (e as Error).message };
  }
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "StateLeader" -> "leader". */
function stateName(s: string): string {
  return s.replace(/^State/, "").toLowerCase();
}

function table(rows: Row[]): string {
  const head = ["ENDPOINT", "ID", "NAME", "STATE", "TERM", "LEADER", "COMMIT", "APPLIED", "SNAPSHOT", "LOG", "LOG SIZE"];
  const body: string[][] = [];
  const errors: string[] = [];
  for (const r of rows) {
    if ("error" in r) {
      body.push([r.endpoint, "-", "-", "unreachable", "-", "-", "-", "-", "-", "-", "-"]);
      errors.push(r.error.startsWith(r.endpoint) ? r.error : `${r.endpoint}: ${r.error}`);
      continue;
    }
    body.push([
      r.endpoint,
      r.id,
      r.name,
      stateName(r.state),
      String(r.term),
      r.leader === "" ? "(none)" : r.leader === r.id ? "self" : r.leader,
      String(r.commitIndex),
      String(r.appliedIndex),
      String(r.snapshotIndex),
      r.lastIndex >= r.firstIndex ? `${r.firstIndex}..${r.lastIndex}` : "(empty)",
      bytes(r.logBytesOnDisk),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd() + "\n";
  let out = line(head);
  for (const b of body) out += line(b);
  const cluster = rows.find((r): r is { endpoint: string } & ClusterStatusJson => !("error" in r))?.clusterId;
  if (cluster) out += `cluster ${cluster}\n`;
  for (const e of errors) out += `unreachable: ${e}\n`;
  return out;
}
