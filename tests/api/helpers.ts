// Helpers for api tests: one request through app.fetch with no socket, the response as plain
// data, and a way to move the etcd index to where a captured example starts.
// Must not hold assertions about behaviour (the *.test.ts files do).

import type { Api, ApiOptions } from "../../api/mod.ts";
import { createFakeApi, createFakeDeps, type FakeDeps } from "./fake_deps.ts";

export const BASE = "http://127.0.0.1:23790";
export const FORM = "application/x-www-form-urlencoded";

export const CORS = {
  "access-control-allow-headers": "accept, content-type, authorization",
  "access-control-allow-methods": "POST, GET, OPTIONS, PUT, DELETE",
  "access-control-allow-origin": "*",
};

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Setup {
  deps: FakeDeps;
  api: Api;
  req(method: string, path: string, body?: string | Uint8Array<ArrayBuffer>, contentType?: string | null): Promise<Reply>;
  /** The live watchers, as /v2/stats/store reports them. */
  watchers(): Promise<number>;
  /** Internal writes (under /0) until the next write takes `index`. */
  advanceTo(index: number): void;
}

export function setup(opts: { deps?: FakeDeps; api?: ApiOptions; valueBytesMax?: number } = {}): Setup {
  const deps = opts.deps ?? createFakeDeps({ valueBytesMax: opts.valueBytesMax });
  const api = createFakeApi(deps, opts.api ?? {});
  return {
    deps,
    api,
    req: async (method, path, body, contentType = FORM) => {
      const headers: Record<string, string> = {};
      if (body !== undefined && contentType !== null) headers["content-type"] = contentType;
      const res = await api.fetch(new Request(BASE + path, { method, body, headers }));
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
    watchers: async () => {
      const res = await api.fetch(new Request(BASE + "/v2/stats/store"));
      return (JSON.parse(await res.text()) as { watchers: number }).watchers;
    },
    advanceTo(index: number) {
      while (deps.kv.index < index - 1) {
        deps.apply({ type: "kv/set", path: "/0/filler", value: "x", dir: false, ttlSec: null, refresh: false });
      }
    },
  };
}

/** The headers of a successful keys reply (CORS included). */
export function okHeaders(etcdIndex: number, raftIndex: number, term = 2): Record<string, string> {
  return {
    ...CORS,
    "content-type": "application/json",
    "x-etcd-cluster-id": "48276a8f75b6a87",
    "x-etcd-index": String(etcdIndex),
    "x-raft-index": String(raftIndex),
    "x-raft-term": String(term),
  };
}

/** The headers of a keys error reply: no X-Raft-*. */
export function errHeaders(etcdIndex: number): Record<string, string> {
  return {
    ...CORS,
    "content-type": "application/json",
    "x-etcd-cluster-id": "48276a8f75b6a87",
    "x-etcd-index": String(etcdIndex),
  };
}

export { createFakeDeps };
