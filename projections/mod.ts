// Public surface of projections/: the registry of services and its types, the one applier, the
// entry and snapshot byte forms, the check of forwarded proposals, and each projection's own surface
// (kv/mod.ts, members/mod.ts). What other folders import from projections/. A plain list of re-exports.
export type { AnyCommand, ApplyContext, BootstrapContext, MembershipChange, Projection } from "./projection.ts";
export type { Command, CommandOf, CommandType, ProjectionName, ResultFor, ResultOf, StateOf, States, UnknownCommandResult } from "./registry.ts";
export { bootstrapCommands, commandNamespace, createStates, projectionFor, projectionList, projectionNames, registry } from "./registry.ts";
export type { Applied, Subscriber } from "./applier.ts";
export { Applier } from "./applier.ts";
export type { Envelope } from "./envelope.ts";
export { checkEnvelope, CorruptEntryError, decodeEnvelope, ENVELOPE_VERSION, encodeEnvelope } from "./envelope.ts";
export { commandFromWire, commandToWire, decodeEntry, encodeEntry } from "./entry.ts";
export { CorruptSnapshotError, decodeSnapshot, encodeSnapshot } from "./snapshot.ts";
export { refuseCommand, refuseProposal } from "./proposal_check.ts";
export * from "./kv/mod.ts";
export * from "./members/mod.ts";
