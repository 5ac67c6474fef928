// What a member with a corrupt log tells its operator: the entry, and the commands that get it going
// again. A single member drops the damaged tail (coreplane log repair); a member of a cluster is
// replaced instead, as with etcd. Shared by the member's start-up error and the offline log tools.
// Must not touch a data dir: it only writes words.

import { CorruptEntryError } from "../projections/mod.ts";

/** The message an operator needs: which entry, and the commands that get the member going again. */
export function withRepairHint(e: CorruptEntryError, dataDir: string, clustered = false): CorruptEntryError {
  const what = e.message.replace(/^log entry \d+ is corrupt: /, "") + ". The member cannot start on a damaged log. ";
  if (clustered) {
    return new CorruptEntryError(e.index, what + clusterRepairAdvice(dataDir));
  }
  return new CorruptEntryError(
    e.index,
    what + `Inspect it with "coreplane log verify --data-dir ${dataDir}", ` +
      `then drop the damaged tail with the command verify prints, e.g. "coreplane log repair --data-dir ${dataDir} --truncate-after ${e.index - 1} --force" ` +
      `(--force because acknowledged entries after ${e.index - 1} are lost: a single member loses those writes)`,
  );
}

/**
 * A member of a cluster is not repaired in place: the leader counts the entries it acknowledged and
 * never sends them again, so a truncated log would wedge it (and could lose a committed write). The
 * way out is etcd's: replace the member.
 */
export function clusterRepairAdvice(dataDir: string): string {
  return `This member belongs to a cluster, so do not truncate its log: the other members count entries it acknowledged and would not send them again. ` +
    `Replace it instead, as with etcd: (1) on a running member, remove it: curl -X DELETE http://<member>:2379/v2/members/<this member's id>; ` +
    `(2) move ${dataDir} away; (3) add it back: curl -X POST http://<member>:2379/v2/members -H 'Content-Type: application/json' -d '{"peerURLs":["<its peer URL>"]}'; ` +
    `(4) start it with the same flags plus --initial-cluster-state existing. It then gets the log (or a snapshot) from the leader.`;
}
