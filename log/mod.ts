// Public surface of log/: the vocabulary (types), the storage contract, the RawNode the driver
// runs, the in-memory storage twin and the conf-change entry format. A plain list of re-exports.
export type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  ReadState,
  Ready,
  Snapshot,
  SnapshotMetadata,
  SoftState,
} from "./types.ts";
export { ConfChangeType, EntryType, MessageType, StateType } from "./types.ts";
export type { InitialState, LogStorage } from "./storage.ts";
export { CompactedError, SnapshotOutOfDateError, UnavailableError } from "./storage.ts";
export type { BasicStatus, ProgressStatus, Status } from "./raw_node.ts";
export { RawNode } from "./raw_node.ts";
export type { RaftConfig } from "./raft.ts";
export { BootstrapError, ProposalDroppedError } from "./raft.ts";
export { ReadOnlyOption } from "./read_only.ts";
export { ProgressState } from "./progress.ts";
export { MemoryStorage } from "./memory_storage.ts";
export { decodeConfChange, encodeConfChange } from "./conf_change.ts";
export { refusePeerMessage } from "./message_guard.ts";
