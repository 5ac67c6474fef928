// etcd 3.4's v2 store (etcdserver/api/v2store) as a pure projection: the key tree, the global
// etcd index, TTL expiry driven by kv/expire entries, and the event history that watches scan.
// Paths are internal ("/0" cluster, "/1" client keys); api/ adds and strips "/1".
// Must not read a clock or randomness (time comes from ApplyContext.timeMs or a nowMs argument),
// must not notify watchers (api/etcd_v2/watch_hub.ts does, from the results), and must never throw on
// bad user input: a rejected command is a KvError result taking no index.

import { assert, unreachable } from "../../internal/mod.ts";
import { limits } from "../../internal/mod.ts";
import type { KvCommand, KvCreateInOrder, KvDelete, KvSet } from "./commands.ts";
import type { ApplyContext } from "../projection.ts";
import { Ecode, type KvError, kvError } from "./errors.ts";
import { type Children, cleanPath, compareUtf8, isDir, joinPath, nodePath, TreeNode, TtlEntry } from "./_tree.ts";
import { TtlHeap } from "./_ttl_heap.ts";
import { EventHistory } from "./_history.ts";

export type { KvError } from "./errors.ts";

export type KvAction =
  | "get"
  | "set"
  | "create"
  | "update"
  | "compareAndSwap"
  | "delete"
  | "compareAndDelete"
  | "expire";

/**
 * A node as rendered into events and reads, with internal paths. Property order is not the
 * wire order (a listing's `nodes` is attached last); api/ renders the Go field order itself.
 */
export interface KvNode {
  /** Internal path, e.g. "/1/foo"; absent on the root. */
  key?: string;
  /** Files; absent on dirs and on delete/compareAndDelete/expire event nodes. */
  value?: string;
  dir?: true;
  /** Absolute epoch ms, when the node has a TTL. */
  expirationMs?: number;
  /** Seconds: ceil((expirationMs - nowMs)/1000); omitted when <= 0. */
  ttl?: number;
  /** Directories in get results, when non-empty (hidden "_" children excluded). */
  nodes?: KvNode[];
  modifiedIndex: number;
  createdIndex: number;
}

export interface KvEvent {
  action: KvAction;
  node: KvNode;
  prevNode?: KvNode;
  /** A refresh write: in the history (taking its index) but skipped by scans and notifying no one. */
  refresh?: boolean;
  /** The etcd index of the event: node.modifiedIndex for writes, the current index for a get. */
  index: number;
}

/**
 * A removed subtree, detached from the tree, handed to the watch hub with delete and expire
 * results so it can notify the watchers on every removed descendant (etcd's Remove callback).
 */
export interface KvSubtree {
  child(name: string): KvSubtree | undefined;
}

export type KvResult =
  | { type: "event"; event: KvEvent; /** delete/compareAndDelete: the removed node (non-enumerable) */ removed?: KvSubtree }
  | { type: "error"; error: KvError }
  | { type: "expire"; events: KvEvent[]; /** parallel to events: the removed nodes (non-enumerable) */ removed?: KvSubtree[] };

/** etcd's StoreClusterPrefix and StoreKeysPrefix: created with the store, index 0, read-only. */
const NAMESPACES = ["/0", "/1"] as const;

/** The store. Fields are internal to projections/ (kv.ts and its _kv_ helpers); read through the kv* functions. */
export class KvState {
  /** The current etcd index. */
  currentIndex = 0;
  readonly root: TreeNode;
  readonly ttlHeap = new TtlHeap();
  readonly history = new EventHistory(limits.eventHistoryMax);
  /** Nodes in the tree, the root excluded. */
  nodeCount = 0;

  constructor(withNamespaces = true) {
    this.root = new TreeNode("", null, new Map(), 0);
    if (withNamespaces) {
      for (const ns of NAMESPACES) {
        (this.root.data as Children).set(ns.slice(1), new TreeNode(ns.slice(1), this.root, new Map(), 0));
        this.nodeCount++;
      }
    }
  }

