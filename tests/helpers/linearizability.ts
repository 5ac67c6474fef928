// A Porcupine-style linearizability checker (Wing & Gong's search with Lowe's memoisation, as in
// anishathalye/porcupine's checker.go) and a per-key register model of the etcd v2 key space, used
// to judge histories recorded by the simulator (tests/log/sim) and by real-process fault tests
// (tests/cluster). Test code only: it reads a clock for its timeout and must never be imported by
// the pure folders or by node/. It must not change the histories it is given.
//
// How it works: every operation becomes a call entry and a return entry, sorted by time (calls
// before returns at equal times, so touching intervals count as concurrent: the safe reading of
// coarse clocks). The search walks a doubly linked list of those entries. At a call it tries to
// linearize that operation now (model.step with the recorded output); if the step is legal and the
// pair (set of linearized operations, model state) was not seen before, the operation is lifted out
// of the list (call and return) and the walk restarts at the head. Reaching a return entry means an
// operation that must already have taken effect has not: undo the newest choice and try the next
// call after it. Illegal when there is nothing left to undo. The memo of (bitset, state) cuts the
// search from orders to sets (Lowe). A model with partition() is checked one part at a time
// (P-compositionality: a history of independent objects is linearizable iff each object's
// sub-history is), which is what keeps kv histories cheap.
// Two prunings beyond Porcupine, both dominance arguments (see checkSingle), both checked against a
// brute-force search in the tests: operations that never returned are placed only when needed (a
// state with fewer of them placed can do all that one with more can), and read-only operations
// (Model.readOnly) are placed as soon as they are legal. Done when every returned operation is
// placed: the never-returned ones left go last.
// Cost: linearizable kv histories check in milliseconds per thousand operations. Proving a history
// illegal means exhausting every state before the violation, which grows with the never-returned
// blind writes (puts, deletes) pending on one key: 1,000 operations over 5 keys with ~30 of them
// take tens of ms; the same over 2 keys can take more than 20 s for about one seed in a hundred
// (answer: unknown). Spread a workload over several keys.

import { createPrng } from "../../internal/prng.ts";

export interface Operation<I, O> {
  clientId: number;
  input: I;
  call: number;
  output: O;
  /**
   * Infinity when the client never learned the outcome: the operation may take effect at any later
   * time, or never, and the model must accept it in every state (an unknown output).
   */
  return: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Applies input with the observed output to state: [is this output legal here, the state after]. Must not mutate state. */
  step(state: S, input: I, output: O): [boolean, S];
  /** Splits a history into independent sub-histories (per key); default: one part. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  /** Must be injective (equal hashes mean equal states): memoisation trusts it. Default JSON.stringify. */
  hash?(state: S): string;
  /**
   * Optional: true when every legal step of this operation leaves the state unchanged (a read, a
   * failed compare-and-swap). The search then linearizes it as soon as it is legal and never tries
   * postponing it, which removes the exponential cost of many concurrent reads. Wrong answers here
   * make the checker wrong, so leave it out when unsure.
   */
  readOnly?(input: I, output: O): boolean;
}

/** "unknown" = the time limit (or the memo's memory bound) ran out before an answer. */
export type CheckResult = "ok" | "illegal" | "unknown";

/** The outcome of one partition, for reports. */
export interface PartitionReport<I, O> {
  result: CheckResult;
  /** The partition's operations, sorted by call time (ties by return time). */
  operations: Operation<I, O>[];
  /** The longest prefix of a linearization the search found, in linearization order (complete when ok). */
  longest: Operation<I, O>[];
}

export interface CheckReport<I, O> {
  result: CheckResult;
  /** Number of partitions the model split the history into. */
  partitions: number;
  /** The first partition found illegal (or, when the result is unknown, the one that ran out of time or memory). */
  failed?: PartitionReport<I, O>;
  /** Why the result is unknown: the time limit, or the memo's memory bound. */
  limit?: "time" | "memory";
  elapsedMs: number;
}

const NIL = -1;

