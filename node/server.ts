// Starts a member: the Node, the client API on every --listen-client-urls, and the peer listener
// on --listen-peer-urls. Stops them in the right order. Must not parse flags (config.ts does).

import { mkdirSync } from "node:fs";
import { createApi } from "../api/mod.ts";
import type { Clock } from "../internal/clock.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import { Node } from "./node.ts";
import type { HttpServer, Runtime } from "./runtime.ts";

export const systemClock: Clock = { nowMs: () => Date.now() };

export interface Member {
  readonly node: Node;
  readonly clientServers: readonly HttpServer[];
  readonly peerServers: readonly HttpServer[];
  /** Resolves when the member has stopped (after stop(), or a fatal error). */
  readonly done: Promise<Error | undefined>;
  stop(): Promise<void>;
}

export async function startMember(config: Config, runtime: Runtime, logger: Logger): Promise<Member> {
  mkdirSync(config.dataDir, { recursive: true });
  let finish!: (e: Error | undefined) => void;
  const done = new Promise<Error | undefined>((r) => (finish = r));
  let stopping: Promise<void> | undefined;
  const clientServers: HttpServer[] = [];
  const peerServers: HttpServer[] = [];
  const stopAll = (err?: Error): Promise<void> => {
    stopping ??= (async () => {
      await Promise.allSettled([...clientServers, ...peerServers].map((s) => s.close()));
      node.stop();
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
  });
  await node.waitForLeader(config.electionTimeoutMs * 5);
  const api = createApi(node, {});
  try {
    for (const u of config.listenClientUrls) {
      clientServers.push(await runtime.serve({ hostname: u.hostname, port: Number(u.port), fetch: api.fetch }));
    }
    // The peer port answers what etcd's does for a single member; the Raft transport comes with clustering.
    const peer = (req: Request): Response => {
      const path = new URL(req.url).pathname;
      if (path === "/members") return Response.json(node.members());
      if (path === "/version") return Response.json({ etcdserver: "3.4.23", etcdcluster: "3.4.0" });
      return new Response("404 page not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
    };
    for (const u of config.listenPeerUrls) {
      peerServers.push(await runtime.serve({ hostname: u.hostname, port: Number(u.port), fetch: peer }));
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
  return { node, clientServers, peerServers, done, stop: () => stopAll() };
}
