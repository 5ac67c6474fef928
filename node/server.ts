// Starts a member: the Node, the peer listener on --listen-peer-urls (Raft streams and etcd's peer
// GETs, node/peer_server.ts) and the client API on every --listen-client-urls. Stops them in the
// right order: a leader hands leadership over first. Must not parse flags (config.ts does).

import { mkdirSync } from "node:fs";
import { createApi } from "../api/mod.ts";
import type { Clock } from "../internal/mod.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import { Node } from "./node.ts";
import { type PeerServer, startPeerServer } from "./peer_server.ts";
import type { ConnectionGuard, HttpServer, Runtime } from "./runtime.ts";
import { readFileSync } from "node:fs";
import { limits } from "../internal/mod.ts";

export const systemClock: Clock = { nowMs: () => Date.now() };

export interface Member {
  readonly node: Node;
  readonly clientServers: readonly HttpServer[];
  readonly peerServers: readonly PeerServer[];
  /** Resolves when the member has stopped (after stop(), or a fatal error). */
  readonly done: Promise<Error | undefined>;
  stop(): Promise<void>;
}

/** The soft limit on open files of this process, from /proc (Linux), or undefined. */
function softFdLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The client listeners' bounds. Without --client-connections-max the cap also stays
 * limits.clientReserveFds below the fd limit: past it, accept fails with EMFILE for clients and
 * SQLite and the peer port alike, where a 503 tells the one client too many what happened.
 */
function clientGuard(config: Config): ConnectionGuard {
  let connectionsMax = config.clientConnectionsMax;
  if (connectionsMax === undefined) {
    connectionsMax = limits.clientConnectionsMax;
    const fds = softFdLimit();
    if (fds !== undefined && fds - limits.clientReserveFds >= limits.clientReserveFds) {
      connectionsMax = Math.min(connectionsMax, fds - limits.clientReserveFds);
    }
  }
  return {
    connectionsMax,
    headerTimeoutMs: config.clientHeaderTimeoutMs ?? limits.clientHeaderTimeoutMs,
    idleTimeoutMs: config.clientIdleTimeoutMs ?? limits.clientIdleTimeoutMs,
    bodyTimeoutMs: config.clientBodyTimeoutMs ?? limits.clientBodyTimeoutMs,
  };
}

export async function startMember(config: Config, runtime: Runtime, logger: Logger): Promise<Member> {
  mkdirSync(config.dataDir, { recursive: true });
  let finish!: (e: Error | undefined) => void;
  const done = new Promise<Error | undefined>((r) => (finish = r));
  let stopping: Promise<void> | undefined;
  const clientServers: HttpServer[] = [];
  const peerServers: PeerServer[] = [];
  const stopAll = (err?: Error, graceful = false): Promise<void> => {
    stopping ??= (async () => {
      // A leader first hands over (peers must still be reachable for that), then listeners close.
      if (graceful && !err) await node.stopGracefully(config.electionTimeoutMs);
      // The node first: it fails every waiting write and read, so their handlers finish and the
      // servers' graceful shutdown has nothing to wait for but long-poll watchers, which are cut
      // after a short grace (the process exits right after).
      node.stop();
      const closing = Promise.allSettled([...clientServers, ...peerServers].map((s) => s.close()));
      await Promise.race([closing, new Promise((r) => setTimeout(r, limits.shutdownGraceMs))]);
      finish(err);
    })();
    return stopping;
  };
  const node = await Node.start({
    config,
    runtime,
    logger,
    clock: systemClock,
    onFatal: (e) => void stopAll(e),
    onRemoved: () => void stopAll(),
  });
  const api = createApi({ etcdV2: node, cluster: node }, {});
  const guard = clientGuard(config);
  try {
    // Peers first: the other members may be waiting for this one to elect a leader.
    for (const u of config.listenPeerUrls) {
      peerServers.push(await startPeerServer(u.hostname, Number(u.port), node.peerHandler(), logger));
    }
    // A single member elects itself at once; serve clients only when it has applied its log, so a
    // read after a restart sees every acknowledged write. Members of a cluster serve at once and
    // answer "no leader" until one is elected, as etcd does.
    if (node.single) await node.waitForLeader(config.electionTimeoutMs * 5);
    for (const u of config.listenClientUrls) {
      clientServers.push(
        await runtime.serve({
          hostname: u.hostname,
          port: Number(u.port),
          fetch: api.fetch,
          isStream: api.isStream,
          guard,
          log: (level, msg, fields) => logger[level](msg, { listener: u.href, ...fields }),
        }),
      );
    }
  } catch (e) {
    await stopAll();
    const err = e as Error & { code?: string };
    if (err.code === "EADDRINUSE" || /address already in use|AddrInUse/i.test(err.message)) {
      throw new Error(`${err.message}: another process listens there (an etcd or another coreplane?); stop it or pass other --listen-*-urls`);
    }
    throw e;
  }
  logger.info("serving", {
    client: config.listenClientUrls.map((u) => u.href),
    peer: config.listenPeerUrls.map((u) => u.href),
    runtime: `${runtime.name} ${runtime.version}`,
  });
  return { node, clientServers, peerServers, done, stop: () => stopAll(undefined, true) };
}