/** Checks that a history is linearizable with respect to model. timeoutMs 0 or absent = no limit. */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  timeoutMs?: number,
): CheckResult {
  return checkOperationsVerbose(model, history, timeoutMs).result;
}

/** checkOperations with the failing partition and the longest partial linearization, for messages. */
export function checkOperationsVerbose<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  timeoutMs?: number,
): CheckReport<I, O> {
  const start = performance.now();
  const deadline = timeoutMs !== undefined && timeoutMs > 0 ? start + timeoutMs : Infinity;
  for (const op of history) validate(op);
  const parts = (model.partition ? model.partition(history) : [history]).filter((p) => p.length > 0);
  for (const p of parts) for (const op of p) validate(op);
  // Small parts first: an illegal small part is found before a large one eats the time budget.
  const order = parts.map((_p, i) => i).sort((a, b) => parts[a].length - parts[b].length || a - b);
  let timedOut: PartitionReport<I, O> | undefined;
  let limit: "time" | "memory" | undefined;
  for (const i of order) {
    const ops = parts[i];
    const r = checkSingle(model, ops, deadline);
    if (r.result === "ok") continue;
    const rep: PartitionReport<I, O> = {
      result: r.result,
      operations: sortByCall(ops),
      longest: r.longest.map((id) => ops[id]),
    };
    if (r.result === "illegal") {
      return {
        result: "illegal",
        partitions: parts.length,
        failed: rep,
        elapsedMs: performance.now() - start,
      };
    }
    // Out of time (every later part would be too) or memory. No part was found illegal: unknown.
    timedOut = rep;
    limit = r.limit;
    if (limit === "time") break;
  }
  const result: CheckResult = timedOut ? "unknown" : "ok";
  return { result, partitions: parts.length, failed: timedOut, limit, elapsedMs: performance.now() - start };
}

function validate<I, O>(op: Operation<I, O>): void {
  if (!Number.isFinite(op.call)) {
    throw new Error(`linearizability: operation with a non-finite call time: ${show(op)}`);
  }
  if (Number.isNaN(op.return) || op.return < op.call) {
    throw new Error(`linearizability: operation returns before it is called: ${show(op)}`);
  }
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x === Infinity ? "Infinity" : x));
}

function sortByCall<I, O>(ops: Operation<I, O>[]): Operation<I, O>[] {
  return ops.slice().sort((a, b) => a.call - b.call || a.return - b.return);
}

// Zobrist keys for the linearized-set hash: one random 32-bit number per operation, XORed in and out
// as operations are linearized and undone, so the memo key costs O(1) per step. Collisions are
// resolved by comparing the bitsets, so the hash's quality only affects speed.
const zobristCache: number[] = [];
const zobristPrng = createPrng(0x5eed1);
function zobrist(n: number): number[] {
  while (zobristCache.length < n) zobristCache.push(zobristPrng.int(0x100000000) | 0);
  return zobristCache;
}

/** The memo's size bound (bytes, estimated): past it the check answers unknown rather than exhaust the machine. */
const MEMO_BYTES = 256 * 1024 * 1024;

interface SingleResult {
  result: CheckResult;
  /** What ran out when the result is unknown. */
  limit?: "time" | "memory";
  /** Operation indices (into the partition) of the longest linearization prefix found. */
  longest: number[];
}

