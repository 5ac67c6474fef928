// `coreplane serve` configuration: etcd's flag names where they mean the same, each also from an
// environment variable (COREPLANE_DATA_DIR for --data-dir, ...), parsed once into a frozen,
// validated Config. Must not read argv or env itself: main.ts passes them in.

import { parseArgs } from "node:util";
import { limits } from "../internal/mod.ts";

export interface Config {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly URL[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly URL[];
  readonly initialAdvertisePeerUrls: readonly string[];
  /** name -> peer URLs */
  readonly initialCluster: ReadonlyMap<string, readonly string[]>;
  readonly initialClusterState: "new" | "existing";
  readonly initialClusterToken: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  /** Entries kept behind a snapshot so a slightly slow follower catches up without one. */
  readonly snapshotCatchupEntries: number;
  readonly maxRequestBytes: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  /** Client connections per listener; undefined: limits.clientConnectionsMax, kept below the fd limit. */
  readonly clientConnectionsMax?: number;
  /** Undefined: limits.clientHeaderTimeoutMs. */
  readonly clientHeaderTimeoutMs?: number;
  /** Undefined: limits.clientIdleTimeoutMs. */
  readonly clientIdleTimeoutMs?: number;
  /** Undefined: limits.clientBodyTimeoutMs. */
  readonly clientBodyTimeoutMs?: number;
}

/** A bad flag or value: main.ts prints it with the --help hint and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "config/invalid";
}

interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly def: string;
  readonly help: string;
}

export const serveFlags: Record<string, FlagSpec> = {
  "name": { type: "string", def: "default", help: "Human-readable name for this member." },
  "data-dir": { type: "string", def: "coreplane.data", help: "Path to the data directory." },
  "listen-client-urls": { type: "string", def: "http://127.0.0.1:2379", help: "Comma-separated URLs to listen on for client traffic." },
  "advertise-client-urls": { type: "string", def: "", help: "Client URLs advertised to the cluster and to clients (default: the listen URLs)." },
  "listen-peer-urls": { type: "string", def: "http://127.0.0.1:2380", help: "Comma-separated URLs to listen on for peer traffic." },
  "initial-advertise-peer-urls": { type: "string", def: "", help: "This member's peer URLs advertised to the cluster (default: the listen URLs)." },
  "initial-cluster": { type: "string", def: "", help: "Initial cluster configuration, name=peerURL,... (default: this member alone)." },
  "initial-cluster-state": { type: "string", def: "new", help: "'new' to bootstrap a cluster, 'existing' to join one." },
  "initial-cluster-token": { type: "string", def: "etcd-cluster", help: "Token that makes member and cluster ids unique per cluster." },
  "heartbeat-interval": { type: "string", def: String(limits.heartbeatIntervalMsDefault), help: "Time (in milliseconds) of a heartbeat interval." },
  "election-timeout": { type: "string", def: String(limits.electionTimeoutMsDefault), help: "Time (in milliseconds) for an election to timeout." },
  "snapshot-count": { type: "string", def: String(limits.snapshotCountDefault), help: "Number of committed entries that trigger a snapshot of the projections." },
  "snapshot-catchup-entries": { type: "string", def: String(limits.catchUpEntries), help: "Entries kept in the log behind a snapshot for slow followers (etcd keeps 5000)." },
  "max-request-bytes": { type: "string", def: String(limits.valueBytesMax), help: "Largest value accepted in a client request, in bytes." },
  "log-level": { type: "string", def: "info", help: "debug, info, warn or error." },
  "client-connections-max": {
    type: "string",
    def: "",
    help: `Client connections held at once per listener; one more gets a 503 (default ${limits.clientConnectionsMax}, kept ${limits.clientReserveFds} below the open-files limit).`,
  },
  "client-header-timeout": { type: "string", def: String(limits.clientHeaderTimeoutMs), help: "Time (in milliseconds) a client connection has to send a request head." },
  "client-body-timeout": { type: "string", def: String(limits.clientBodyTimeoutMs), help: "Time (in milliseconds) a request with a body has to arrive whole (and, on Deno, be answered)." },
  "client-idle-timeout": { type: "string", def: String(limits.clientIdleTimeoutMs), help: "Time (in milliseconds) an idle keep-alive client connection is kept (watches never count as idle)." },
};

/** --data-dir -> COREPLANE_DATA_DIR */
export function envName(flag: string): string {
  return "COREPLANE_" + flag.toUpperCase().replaceAll("-", "_");
}

function urls(flag: string, v: string): URL[] {
  const out: URL[] = [];
  for (const s of v.split(",").map((x) => x.trim()).filter(Boolean)) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new ConfigError(`--${flag}: "${s}" is not a URL (expected e.g. http://127.0.0.1:2379)`);
    }
    if (u.protocol !== "http:") throw new ConfigError(`--${flag}: ${s}: only http:// is supported so far`);
    if (!u.port) throw new ConfigError(`--${flag}: ${s}: a port is required`);
    out.push(u);
  }
  if (out.length === 0) throw new ConfigError(`--${flag} is empty`);
  return out;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`--${flag}: "${v}" is not a positive whole number`);
  }
  return n;
}

