// How a member numbers its proposals (the envelope's requestId): start × 2^32 + n, where `start`
// is a counter the member bumps durably at every start and n counts this start's proposals. An
// entry proposed before a crash and applied after the restart can then never be taken for a new
// request's answer. Must not do I/O: node.ts persists the counter, cli/log/dump.ts only shows ids.

/** Proposals one start numbers before n wraps (an entry that old is never still pending). */
export const REQUEST_SEQ_SPAN = 2 ** 32;
/** Starts counted before the counter wraps; keeps request ids below 2^53. */
export const STARTS_WRAP = 2 ** 20;

/** The start counter to store for this start, given the stored one. */
export function nextStart(stored: string | undefined): number {
  return (Number(stored ?? 0) + 1) % STARTS_WRAP;
}

/** The id of this start's n-th proposal. */
export function requestId(start: number, n: number): number {
  return start * REQUEST_SEQ_SPAN + (n % REQUEST_SEQ_SPAN);
}

/** "start.n" for display; ids written before the counter existed show as plain n. */
export function requestLabel(id: number): string {
  return id < REQUEST_SEQ_SPAN ? String(id) : `${Math.floor(id / REQUEST_SEQ_SPAN)}.${id % REQUEST_SEQ_SPAN}`;
}