function checkSingle<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], deadline: number): SingleResult {
  const n = ops.length;
  const hashState = model.hash ? (s: S) => model.hash!(s) : (s: S) => JSON.stringify(s);
  const init = model.init();

  // "Pending" operations never returned (return = Infinity) and are legal from the initial state:
  // unknown outcomes, which the model accepts in any state. They never have to be linearized before
  // anything, so a search state that linearized fewer of them (with the same state and the same
  // returned operations) can do everything one that linearized more can: place the extra ones last.
  // That dominance is what keeps histories with many timed-out writes tractable (without it every
  // subset of the pending writes is a separate memo entry).
  const pending = new Uint8Array(n);
  // Read-only operations (model.readOnly): taking one as soon as it is legal loses nothing, since a
  // step that changes nothing can only remove constraints. So when the state after it fails, the
  // state before it fails too, and the search backs up past both.
  const readOnly = new Uint8Array(n);
  let anyPending = false;
  for (let i = 0; i < n; i++) {
    if (ops[i].return === Infinity && model.step(init, ops[i].input, ops[i].output)[0]) {
      pending[i] = 1;
      anyPending = true;
    } else if (model.readOnly && model.readOnly(ops[i].input, ops[i].output)) {
      readOnly[i] = 1;
    }
  }

  // Entries: 2i = call of op i, 2i+1 = its return. Sorted by time, calls first on ties, then by op
  // index so the order (and so the search) is deterministic.
  const sorted: number[] = new Array(2 * n);
  for (let i = 0; i < 2 * n; i++) sorted[i] = i;
  const timeOf = (e: number) => ((e & 1) === 0 ? ops[e >> 1].call : ops[e >> 1].return);
  sorted.sort((a, b) => {
    const ta = timeOf(a), tb = timeOf(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    if ((a & 1) !== (b & 1)) return (a & 1) - (b & 1);
    return a - b;
  });
  // Within a run of calls (between two returns) the order is free. Read-only calls go first (taking
  // one settles its state's fate), pending calls last, so the search meets the states that dominate
  // (fewer pending operations linearized) before the dominated ones.
  const order: number[] = [];
  const reads: number[] = [], writes: number[] = [], held: number[] = [];
  const flush = () => {
    for (const group of [reads, writes, held]) {
      for (const e of group) order.push(e);
      group.length = 0;
    }
  };
  for (const e of sorted) {
    if ((e & 1) === 1) {
      flush();
      order.push(e);
    } else if (readOnly[e >> 1]) reads.push(e);
    else if (pending[e >> 1]) held.push(e);
    else writes.push(e);
  }
  flush();

  // The linked list over positions 0..2n-1 of `order`, with a head sentinel at 2n.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  const match = new Int32Array(2 * n + 1).fill(NIL); // call node -> its return node; NIL for returns
  const opOf = new Int32Array(2 * n + 1).fill(NIL);
  const nodeOfReturn = new Int32Array(n);
  for (let pos = 0; pos < 2 * n; pos++) {
    const e = order[pos];
    opOf[pos] = e >> 1;
    if ((e & 1) === 1) nodeOfReturn[e >> 1] = pos;
  }
  for (let pos = 0; pos < 2 * n; pos++) {
    if ((order[pos] & 1) === 0) match[pos] = nodeOfReturn[opOf[pos]];
    next[pos] = pos + 1 < 2 * n ? pos + 1 : NIL;
    prev[pos] = pos === 0 ? head : pos - 1;
  }
  next[head] = n > 0 ? 0 : NIL;
  prev[head] = NIL;

  const lift = (e: number) => {
    // A call always has its return after it, so next[e] is never NIL.
    next[prev[e]] = next[e];
    prev[next[e]] = prev[e];
    const m = match[e];
    next[prev[m]] = next[m];
    if (next[m] !== NIL) prev[next[m]] = prev[m];
  };
  const unlift = (e: number) => {
    const m = match[e];
    next[prev[m]] = m;
    if (next[m] !== NIL) prev[next[m]] = m;
    next[prev[e]] = e;
    prev[next[e]] = e;
  };

  // The linearized set, split: `bits` holds returned operations (and is hashed), `pbits` pending ones.
  const words = Math.max(1, Math.ceil(n / 32));
  const bits = new Uint32Array(words);
  const pbits = new Uint32Array(anyPending ? words : 0);
  const z = zobrist(n);
  let zhash = 0;
  // The memo, as flat typed arrays (a Map of objects costs ~10x the memory): entry i keeps its bits
  // then pbits (E words) in `arena`, its state as an interned id, and the next entry of its hash
  // chain. Entries with the same state and bits form an antichain of pbits: a new entry dominated by
  // an old one is pruned; old entries the new one dominates are marked dead and skipped.
  const E = words + pbits.length;
  const maxEntries = Math.min(16_000_000, Math.floor(MEMO_BYTES / (4 * E + 24)));
  const stateIds = new Map<string, number>();
  let capacity = 1024;
  let arena = new Uint32Array(capacity * E);
  let chain = new Int32Array(capacity);
  let entryKey = new Int32Array(capacity);
  let entryStateId = new Int32Array(capacity);
  let dead = new Uint8Array(capacity);
  let count = 0;
  let full = false;
  let tableMask = 1023;
  let table = new Int32Array(tableMask + 1).fill(NIL);
  const grow = () => {
    capacity *= 2;
    const a = new Uint32Array(capacity * E);
    a.set(arena);
    arena = a;
    const c = new Int32Array(capacity);
    c.set(chain);
    chain = c;
    const k = new Int32Array(capacity);
    k.set(entryKey);
    entryKey = k;
    const s = new Int32Array(capacity);
    s.set(entryStateId);
    entryStateId = s;
    const d = new Uint8Array(capacity);
    d.set(dead);
    dead = d;
    // Keep chains short: as many buckets as entries.
    tableMask = capacity - 1;
    table = new Int32Array(capacity).fill(NIL);
    for (let i = 0; i < count; i++) {
      if (dead[i]) continue;
      const bucket = entryKey[i] & tableMask;
      chain[i] = table[bucket];
      table[bucket] = i;
    }
  };
  const seen = (sh: string, zh: number): boolean => {
    let sid = stateIds.get(sh);
    if (sid === undefined) stateIds.set(sh, sid = stateIds.size);
    const key = (zh ^ Math.imul(sid + 1, 0x9e3779b1)) | 0;
    for (let i = table[key & tableMask]; i !== NIL; i = chain[i]) {
      if (dead[i] || entryKey[i] !== key || entryStateId[i] !== sid || !equalAt(arena, i * E, bits)) continue;
      if (subsetAt(arena, i * E + words, pbits)) return true; // the old entry did at least as well
      if (supersetAt(arena, i * E + words, pbits)) dead[i] = 1; // the new one dominates it
    }
    if (count === maxEntries) {
      full = true;
      return true;
    }
    if (count === capacity) grow();
    arena.set(bits, count * E);
    if (pbits.length > 0) arena.set(pbits, count * E + words);
    entryKey[count] = key;
    entryStateId[count] = sid;
    const bucket = key & tableMask;
    chain[count] = table[bucket];
    table[bucket] = count;
    count++;
    return false;
  };
  const toggle = (id: number) => {
    if (pending[id]) pbits[id >>> 5] ^= 1 << (id & 31);
    else {
      bits[id >>> 5] ^= 1 << (id & 31);
      zhash ^= z[id];
    }
  };

  const stackNode: number[] = [];
  const stackState: S[] = [];
  let longest: number[] = [];
  let state = init;
  let entry = next[head];
  let iterations = 0;
  // Done when every returned operation is linearized: the pending ones left can go last, in any
  // order, since they are legal in every state. (Placing them one by one would only meet states
  // dominated by the current one, which the memo prunes.)
  let definiteLeft = 0;
  for (let i = 0; i < n; i++) if (!pending[i]) definiteLeft++;

  // Undoes the newest choice; returns false when there is none left (the history is illegal). A
  // read-only choice that failed means the state before it fails too, so it keeps undoing.
  const backtrack = (): boolean => {
    if (stackNode.length > longest.length) longest = stackNode.map((e) => opOf[e]);
    for (;;) {
      if (stackNode.length === 0) return false;
      const e = stackNode.pop()!;
      state = stackState.pop()!;
      const id = opOf[e];
      toggle(id);
      if (!pending[id]) definiteLeft++;
      unlift(e);
      if (!readOnly[id]) {
        entry = next[e];
        return true;
      }
    }
  };

  while (definiteLeft > 0) {
    if ((++iterations & 1023) === 0 && deadline !== Infinity && performance.now() > deadline) {
      return { result: "unknown", limit: "time", longest };
    }
    if (match[entry] !== NIL) {
      const id = opOf[entry];
      const op = ops[id];
      const [legal, after] = model.step(state, op.input, op.output);
      if (legal) {
        const sh = hashState(after);
        // A pending operation right after another one, ending in the same state as it would without
        // the other (a blind write after anything): dominated by the sibling branch that skipped
        // the other, which the search tries from the state below. Without this, n pending writes
        // cost 2^n.
        const top = stackNode.length - 1;
        if (pending[id] && top >= 0 && pending[opOf[stackNode[top]]]) {
          if (hashState(model.step(stackState[top], op.input, op.output)[1]) === sh) {
            entry = next[entry];
            continue;
          }
        }
        toggle(id);
        const known = seen(sh, zhash);
        if (full) return { result: "unknown", limit: "memory", longest };
        if (!known) {
          if (!pending[id]) definiteLeft--;
          stackNode.push(entry);
          stackState.push(state);
          state = after;
          lift(entry);
          entry = next[head];
          continue;
        }
        toggle(id);
        // Legal but already explored: for a read-only operation that failure is this state's too.
        if (readOnly[id] && !backtrack()) return { result: "illegal", longest };
        if (readOnly[id]) continue;
      }
      entry = next[entry];
    } else {
      // A return: the operation it closes must have been linearized before this point.
      if (!backtrack()) return { result: "illegal", longest };
    }
  }
  const linearization = stackNode.map((e) => opOf[e]);
  const placed = new Uint8Array(n);
  for (const id of linearization) placed[id] = 1;
  for (let i = 0; i < n; i++) if (!placed[i]) linearization.push(i);
  return { result: "ok", longest: linearization };
}

function equalAt(arena: Uint32Array, at: number, b: Uint32Array): boolean {
  for (let i = 0; i < b.length; i++) if (arena[at + i] !== b[i]) return false;
  return true;
}

/** arena[at..] ⊆ b */
function subsetAt(arena: Uint32Array, at: number, b: Uint32Array): boolean {
  for (let i = 0; i < b.length; i++) if ((arena[at + i] & ~b[i]) !== 0) return false;
  return true;
}

/** b ⊆ arena[at..] */
function supersetAt(arena: Uint32Array, at: number, b: Uint32Array): boolean {
  for (let i = 0; i < b.length; i++) if ((b[i] & ~arena[at + i]) !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The key-value model: each key is an independent register (etcd v2 keys are independent objects
// for the operations recorded here), so the history is partitioned per key and the state is the
// key's value, null when absent.

export type KvInput =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: string }
  | { op: "cas"; key: string; prev: string; value: string }
  | { op: "delete"; key: string };
export type KvOutput = { ok: boolean; value?: string | null } | { unknown: true };

function isUnknown(o: KvOutput): o is { unknown: true } {
  return (o as { unknown?: boolean }).unknown === true;
}

/**
 * get: legal iff output.value (null or missing = absent) is the current value; `ok` is not looked at.
 * put: legal iff ok is true; sets the value. cas: ok must equal (current === prev); sets the value when
 * it succeeds. delete: ok must equal (the key exists); removes it.
 * Unknown outcome ({unknown: true}): legal in any state and applies the operation's effect. "Never took
 * effect" needs no second branch: partition() gives unknown operations return = Infinity, so the search
 * may always place them after everything else, where their effect is invisible. Unknown gets are
 * dropped by partition() (they constrain nothing).
 */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    const unknown = isUnknown(output);
    const out = output as { ok: boolean; value?: string | null };
    switch (input.op) {
      case "get":
        return [unknown || (out.value ?? null) === state, state];
      case "put":
        return [unknown || out.ok === true, input.value];
      case "cas": {
        const hit = state === input.prev;
        return [unknown || out.ok === hit, hit ? input.value : state];
      }
      case "delete":
        return [unknown || out.ok === (state !== null), null];
    }
  },
  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      let o = op;
      if (isUnknown(op.output)) {
        if (op.input.op === "get") continue;
        // An unknown write may still commit long after the client gave up on it.
        if (op.return !== Infinity) o = { ...op, return: Infinity };
      } else if (op.return === Infinity) {
        throw new Error(`kvModel: an operation with a known outcome needs a finite return time: ${show(op)}`);
      }
      let part = byKey.get(op.input.key);
      if (!part) byKey.set(op.input.key, part = []);
      part.push(o);
    }
    return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
  },
  hash: (state) => (state === null ? "-" : "=" + state),
  readOnly: (input, output) => !isUnknown(output) && (input.op === "get" || output.ok === false),
};