  get index(): number {
    return this.currentIndex;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function ttlSeconds(expirationMs: number, nowMs: number): number {
  return Math.ceil((expirationMs - nowMs) / 1000);
}

/** etcd's Repr(recursive=false): the node alone, with TTL at `nowMs`. */
function renderNode(n: TreeNode, path: string, nowMs: number): KvNode {
  const m = n.modifiedIndex;
  const c = n.createdIndex;
  const out: KvNode = n.parent === null
    ? { dir: true, modifiedIndex: m, createdIndex: c }
    : typeof n.data === "string"
    ? { key: path, value: n.data, modifiedIndex: m, createdIndex: c }
    : { key: path, dir: true, modifiedIndex: m, createdIndex: c };
  if (n.ttl !== null) addTtl(out, n.ttl.expirationMs, nowMs);
  return out;
}

function addTtl(out: KvNode, expirationMs: number, nowMs: number): void {
  out.expirationMs = expirationMs;
  const ttl = ttlSeconds(expirationMs, nowMs);
  if (ttl > 0) out.ttl = ttl;
}

/** An event's node: key, [value], [dir], [expiration, ttl], indexes. */
function eventNode(
  key: string,
  value: string | undefined,
  dir: boolean,
  ttl: TtlEntry | null,
  nowMs: number,
  modifiedIndex: number,
  createdIndex: number,
): KvNode {
  const out: KvNode = value !== undefined
    ? { key, value, modifiedIndex, createdIndex }
    : dir
    ? { key, dir: true, modifiedIndex, createdIndex }
    : { key, modifiedIndex, createdIndex };
  if (ttl !== null) addTtl(out, ttl.expirationMs, nowMs);
  return out;
}

function byKey(a: KvNode, b: KvNode): number {
  return compareUtf8(a.key!, b.key!);
}

/**
 * etcd's loadInternalNode: a directory lists its visible children; with `recursive` the whole
 * subtree. Iterative, so a pathologically deep tree cannot overflow the stack.
 */
function renderListing(top: TreeNode, topPath: string, nowMs: number, recursive: boolean, sorted: boolean): KvNode {
  const out = renderNode(top, topPath, nowMs);
  if (typeof top.data === "string") return out;
  const stack: [TreeNode, string, KvNode][] = [[top, topPath, out]];
  while (stack.length > 0) {
    const [n, p, k] = stack.pop()!;
    const kids: KvNode[] = [];
    for (const c of (n.data as Children).values()) {
      if (c.name.charCodeAt(0) === 95 /* _ */) continue;
      const cp = joinPath(p, c.name);
      const kc = renderNode(c, cp, nowMs);
      kids.push(kc);
      if (recursive && typeof c.data !== "string") stack.push([c, cp, kc]);
    }
    if (sorted) kids.sort(byKey);
    if (kids.length > 0) k.nodes = kids;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tree walking

/** etcd's internalGet: the node, or 100 (cause: the first missing prefix) / 104 (cause: the file in the way). */
function internalGet(s: KvState, path: string): TreeNode | KvError {
  let cur = s.root;
  let start = 1;
  while (start < path.length) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const name = path.slice(start, end);
    if (typeof cur.data === "string") return kvError(Ecode.NotDir, path.slice(0, start - 1) || "/", s.currentIndex);
    const child = cur.data.get(name);
    if (child === undefined) return kvError(Ecode.KeyNotFound, path.slice(0, end), s.currentIndex);
    cur = child;
    start = end + 1;
  }
  return cur;
}

function isError(x: TreeNode | KvError): x is KvError {
  return !(x instanceof TreeNode);
}

/** etcd's walk(dirName, checkDir): the directory at `path`, creating missing ones at `index`; 104 on a file. */
function walkCreate(s: KvState, path: string, index: number): TreeNode | KvError {
  let cur = s.root;
  let start = 1;
  while (start < path.length) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const name = path.slice(start, end);
    const children = cur.data as Children;
    let child = children.get(name);
    if (child === undefined) {
      child = new TreeNode(name, cur, new Map(), index);
      children.set(name, child);
      s.nodeCount++;
    } else if (typeof child.data === "string") {
      return kvError(Ecode.NotDir, path.slice(0, end), s.currentIndex);
    }
    cur = child;
    start = end + 1;
  }
  return cur;
}

function isReadOnly(path: string): boolean {
  return path === "/" || path === "/0" || path === "/1";
}

/** Detaches `n` (and its subtree) from the tree and the TTL heap. */
function removeNode(s: KvState, n: TreeNode): void {
  const parent = n.parent;
  assert(parent !== null, "cannot remove the root");
  (parent.data as Children).delete(n.name);
  const stack = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    s.nodeCount--;
    if (x.ttl !== null) s.ttlHeap.remove(x.ttl);
    if (typeof x.data !== "string") for (const c of x.data.values()) stack.push(c);
  }
}

/** etcd's node.UpdateTTL: null makes the node permanent. `seq` is the writing index. */
function updateTtl(s: KvState, n: TreeNode, expirationMs: number | null, seq: number): void {
  if (n.ttl !== null) {
    if (expirationMs === null) {
      s.ttlHeap.remove(n.ttl);
      n.ttl = null;
    } else {
      n.ttl.expirationMs = expirationMs;
      n.ttl.seq = seq;
      s.ttlHeap.update(n.ttl);
    }
  } else if (expirationMs !== null) {
    n.ttl = new TtlEntry(expirationMs, seq, n);
    s.ttlHeap.push(n.ttl);
  }
}

/**
 * Attaches the removed subtree for the watch hub as a non-enumerable property, so results stay
 * plain data for JSON, CBOR and deep-equality (the subtree has parent links, i.e. cycles).
 */
function withRemoved<R extends KvResult>(r: R, removed: KvSubtree | KvSubtree[]): R {
  Object.defineProperty(r, "removed", { value: removed, enumerable: false });
  return r;
}

function ok(s: KvState, event: KvEvent): KvResult {
  s.history.add(event);
  return { type: "event", event };
}

function fail(error: KvError): KvResult {
  return { type: "error", error };
}

function compareFailCause(n: TreeNode, prevValue: string, prevIndex: number): string | null {
  const indexMatch = prevIndex === 0 || n.modifiedIndex === prevIndex;
  const valueMatch = prevValue === "" || n.data === prevValue;
  if (indexMatch && valueMatch) return null;
  if (indexMatch) return `[${prevValue} != ${n.data as string}]`;
  if (valueMatch) return `[${prevIndex} != ${n.modifiedIndex}]`;
  return `[${prevValue} != ${n.data as string}] [${prevIndex} != ${n.modifiedIndex}]`;
}

// ---------------------------------------------------------------------------------------------
// Store operations (etcd store.go, one function each)

/** etcd's internalCreate: create (replace=false) or replace a file (replace=true) at `path`. */
function internalCreate(
  s: KvState,
  path: string,
  dir: boolean,
  value: string,
  unique: boolean,
  replace: boolean,
  expirationMs: number | null,
  action: KvAction,
  nowMs: number,
): { event: KvEvent; prev: TreeNode | null } | KvError {
  const curr = s.currentIndex;
  const next = curr + 1;
  if (unique) path += "/" + String(next).padStart(20, "0");
  path = cleanPath(path);
  if (isReadOnly(path)) return kvError(Ecode.RootROnly, "/", curr);

  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  const d = walkCreate(s, path.slice(0, slash) || "/", next);
  if (isError(d)) return d;
  const children = d.data as Children;

  let prevNode: KvNode | undefined;
  const existing = children.get(name);
  if (existing !== undefined) {
    if (!replace) return kvError(Ecode.NodeExist, path, curr);
    if (isDir(existing)) return kvError(Ecode.NotFile, path, curr);
    prevNode = renderNode(existing, path, nowMs);
    removeNode(s, existing);
  }

  const n = new TreeNode(name, d, dir ? new Map() : value, next);
  children.set(n.name, n);
  s.nodeCount++;
  if (expirationMs !== null) updateTtl(s, n, expirationMs, next);
  s.currentIndex = next;

  const node = eventNode(path, dir ? undefined : value, dir, n.ttl, nowMs, next, next);
  const event: KvEvent = prevNode !== undefined ? { action, node, prevNode, index: next } : { action, node, index: next };
  return { event, prev: existing ?? null };
}

function storeSet(
  s: KvState,
  path: string,
  dir: boolean,
  value: string,
  expirationMs: number | null,
  refresh: boolean,
  nowMs: number,
): KvResult {
  path = cleanPath(path);
  // etcd's Set looks the node up first, but only a refresh uses what it finds (its value, or its
  // error): a plain set goes straight to internalCreate, one walk of the tree instead of two.
  if (refresh) {
    const got = internalGet(s, path);
    if (isError(got)) return fail(got);
    value = typeof got.data === "string" ? got.data : "";
  }
  const r = internalCreate(s, path, dir, value, false, true, expirationMs, "set", nowMs);
  if ("errorCode" in r) return fail(r);
  if (refresh) r.event.refresh = true;
  return ok(s, r.event);
}

function storeCreate(
  s: KvState,
  path: string,
  dir: boolean,
  value: string,
  unique: boolean,
  expirationMs: number | null,
  nowMs: number,
): KvResult {
  const r = internalCreate(s, path, dir, value, unique, false, expirationMs, "create", nowMs);
  if ("errorCode" in r) return fail(r);
  return ok(s, r.event);
}

function storeUpdate(
  s: KvState,
  path: string,
  value: string,
  expirationMs: number | null,
  refresh: boolean,
  nowMs: number,
): KvResult {
  path = cleanPath(path);
  if (isReadOnly(path)) return fail(kvError(Ecode.RootROnly, "/", s.currentIndex));
  const n = internalGet(s, path);
  if (isError(n)) return fail(n);
  const dir = isDir(n);
  if (dir && value !== "") return fail(kvError(Ecode.NotFile, path, s.currentIndex));
  if (refresh) value = dir ? "" : n.data as string;
  const next = s.currentIndex + 1;
  const prevNode = renderNode(n, path, nowMs);
  // A directory's modifiedIndex never changes (etcd's Write fails on dirs); the event still shows `next`.
  if (!dir) {
    n.data = value;
    n.modifiedIndex = next;
  }
  updateTtl(s, n, expirationMs, next);
  s.currentIndex = next;
  const event: KvEvent = {
    action: "update",
    node: eventNode(path, dir ? undefined : value, dir, n.ttl, nowMs, next, n.createdIndex),
    prevNode,
    index: next,
  };
  if (refresh) event.refresh = true;
  return ok(s, event);
}

function storeCompareAndSwap(
  s: KvState,
  path: string,
  prevValue: string,
  prevIndex: number,
  value: string,
  expirationMs: number | null,
  refresh: boolean,
  nowMs: number,
): KvResult {
  path = cleanPath(path);
  if (isReadOnly(path)) return fail(kvError(Ecode.RootROnly, "/", s.currentIndex));
  const n = internalGet(s, path);
  if (isError(n)) return fail(n);
  if (isDir(n)) return fail(kvError(Ecode.NotFile, path, s.currentIndex));
  const cause = compareFailCause(n, prevValue, prevIndex);
  if (cause !== null) return fail(kvError(Ecode.TestFailed, cause, s.currentIndex));
  if (refresh) value = n.data as string;
  const next = s.currentIndex + 1;
  const prevNode = renderNode(n, path, nowMs);
  n.data = value;
  n.modifiedIndex = next;
  updateTtl(s, n, expirationMs, next);
  s.currentIndex = next;
  const event: KvEvent = {
    action: "compareAndSwap",
    node: eventNode(path, value, false, n.ttl, nowMs, next, n.createdIndex),
    prevNode,
    index: next,
  };
  if (refresh) event.refresh = true;
  return ok(s, event);
}

function storeDelete(s: KvState, path: string, dir: boolean, recursive: boolean, nowMs: number): KvResult {
  path = cleanPath(path);
  if (isReadOnly(path)) return fail(kvError(Ecode.RootROnly, "/", s.currentIndex));
  if (recursive) dir = true;
  const n = internalGet(s, path);
  if (isError(n)) return fail(n);
  const nIsDir = isDir(n);
  if (nIsDir) {
    if (!dir) return fail(kvError(Ecode.NotFile, path, s.currentIndex));
    if ((n.data as Children).size > 0 && !recursive) return fail(kvError(Ecode.DirNotEmpty, path, s.currentIndex));
  }
  return removeWithEvent(s, n, path, "delete", nIsDir, nowMs);
}

function storeCompareAndDelete(s: KvState, path: string, prevValue: string, prevIndex: number, nowMs: number): KvResult {
  path = cleanPath(path);
  // No read-only check here, as in etcd: the root and namespaces are directories and get 102.
  const n = internalGet(s, path);
  if (isError(n)) return fail(n);
  if (isDir(n)) return fail(kvError(Ecode.NotFile, path, s.currentIndex));
  const cause = compareFailCause(n, prevValue, prevIndex);
  if (cause !== null) return fail(kvError(Ecode.TestFailed, cause, s.currentIndex));
  return removeWithEvent(s, n, path, "compareAndDelete", false, nowMs);
}

/** The common end of delete and compareAndDelete: take the next index, detach, record the event. */
function removeWithEvent(s: KvState, n: TreeNode, path: string, action: KvAction, dir: boolean, nowMs: number): KvResult {
  const next = s.currentIndex + 1;
  const prevNode = renderNode(n, path, nowMs);
  removeNode(s, n);
  s.currentIndex = next;
  const event: KvEvent = { action, node: eventNode(path, undefined, dir, null, nowMs, next, n.createdIndex), prevNode, index: next };
  s.history.add(event);
  return withRemoved({ type: "event", event }, n);
}

/** etcd's DeleteExpiredKeys: every node with expiration <= cutoff, in heap order, one index each. */
function storeExpire(s: KvState, cutoffMs: number): KvResult {
  const events: KvEvent[] = [];
  const removed: KvSubtree[] = [];
  for (;;) {
    const top = s.ttlHeap.top();
    if (top === undefined || top.expirationMs > cutoffMs) break;
    const n = top.node;
    const path = nodePath(n);
    const next = s.currentIndex + 1;
    const prevNode = renderNode(n, path, cutoffMs);
    removeNode(s, n);
    s.currentIndex = next;
    const event: KvEvent = {
      action: "expire",
      node: eventNode(path, undefined, isDir(n), null, cutoffMs, next, n.createdIndex),
      prevNode,
      index: next,
    };
    s.history.add(event);
    events.push(event);
    removed.push(n);
  }
  return withRemoved({ type: "expire", events }, removed);
}

// ---------------------------------------------------------------------------------------------
// The projection

/** Absolute expiration for a ttl in seconds: null = permanent, undefined = not a valid ttl. */
function expirationOf(ttlSec: number | null | undefined, timeMs: number): number | null | undefined {
  if (ttlSec === null || ttlSec === undefined) return null;
  if (typeof ttlSec !== "number" || !Number.isFinite(ttlSec) || ttlSec < 0) return undefined;
  return timeMs + ttlSec * 1000;
}

function badTtl(s: KvState): KvResult {
  return fail(kvError(Ecode.TTLNaN, 'invalid value for "ttl"', s.currentIndex));
}

function applySet(s: KvState, c: KvSet, nowMs: number): KvResult {
  const exp = expirationOf(c.ttlSec, nowMs);
  if (exp === undefined) return badTtl(s);
  const prevValue = c.prevValue ?? "";
  const prevIndex = c.prevIndex ?? 0;
  const value = c.value ?? "";
  const refresh = c.refresh === true;
  // etcd apply_v2.go's PUT routing.
  if (c.prevExist !== undefined) {
    if (c.prevExist) {
      if (prevIndex === 0 && prevValue === "") return storeUpdate(s, c.path, value, exp, refresh, nowMs);
      return storeCompareAndSwap(s, c.path, prevValue, prevIndex, value, exp, refresh, nowMs);
    }
    return storeCreate(s, c.path, c.dir === true, value, false, exp, nowMs);
  }
  if (prevIndex > 0 || prevValue !== "") return storeCompareAndSwap(s, c.path, prevValue, prevIndex, value, exp, refresh, nowMs);
  return storeSet(s, c.path, c.dir === true, value, exp, refresh, nowMs);
}

function applyCreateInOrder(s: KvState, c: KvCreateInOrder, nowMs: number): KvResult {
  const exp = expirationOf(c.ttlSec, nowMs);
  if (exp === undefined) return badTtl(s);
  return storeCreate(s, c.path, c.dir === true, c.value ?? "", true, exp, nowMs);
}

function applyDelete(s: KvState, c: KvDelete, nowMs: number): KvResult {
  const prevValue = c.prevValue ?? "";
  const prevIndex = c.prevIndex ?? 0;
  if (prevIndex > 0 || prevValue !== "") return storeCompareAndDelete(s, c.path, prevValue, prevIndex, nowMs);
  return storeDelete(s, c.path, c.dir === true, c.recursive === true, nowMs);
}

/** The fold of one kv command (kv/projection.ts hands it to the registry). */
export function kvApply(s: KvState, cmd: KvCommand, ctx: ApplyContext): KvResult {
  assert(cmd.type === "kv/expire" || typeof (cmd as { path?: unknown }).path === "string", "kv command without a path");
  switch (cmd.type) {
    case "kv/set":
      return applySet(s, cmd, ctx.timeMs);
    case "kv/create-in-order":
      return applyCreateInOrder(s, cmd, ctx.timeMs);
    case "kv/delete":
      return applyDelete(s, cmd, ctx.timeMs);
    case "kv/expire":
      return storeExpire(s, ctx.timeMs);
    default:
      return unreachable(cmd, "unknown kv command");
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshot encoding
//
// [LAYOUT, currentIndex, tree, history]; columnar so CBOR moves a few large blobs instead of
// millions of small items (1M keys encode and decode in well under a second):
//   tree = [count, names, kinds, created, modified, values, valueLengths, ttls], root excluded,
//     nodes in pre-order with children in insertion order (so unsorted listings survive):
//     names:        every node's name joined by "/" (a name never contains "/" and is never empty)
//     kinds:        Int32Array, -1 for a file, else the directory's child count
//     created, modified: Float64Array (indexes may pass 2^32)
//     values:       the files' values back to back in one string; valueLengths: Uint32Array, UTF-16 units each
//     ttls:         Float64Array of (node ordinal, expirationMs, seq) triples, TTL nodes only
//   history = [[action, node, prevNode | null, refresh 0/1, index], ...] oldest first, a node being
//     [key | null, value | null, dir 0/1, expirationMs | 0, ttl | 0, modifiedIndex, createdIndex].
// Values are well-formed UTF-16 (api/ decodes bodies lossily to U+FFFD), so CBOR's UTF-8 keeps them.
// Decoded values are slices of the one values string, which V8 keeps alive while any slice
// lives: after a restore, up to the snapshot's value bytes stay pinned until those keys are
// rewritten. That is the price of a decode that does not allocate a million strings one by one.

const LAYOUT = 2;

type NodeTuple = [string | null, string | null, number, number, number, number, number];
type EventTuple = [KvAction, NodeTuple, NodeTuple | null, number, number];
type TreeColumns = [number, string, Int32Array, Float64Array, Float64Array, string, Uint32Array, Float64Array];

function encodeNode(n: KvNode): NodeTuple {
  return [n.key ?? null, n.value ?? null, n.dir ? 1 : 0, n.expirationMs ?? 0, n.ttl ?? 0, n.modifiedIndex, n.createdIndex];
}

function decodeNode(t: NodeTuple): KvNode {
  const out: KvNode = { modifiedIndex: t[5], createdIndex: t[6] };
  if (t[0] !== null) out.key = t[0];
  if (t[1] !== null) out.value = t[1];
  if (t[2] === 1) out.dir = true;
  if (t[3] !== 0) out.expirationMs = t[3];
  if (t[4] !== 0) out.ttl = t[4];
  return out;
}

function encodeTree(s: KvState): TreeColumns {
  const count = s.nodeCount;
  const names: string[] = new Array(count);
  const kinds = new Int32Array(count);
  const created = new Float64Array(count);
  const modified = new Float64Array(count);
  const lengths: number[] = [];
  const values: string[] = [];
  const ttls: number[] = [];
  let i = 0;
  const iters: Iterator<TreeNode>[] = [(s.root.data as Children).values()];
  while (iters.length > 0) {
    const r = iters[iters.length - 1].next();
    if (r.done) {
      iters.pop();
      continue;
    }
    const n = r.value;
    names[i] = n.name;
    created[i] = n.createdIndex;
    modified[i] = n.modifiedIndex;
    if (n.ttl !== null) ttls.push(i, n.ttl.expirationMs, n.ttl.seq);
    if (typeof n.data === "string") {
      kinds[i] = -1;
      values.push(n.data);
      lengths.push(n.data.length);
    } else {
      kinds[i] = n.data.size;
      iters.push(n.data.values());
    }
    i++;
  }
  assert(i === count, "kv snapshot: node count mismatch");
  return [
    (s.root.data as Children).size,
    names.join("/"),
    kinds,
    created,
    modified,
    values.join(""),
    Uint32Array.from(lengths),
    Float64Array.from(ttls),
  ];
}

function decodeTree(s: KvState, cols: TreeColumns): void {
  const [rootCount, joined, kinds, created, modified, allValues, lengths, ttlTriples] = cols;
  const count = kinds.length;
  const names = count === 0 ? [] : joined.split("/");
  assert(names.length === count, "kv snapshot: names do not match kinds");
  const nodes: TreeNode[] = new Array(count);
  const dirs: TreeNode[] = [s.root];
  const left: number[] = [rootCount];
  let file = 0;
  let off = 0;
  for (let i = 0; i < count; i++) {
    while (left[left.length - 1] === 0) {
      dirs.pop();
      left.pop();
    }
    assert(dirs.length > 0, "kv snapshot: tree shape");
    left[left.length - 1]--;
    const parent = dirs[dirs.length - 1];
    const kind = kinds[i];
    let data: string | Children;
    if (kind < 0) {
      const len = lengths[file++];
      data = allValues.slice(off, off + len);
      off += len;
    } else {
      data = new Map();
    }
    const n = new TreeNode(names[i], parent, data, created[i]);
    n.modifiedIndex = modified[i];
    (parent.data as Children).set(n.name, n);
    nodes[i] = n;
    if (kind > 0) {
      dirs.push(n);
      left.push(kind);
    }
  }
  s.nodeCount = count;
  const ttls: TtlEntry[] = [];
  for (let j = 0; j < ttlTriples.length; j += 3) {
    const n = nodes[ttlTriples[j]];
    n.ttl = new TtlEntry(ttlTriples[j + 1], ttlTriples[j + 2], n);
    ttls.push(n.ttl);
  }
  s.ttlHeap.rebuild(ttls);
}

/** Columnar snapshot form (projections/DESIGN.md, "Snapshot encoding"). */
export function kvEncodeState(s: KvState): unknown {
  const history: EventTuple[] = s.history.toArray().map((e) => [
    e.action,
    encodeNode(e.node),
    e.prevNode ? encodeNode(e.prevNode) : null,
    e.refresh ? 1 : 0,
    e.index,
  ]);
  return [LAYOUT, s.currentIndex, encodeTree(s), history];
}

/** The snapshot encoding's version: bump when kvEncodeState's shape changes. */
export const KV_STATE_VERSION = 1;

export function kvDecodeState(data: unknown, version: number): KvState {
  assert(version === KV_STATE_VERSION, `kv snapshot version ${version} is not ${KV_STATE_VERSION}`);
  assert(Array.isArray(data) && data.length === 4 && data[0] === LAYOUT, "kv snapshot: bad layout");
  const [, currentIndex, tree, history] = data as [number, number, TreeColumns, EventTuple[]];
  const s = new KvState(false);
  s.currentIndex = currentIndex;
  decodeTree(s, tree);
  for (const [action, node, prev, refresh, index] of history) {
    const e: KvEvent = { action, node: decodeNode(node), index };
    if (prev !== null) e.prevNode = decodeNode(prev);
    if (refresh === 1) e.refresh = true;
    s.history.add(e);
  }
  return s;
}


// ---------------------------------------------------------------------------------------------
// Reads

/** etcd's Get: action "get" with index = the current etcd index, or 100/104. */
export function kvGet(state: KvState, path: string, opts: { recursive: boolean; sorted: boolean }, nowMs: number): KvResult {
  path = cleanPath(path);
  const n = internalGet(state, path);
  if (isError(n)) return fail(n);
  const node = renderListing(n, path, nowMs, opts.recursive, opts.sorted);
  return { type: "event", event: { action: "get", node, index: state.currentIndex } };
}

/**
 * Receives a listing node by node, in pre-order, so api/ can write a large listing's JSON without
 * the intermediate KvNode tree (100,000 children are 100,000 objects). `opens` says the node's
 * visible children follow, ended by one close(); otherwise the node is complete.
 */
export interface KvListingSink {
  node(
    key: string | undefined,
    value: string | undefined,
    dir: boolean,
    expirationMs: number | undefined,
    ttl: number,
    modifiedIndex: number,
    createdIndex: number,
    opens: boolean,
  ): void;
  close(): void;
}

function visibleChildren(n: TreeNode, sorted: boolean): TreeNode[] {
  const kids: TreeNode[] = [];
  for (const c of (n.data as Children).values()) if (c.name.charCodeAt(0) !== 95 /* _ */) kids.push(c);
  // Siblings share their parent's path, so ordering names orders keys.
  if (sorted) kids.sort((a, b) => compareUtf8(a.name, b.name));
  return kids;
}

function sinkNode(sink: KvListingSink, n: TreeNode, path: string, nowMs: number, opens: boolean): void {
  const d = n.data;
  const file = typeof d === "string";
  const t = n.ttl;
  sink.node(
    n.parent === null ? undefined : path,
    file ? d : undefined,
    !file,
    t === null ? undefined : t.expirationMs,
    t === null ? 0 : ttlSeconds(t.expirationMs, nowMs),
    n.modifiedIndex,
    n.createdIndex,
    opens,
  );
}

/**
 * kvGet's node handed to `sink` instead of built (same nodes, same order, same fields), or the
 * error. Synchronous, so the listing is one state of the store. Iterative: an explicit stack of
 * directories, so depth costs heap, never the JS stack.
 */
export function kvGetInto(
  state: KvState,
  path: string,
  opts: { recursive: boolean; sorted: boolean },
  nowMs: number,
  sink: KvListingSink,
): KvError | undefined {
  path = cleanPath(path);
  const top = internalGet(state, path);
  if (isError(top)) return top;
  if (typeof top.data === "string") {
    sinkNode(sink, top, path, nowMs, false);
    return undefined;
  }
  const topKids = visibleChildren(top, opts.sorted);
  sinkNode(sink, top, path, nowMs, topKids.length > 0);
  if (topKids.length === 0) return undefined;
  const kidsStack: TreeNode[][] = [topKids];
  const posStack: number[] = [0];
  const pathStack: string[] = [path];
  while (kidsStack.length > 0) {
    const last = kidsStack.length - 1;
    const kids = kidsStack[last];
    const i = posStack[last];
    if (i >= kids.length) {
      kidsStack.pop();
      posStack.pop();
      pathStack.pop();
      sink.close();
      continue;
    }
    posStack[last] = i + 1;
    const c = kids[i];
    const cp = joinPath(pathStack[last], c.name);
    if (opts.recursive && typeof c.data !== "string") {
      const grandKids = visibleChildren(c, opts.sorted);
      const opens = grandKids.length > 0;
      sinkNode(sink, c, cp, nowMs, opens);
      if (opens) {
        kidsStack.push(grandKids);
        posStack.push(0);
        pathStack.push(cp);
      }
    } else {
      sinkNode(sink, c, cp, nowMs, false);
    }
  }
  return undefined;
}

/**
 * Whether a write after `sinceIndex` may have changed what a read of `path` shows: an event at
 * the path, under it, or at an ancestor (a removed parent); true also when the history no longer
 * reaches back to `sinceIndex` (unknown). Lets api/ share one encoding of a large listing between
 * reads at different indexes while nothing under it changed.
 */
export function kvChangedSince(state: KvState, path: string, sinceIndex: number): boolean {
  if (sinceIndex === state.currentIndex) return false;
  return state.history.touchedSince(cleanPath(path), sinceIndex, state.currentIndex);
}

/**
 * The first history event at or after `sinceIndex` that a watch on `path` matches (§6), an
 * error 401 when `sinceIndex` is older than the history (index = current index), or undefined
 * when the watch must wait for live events. A `sinceIndex` of 0 means current + 1.
 */
export function kvScanHistory(state: KvState, path: string, recursive: boolean, sinceIndex: number): KvEvent | KvError | undefined {
  if (sinceIndex === 0) sinceIndex = state.currentIndex + 1;
  const h = state.history;
  if (h.size === 0) return undefined;
  if (sinceIndex < h.oldestIndex) {
    return kvError(
      Ecode.EventIndexCleared,
      `the requested history has been cleared [${h.oldestIndex}/${sinceIndex}]`,
      state.currentIndex,
    );
  }
  return h.scan(cleanPath(path), recursive, sinceIndex);
}


/** Nodes in the store, the root excluded (the "/0" and "/1" namespace directories count). */
export function kvNodeCount(state: KvState): number {
  return state.nodeCount;
}
