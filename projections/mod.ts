// Public surface of projections/: the commands, the one apply path, snapshots of every state, the
// commands' wire form inside entries, and the kv projection's reads. A plain list of re-exports.
export type { Command, CommandType, KvCommand, KvCreateInOrder, KvDelete, KvExpire, KvSet } from "./command.ts";
export type { ApplyContext, Projection } from "./projection.ts";
export type { States } from "./apply.ts";
export { applyCommand, createStates, projections } from "./apply.ts";
export { CorruptSnapshotError, decodeSnapshot, encodeSnapshot } from "./snapshot.ts";
export { commandFromWire, commandToWire, decodeEntry, encodeEntry } from "./entry.ts";
export type { KvAction, KvError, KvEvent, KvNode, KvResult } from "./kv.ts";
export { KvState, kvBootstrapCommands, kvGet, kvNextExpirationMs, kvProjection, kvScanHistory } from "./kv.ts";