// ---------------------------------------------------------------------------------------------
// Explanations: what a failing test prints.

/** One line for a kv operation, e.g. `c2 [10, 15] cas(k1, "a" -> "b") => ok`. */
export function describeKvOperation(op: Operation<KvInput, KvOutput>): string {
  const i = op.input;
  const q = (s: string | null | undefined) => (s === null || s === undefined ? "absent" : JSON.stringify(s));
  let what: string;
  switch (i.op) {
    case "get":
      what = `get(${i.key})`;
      break;
    case "put":
      what = `put(${i.key}, ${q(i.value)})`;
      break;
    case "cas":
      what = `cas(${i.key}, ${q(i.prev)} -> ${q(i.value)})`;
      break;
    case "delete":
      what = `delete(${i.key})`;
      break;
  }
  let res: string;
  if (isUnknown(op.output)) res = "unknown";
  else if (i.op === "get") res = q(op.output.value);
  else res = op.output.ok ? "ok" : "failed";
  const ret = op.return === Infinity ? "never" : String(op.return);
  return `c${op.clientId} [${op.call}, ${ret}] ${what} => ${res}`;
}

export interface ShrinkOptions<I, O> {
  /**
   * How an operation still running at a cut-off time is kept: its unknown-outcome form (return =
   * Infinity, an output the model accepts in any state), or null to drop it (only for read-only
   * operations). Without it, no cut-off is tried.
   */
  relax?: (op: Operation<I, O>) => Operation<I, O> | null;
  /** Time budget for all the checks together; the best core found so far is returned when it runs out. */
  timeoutMs?: number;
}