const origin = (u: URL) => `${u.protocol}//${u.host}`;

/** Parses `serve` argv (flags only) with env fallbacks into a frozen Config. Throws ConfigError. */
export function parseServeConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(serveFlags).map(([k, f]) => [k, { type: f.type }]));
    values = parseArgs({ args: [...argv], options: options as never, strict: true, allowPositionals: false }).values as never;
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const get = (flag: string): string => {
    const v = values[flag];
    if (typeof v === "string") return v;
    return env[envName(flag)] ?? serveFlags[flag].def;
  };
  const name = get("name");
  if (!name) throw new ConfigError("--name must not be empty");
  const listenClientUrls = urls("listen-client-urls", get("listen-client-urls"));
  const listenPeerUrls = urls("listen-peer-urls", get("listen-peer-urls"));
  const adv = get("advertise-client-urls");
  const advertiseClientUrls = adv ? urls("advertise-client-urls", adv).map(origin) : listenClientUrls.map(origin);
  const iapu = get("initial-advertise-peer-urls");
  const initialAdvertisePeerUrls = iapu ? urls("initial-advertise-peer-urls", iapu).map(origin) : listenPeerUrls.map(origin);
  const ic = get("initial-cluster") || `${name}=${initialAdvertisePeerUrls.join(`,${name}=`)}`;
  const initialCluster = new Map<string, string[]>();
  for (const part of ic.split(",").map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new ConfigError(`--initial-cluster: "${part}" is not name=peerURL`);
    const n = part.slice(0, eq);
    const u = urls("initial-cluster", part.slice(eq + 1)).map(origin);
    initialCluster.set(n, [...(initialCluster.get(n) ?? []), ...u]);
  }
  const mine = initialCluster.get(name);
  if (!mine) throw new ConfigError(`--initial-cluster has no member named "${name}" (the --name of this member)`);
  const missing = initialAdvertisePeerUrls.filter((u) => !mine.includes(u));
  if (missing.length > 0) {
    throw new ConfigError(
      `--initial-cluster gives ${name}=${mine.join(",")} but --initial-advertise-peer-urls is ${initialAdvertisePeerUrls.join(",")}; they must match`,
    );
  }
  const state = get("initial-cluster-state");
  if (state !== "new" && state !== "existing") throw new ConfigError(`--initial-cluster-state must be new or existing, not "${state}"`);
  const heartbeatIntervalMs = positiveInt("heartbeat-interval", get("heartbeat-interval"));
  const electionTimeoutMs = positiveInt("election-timeout", get("election-timeout"));
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(`--election-timeout (${electionTimeoutMs}) should be at least 5 times --heartbeat-interval (${heartbeatIntervalMs})`);
  }
  const level = get("log-level");
  if (!["debug", "info", "warn", "error"].includes(level)) throw new ConfigError(`--log-level must be debug, info, warn or error`);
  return Object.freeze({
    name,
    dataDir: get("data-dir"),
    listenClientUrls,
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: get("initial-cluster-token"),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: positiveInt("snapshot-count", get("snapshot-count")),
    snapshotCatchupEntries: positiveInt("snapshot-catchup-entries", get("snapshot-catchup-entries")),
    maxRequestBytes: positiveInt("max-request-bytes", get("max-request-bytes")),
    logLevel: level as Config["logLevel"],
    clientConnectionsMax: get("client-connections-max") === "" ? undefined : positiveInt("client-connections-max", get("client-connections-max")),
    clientHeaderTimeoutMs: positiveInt("client-header-timeout", get("client-header-timeout")),
    clientBodyTimeoutMs: positiveInt("client-body-timeout", get("client-body-timeout")),
    clientIdleTimeoutMs: positiveInt("client-idle-timeout", get("client-idle-timeout")),
  });
}

export function serveHelp(): string {
  const lines = ["Usage: coreplane serve [flags]", "", "Runs a member of a coreplane cluster.", "", "Flags (each also from the environment variable shown):"];
  for (const [k, f] of Object.entries(serveFlags)) {
    lines.push(`  --${k}${f.def ? ` (default ${JSON.stringify(f.def)})` : ""}   [${envName(k)}]`, `      ${f.help}`);
  }
  return lines.join("\n");
}
