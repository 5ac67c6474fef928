// Public surface of the kv projection (etcd's v2 store): its commands, its projection, its reads,
// the v2 error table and the byte-string helpers api/ shares. A plain list of re-exports.
export type { KvCommand, KvCreateInOrder, KvDelete, KvExpire, KvSet } from "./commands.ts";
export type { KvAction, KvEvent, KvListingSink, KvNode, KvResult, KvSubtree } from "./store.ts";
export { KvState, kvChangedSince, kvGet, kvGetInto, kvNodeCount, kvScanHistory } from "./store.ts";
export { kvBootstrapCommands, kvNextExpirationMs, kvProjection } from "./projection.ts";
export type { KvError } from "./errors.ts";
export { Ecode, kvError, kvErrorHttpStatus, kvErrorMessages } from "./errors.ts";
export { compareBytes, KV_BYTE_ESCAPE, KV_BYTE_ESCAPE_CODE, kvEscapedByte, kvEscapeText, kvStringToBytes } from "./bytes.ts";
export { kvCommandFromWire, kvCommandToWire } from "./wire.ts";