/** An operation of a shrunk history: the original, and whether it counts as unknown there. */
export interface CoreOperation<I, O> {
  op: Operation<I, O>;
  relaxed: boolean;
}

export interface ShrinkResult<I, O> {
  /** The shrunk history, sorted by call time. */
  core: CoreOperation<I, O>[];
  /** The cut-off time (Infinity when no cut-off was made). */
  cutAt: number;
  /** The operations returning at the cut-off: every operation that returned before them fits. */
  culprits: Operation<I, O>[];
}

/**
 * Shrinks an illegal history (one partition) to a smaller one that is still illegal and whose
 * illegality implies the original's, for people to read. Two sound steps:
 * 1. Cut-off: keep the operations called by time T, with those still running at T relaxed (unknown
 *    outcome, or dropped if read-only), for the smallest return time T that stays illegal. Any
 *    linearization of the whole history restricted to these operations is one of the cut history
 *    (what was called after T can only follow every operation that returned by T), so an illegal
 *    cut proves the whole illegal. Binary search: illegal cuts are upward closed.
 * 2. Drop read-only operations (model.readOnly) while the rest stays illegal, in halving chunks
 *    (delta debugging): taking reads out of a linearizable history leaves it linearizable, so the
 *    rest still proves the original illegal.
 * Writes are never dropped (a missing write could make a correct history look wrong).
 */
