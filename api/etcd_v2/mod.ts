// Public surface of api/etcd_v2/ (etcd 3.4's v2 client API): the protocol for app.ts, the deps it
// declares, and etcd's JSON forms for the CLI. Must not define anything; re-exports only.
export { etcdV2Protocol } from "./routes.ts";
export type { EtcdV2Bounds } from "./context.ts";
export type { EtcdV2Deps } from "./deps.ts";
export type { StoreStats } from "./store_stats.ts";
export { goJsonString, nodeJson } from "./json.ts";
