// Test driver for the kv projection: a fresh store bootstrapped like etcd 3.4 (first user write
// at index 4), etcd-flavoured request helpers on client keys, and a renderer to etcd's wire JSON
// so responses captured from a real etcd 3.4.23 can be pasted into assertions. Must not hold assertions.

import type { KvCommand } from "../../projections/mod.ts";
import {
  kvBootstrapCommands,
  kvGet,
  type KvNode,
  kvProjection,
  type KvResult,
  type KvState,
} from "../../projections/mod.ts";
import type { KvError } from "../../projections/mod.ts";

export const MEMBER_ID = "2e1259d415f2a040";
/** An arbitrary entry time; expirations are relative to it. */
export const T0 = 1_795_000_000_000;

export interface PutOpts {
  value?: string;
  dir?: boolean;
  ttl?: number;
  refresh?: boolean;
  prevExist?: boolean;
  prevValue?: string;
  prevIndex?: number;
}

/** Client key "/foo" -> internal "/1/foo" (client root "/" -> "/1"). */
export function internal(key: string): string {
  return key === "/" || key === "" ? "/1" : "/1" + key;
}

export class Given {
  state: KvState = kvProjection.initialState();
  timeMs = T0;
  raftIndex = 0;

  constructor(bootstrap = true) {
    if (bootstrap) {
      for (const c of kvBootstrapCommands(MEMBER_ID, "n1", ["http://127.0.0.1:23800"], ["http://127.0.0.1:23790"])) {
        this.apply(c);
      }
    }
  }

  apply(cmd: KvCommand): KvResult {
    this.raftIndex++;
    return kvProjection.apply(this.state, cmd, { index: this.raftIndex, term: 2, timeMs: this.timeMs });
  }

  at(timeMs: number): this {
    this.timeMs = timeMs;
    return this;
  }

  put(key: string, o: PutOpts = {}): KvResult {
    const cmd: KvCommand = {
      type: "kv/set",
      path: internal(key),
      value: o.value ?? "",
      dir: o.dir ?? false,
      ttlSec: o.ttl ?? null,
      refresh: o.refresh ?? false,
      ...(o.prevExist !== undefined ? { prevExist: o.prevExist } : {}),
      ...(o.prevValue !== undefined ? { prevValue: o.prevValue } : {}),
      ...(o.prevIndex !== undefined ? { prevIndex: o.prevIndex } : {}),
    };
    return this.apply(cmd);
  }

  post(key: string, o: { value?: string; dir?: boolean; ttl?: number } = {}): KvResult {
    return this.apply({
      type: "kv/create-in-order",
      path: internal(key),
      value: o.value ?? "",
      dir: o.dir ?? false,
      ttlSec: o.ttl ?? null,
    });
  }

  del(key: string, o: { dir?: boolean; recursive?: boolean; prevValue?: string; prevIndex?: number } = {}): KvResult {
    return this.apply({
      type: "kv/delete",
      path: internal(key),
      dir: o.dir ?? false,
      recursive: o.recursive ?? false,
      ...(o.prevValue !== undefined ? { prevValue: o.prevValue } : {}),
      ...(o.prevIndex !== undefined ? { prevIndex: o.prevIndex } : {}),
    });
  }

  get(key: string, o: { recursive?: boolean; sorted?: boolean } = {}): KvResult {
    return kvGet(this.state, internal(key), { recursive: o.recursive ?? false, sorted: o.sorted ?? false }, this.timeMs);
  }

  expire(): KvResult {
    return this.apply({ type: "kv/expire" });
  }

  /** Internal /0 writes until the etcd index is `index`, so later writes land where a capture had them. */
  fillTo(index: number): this {
    while (this.state.index < index) {
      this.apply({ type: "kv/set", path: "/0/filler", value: "x", dir: false, ttlSec: null, refresh: false });
    }
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// etcd wire JSON (what api/ writes), with every expiration string replaced by "E": captures
// have nanosecond timestamps that a test cannot reproduce; ttl and expirationMs are checked apart.

function stripKey(k: string): string {
  return k === "/1" ? "" : k.startsWith("/1/") ? k.slice(2) : k;
}

function wireNode(n: KvNode): string {
  const parts: string[] = [];
  const key = n.key === undefined ? "" : stripKey(n.key);
  if (key !== "") parts.push(`"key":${JSON.stringify(key)}`);
  if (n.value !== undefined) parts.push(`"value":${JSON.stringify(n.value)}`);
  if (n.dir) parts.push(`"dir":true`);
  if (n.expirationMs !== undefined) parts.push(`"expiration":"E"`);
  if (n.ttl !== undefined) parts.push(`"ttl":${n.ttl}`);
  if (n.nodes !== undefined && n.nodes.length > 0) parts.push(`"nodes":[${n.nodes.map(wireNode).join(",")}]`);
  if (n.modifiedIndex !== 0) parts.push(`"modifiedIndex":${n.modifiedIndex}`);
  if (n.createdIndex !== 0) parts.push(`"createdIndex":${n.createdIndex}`);
  return `{${parts.join(",")}}`;
}

export function wireError(e: KvError): string {
  const cause = e.cause === undefined ? "" : stripKey(e.cause);
  return JSON.stringify(
    cause === ""
      ? { errorCode: e.errorCode, message: e.message, index: e.index }
      : { errorCode: e.errorCode, message: e.message, cause, index: e.index },
  );
}

/** One event or error as etcd's body (no trailing newline). */
export function wire(r: KvResult | { type: "event"; event: import("../../projections/mod.ts").KvEvent }): string {
  if (r.type === "error") return wireError(r.error);
  if (r.type === "expire") return r.events.map((e) => wire({ type: "event", event: e })).join("\n");
  const e = r.event;
  const prev = e.prevNode ? `,"prevNode":${wireNode(e.prevNode)}` : "";
  return `{"action":${JSON.stringify(e.action)},"node":${wireNode(e.node)}${prev}}`;
}

/** A captured body with expiration timestamps normalised like wire() does. */
export function capture(body: string): string {
  return body.replace(/"expiration":"[^"]*"/g, '"expiration":"E"');
}