export function shrinkIllegal<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  options: ShrinkOptions<I, O> = {},
): ShrinkResult<I, O> {
  const deadline = options.timeoutMs !== undefined && options.timeoutMs > 0
    ? performance.now() + options.timeoutMs
    : Infinity;
  // Out of time counts as "not shown illegal": the shrinking stops short, never goes wrong.
  const illegal = (h: CoreOperation<I, O>[]): boolean =>
    performance.now() < deadline && checkSingle(model, h.map((c) => c.op), deadline).result === "illegal";
  const relaxedOps = new Map<Operation<I, O>, Operation<I, O>>();
  const cut = (t: number): CoreOperation<I, O>[] => {
    const out: CoreOperation<I, O>[] = [];
    for (const op of ops) {
      if (op.call > t) continue;
      if (op.return <= t || op.return === Infinity || !options.relax) {
        out.push({ op, relaxed: false });
        continue;
      }
      let r = relaxedOps.get(op);
      if (r === undefined) {
        const x = options.relax(op);
        if (x === null) continue;
        relaxedOps.set(op, r = x);
      }
      out.push({ op: r, relaxed: true });
    }
    return out;
  };
  let core: CoreOperation<I, O>[] = ops.map((op) => ({ op, relaxed: false }));
  let cutAt = Infinity;
  if (options.relax) {
    const times = [...new Set(ops.map((op) => op.return).filter((r) => r !== Infinity))].sort((a, b) =>
      a - b
    );
    let lo = 0, hi = times.length; // cut(times[hi]) is illegal (hi = length: the whole history)
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (illegal(cut(times[mid]))) hi = mid;
      else lo = mid + 1;
    }
    if (hi < times.length) {
      cutAt = times[hi];
      core = cut(cutAt);
    }
  }
  if (model.readOnly) {
    const readOnly = model.readOnly.bind(model);
    const removable = (c: CoreOperation<I, O>) => !c.relaxed && readOnly(c.op.input, c.op.output);
    let reads = core.filter(removable);
    // Most violations need only the reads that return at the cut-off: try that first, in one check.
    if (cutAt !== Infinity) {
      const others = new Set(reads.filter((c) => c.op.return !== cutAt));
      const without = core.filter((c) => !others.has(c));
      if (others.size > 0 && illegal(without)) {
        core = without;
        reads = reads.filter((c) => !others.has(c));
      }
    }
    let chunk = Math.max(1, reads.length >> 1);
    while (reads.length > 0 && performance.now() < deadline) {
      let removedAny = false;
      for (let i = reads.length; i > 0 && performance.now() < deadline; i -= chunk) {
        const drop = new Set(reads.slice(Math.max(0, i - chunk), i));
        const without = core.filter((c) => !drop.has(c));
        if (illegal(without)) {
          core = without;
          reads = reads.filter((c) => !drop.has(c));
          removedAny = true;
        }
      }
      if (chunk === 1 && !removedAny) break;
      chunk = Math.max(1, chunk >> 1);
    }
  }
  // Report the originals, so times and outputs read as recorded.
  const original = new Map<Operation<I, O>, Operation<I, O>>();
  for (const [o, r] of relaxedOps) original.set(r, o);
  const sorted = core
    .map((c) => ({ op: original.get(c.op) ?? c.op, relaxed: c.relaxed }))
    .sort((a, b) => a.op.call - b.op.call || a.op.return - b.op.return);
  const culprits = cutAt === Infinity ? [] : ops.filter((op) => op.return === cutAt);
  return { core: sorted, cutAt, culprits };
}

