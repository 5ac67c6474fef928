// The kv projection's commands: the shapes of etcd v2 writes as they travel in log entries.
// Entries are commands (imperative); the store records results. Must not hold behaviour: only the shapes.

import type { Index } from "../../internal/mod.ts";

/**
 * Paths are the store's internal paths: client keys live under "/1" (etcd's StoreKeysPrefix),
 * cluster metadata under "/0" (StoreClusterPrefix). api/ adds and strips the "/1".
 */
export interface KvSet {
  readonly type: "kv/set";
  readonly path: string;
  readonly value: string;
  readonly dir: boolean;
  /** Seconds; null means permanent. The expiration is the entry's time (the proposer's clock) plus this. */
  readonly ttlSec: number | null;
  readonly refresh: boolean;
  /** undefined: plain set (or CAS when prevValue/prevIndex given); false: create; true: update/CAS. */
  readonly prevExist?: boolean;
  readonly prevValue?: string;
  /** 0 or undefined means absent. */
  readonly prevIndex?: Index;
}

/** POST: create "<path>/<%020d index>". */
export interface KvCreateInOrder {
  readonly type: "kv/create-in-order";
  readonly path: string;
  readonly value: string;
  readonly dir: boolean;
  readonly ttlSec: number | null;
}

export interface KvDelete {
  readonly type: "kv/delete";
  readonly path: string;
  readonly dir: boolean;
  readonly recursive: boolean;
  readonly prevValue?: string;
  readonly prevIndex?: Index;
}

/** Proposed by the leader (kvProjection.due) while TTL nodes are due: removes every node whose expiration <= the entry's time. */
export interface KvExpire {
  readonly type: "kv/expire";
}

export type KvCommand = KvSet | KvCreateInOrder | KvDelete | KvExpire;
