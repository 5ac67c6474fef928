// Names for the integers and ids that flow through the log. Plain aliases (erasable TypeScript),
// kept in one place so a reader sees which number is which. Must not carry behaviour.

/** A Raft log position, 1-based; 0 means "none". Safe as a JS number up to 2^53. */
export type Index = number;
/** A Raft term; 0 before the first election. */
export type Term = number;
/** A member id: etcd's 64-bit id as lowercase hex without padding (e.g. "2e1259d415f2a040"). "" means none. */
export type NodeId = string;
/** Milliseconds since the Unix epoch, as stamped into entries by the leader. */
export type EpochMs = number;

export const NONE: NodeId = "";