export interface ExplainOptions<I, O> {
  describe?: (op: Operation<I, O>) => string;
  /** A name for a partition (the kv model's: its key). */
  label?: (ops: Operation<I, O>[]) => string;
  /** Most operation lines printed per section. */
  maxLines?: number;
  /** A shrunk history (shrinkIllegal) to print first. */
  shrunk?: ShrinkResult<I, O>;
}

/**
 * A few lines a person can debug from: the failing partition; with a shrunk history, the first
 * operation that cannot be placed and the end of the shrunk history; then the partition's operations
 * sorted by call time around that operation (or around the first one the search could not place),
 * each marked with its place in the longest partial linearization found (`#k`) or `--` if it is not
 * in it. "" when the result is ok.
 */
export function explainReport<I, O>(report: CheckReport<I, O>, options: ExplainOptions<I, O> = {}): string {
  const f = report.failed;
  if (report.result === "ok" || !f) return "";
  const describe = options.describe ?? ((op: Operation<I, O>) => show(op));
  const maxLines = options.maxLines ?? 40;
  const label = options.label ? options.label(f.operations) : "";
  const place = new Map<Operation<I, O>, number>();
  f.longest.forEach((op, k) => place.set(op, k + 1));
  const out: string[] = [];
  out.push(
    report.result === "illegal"
      ? `not linearizable: partition ${label}(${f.operations.length} operations) has no linearization`
      : `linearizability unknown: ran out of ${
        report.limit ?? "time"
      } on partition ${label}(${f.operations.length} ` +
        `operations) after ${Math.round(report.elapsedMs)} ms`,
  );
  const sh = options.shrunk;
  let focus = f.operations.findIndex((op) => !place.has(op) && op.return !== Infinity);
  if (sh && sh.culprits.length > 0) {
    out.push(`the first operation that cannot be placed (everything that returned before it can be):`);
    for (const op of sh.culprits) out.push(`        ${describe(op)}`);
    focus = f.operations.indexOf(sh.culprits[0]);
  }
  if (sh && sh.core.length < f.operations.length) {
    const reads = sh.core.length;
    out.push(
      `already not linearizable on their own, these ${reads} operations` +
        (sh.cutAt === Infinity
          ? ""
          : ` called by ${sh.cutAt} ("cut": still running then, counted as unknown)`) +
        `; writes are never left out:`,
    );
    const from = Math.max(0, sh.core.length - Math.ceil(maxLines / 2));
    if (from > 0) out.push(`  ... ${from} earlier operations`);
    for (const c of sh.core.slice(from)) out.push(`  ${c.relaxed ? "  cut" : "     "} ${describe(c.op)}`);
  }
  out.push(
    `the partition by call time (#k: k-th in the longest partial linearization found; --: not in it):`,
  );
  const lines = f.operations.map((op) =>
    `  ${(place.has(op) ? "#" + place.get(op) : "--").padStart(5)} ${describe(op)}`
  );
  let from = 0, to = lines.length;
  if (lines.length > maxLines) {
    from = Math.max(
      0,
      Math.min(Math.max(0, focus) - Math.floor((maxLines * 3) / 4), lines.length - maxLines),
    );
    to = from + maxLines;
  }
  if (from > 0) out.push(`  ... ${from} earlier operations`);
  out.push(...lines.slice(from, to));
  if (to < lines.length) out.push(`  ... ${lines.length - to} later operations`);
  return out.join("\n");
}

/** kv operations still running at a cut-off: writes become unknown outcomes, read-only ones are dropped. */
function relaxKv(op: Operation<KvInput, KvOutput>): Operation<KvInput, KvOutput> | null {
  if (kvModel.readOnly!(op.input, op.output)) return null;
  return { ...op, output: { unknown: true }, return: Infinity };
}

/**
 * Checks a kv history and explains a failure (see explainKvReport). "" when it is linearizable.
 * timeoutMs bounds the check.
 */
export function explainKv(history: Operation<KvInput, KvOutput>[], timeoutMs?: number): string {
  return explainKvReport(checkOperationsVerbose(kvModel, history, timeoutMs), { shrinkMs: timeoutMs });
}

/**
 * Explains a kvModel report (see explainReport), with the failing key's history shrunk by
 * shrinkIllegal when it is illegal. "" when it is ok. Shrinking re-checks cut histories many times;
 * it gets 15 times what the check took (at least 2 s, at most shrinkMs, default 10 s) and stops
 * short when that runs out: the binary search for the culprit needs about log2(n) checks of at most
 * the check's cost, dropping the reads that do not matter a few more.
 */
export function explainKvReport(
  report: CheckReport<KvInput, KvOutput>,
  options: { maxLines?: number; shrinkMs?: number } = {},
): string {
  const budget = Math.min(options.shrinkMs || 10_000, Math.max(2_000, 15 * report.elapsedMs));
  const shrunk = report.result === "illegal" && report.failed
    ? shrinkIllegal(kvModel, report.failed.operations, { relax: relaxKv, timeoutMs: budget })
    : undefined;
  return explainReport(report, {
    describe: describeKvOperation,
    label: (ops) => (ops.length > 0 ? `key ${JSON.stringify(ops[0].input.key)} ` : ""),
    maxLines: options.maxLines,
    shrunk,
  });
}
