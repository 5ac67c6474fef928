// The kv store's node tree: one compact object per node, a Map only on directories, and the
// path helpers the store needs. Private to projections/ (kv.ts is the public surface).
// Must not know about events, indexes policy or time: kv.ts decides; this file only holds shape.

import { compareBytes, KV_BYTE_ESCAPE_CODE, kvStringToBytes } from "./bytes.ts";

/** A node's TTL bookkeeping; exists only for nodes that have a TTL, so permanent nodes pay one null field. */
export class TtlEntry {
  /** Absolute expiration, epoch ms. */
  expirationMs: number;
  /** The etcd index of the write that set this TTL: unique per entry, so (expirationMs, seq) is a total order. */
  seq: number;
  /** Position in the TTL heap array; -1 when not in the heap. */
  pos: number;
  readonly node: TreeNode;
  constructor(expirationMs: number, seq: number, node: TreeNode) {
    this.expirationMs = expirationMs;
    this.seq = seq;
    this.pos = -1;
    this.node = node;
  }
}

export type Children = Map<string, TreeNode>;

/**
 * One node. `name` is the same string object as the key in the parent's Map, so it costs
 * nothing extra; the full path is rebuilt from parents when an event needs it.
 * `data` is the value of a file or the children of a directory (one field for both).
 */
export class TreeNode {
  name: string;
  parent: TreeNode | null;
  data: string | Children;
  createdIndex: number;
  modifiedIndex: number;
  ttl: TtlEntry | null;
  constructor(name: string, parent: TreeNode | null, data: string | Children, index: number) {
    this.name = name;
    this.parent = parent;
    this.data = data;
    this.createdIndex = index;
    this.modifiedIndex = index;
    this.ttl = null;
  }
  /** The child called `name`, if this is a directory that has one (the watch hub walks removed subtrees with it). */
  child(name: string): TreeNode | undefined {
    const d = this.data;
    return typeof d === "string" ? undefined : d.get(name);
  }
}

export function isDir(n: TreeNode): boolean {
  return typeof n.data !== "string";
}

/** The node's absolute path, rebuilt from its ancestors ("/" for the root). */
export function nodePath(n: TreeNode): string {
  if (n.parent === null) return "/";
  const parts: string[] = [];
  for (let x: TreeNode | null = n; x !== null && x.parent !== null; x = x.parent) parts.push(x.name);
  parts.reverse();
  return "/" + parts.join("/");
}

/** `parent + "/" + name` with Go path.Join's special case for the root. */
export function joinPath(parent: string, name: string): string {
  return parent === "/" ? "/" + name : parent + "/" + name;
}

/**
 * Go's path.Clean(path.Join("/", p)): absolute, no empty, "." or ".." components, no trailing
 * slash. api/ cleans already, so the common case is a cheap check that returns `p` itself.
 */
export function cleanPath(p: string): string {
  if (
    p.length > 0 && p.charCodeAt(0) === 47 && (p.length === 1 || p.charCodeAt(p.length - 1) !== 47) &&
    p.indexOf("//") < 0 && p.indexOf("/./") < 0 && p.indexOf("/../") < 0 && !p.endsWith("/.") && !p.endsWith("/..")
  ) {
    return p;
  }
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return "/" + out.join("/");
}

/**
 * Orders strings as the bytes they stand for (Go's string comparison, used by sorted listings).
 * UTF-16 code units agree with UTF-8 byte order except that surrogates (U+D800..DFFF, which
 * encode code points above U+FFFF) must sort after U+E000..U+FFFF. Escaped raw bytes
 * (bytes.ts) are compared as bytes: when the first difference touches an escape, both
 * strings are turned into bytes (rare: only keys holding invalid UTF-8 or U+FDD0 get there).
 */
export function compareUtf8(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === KV_BYTE_ESCAPE_CODE || y === KV_BYTE_ESCAPE_CODE || (i > 0 && a.charCodeAt(i - 1) === KV_BYTE_ESCAPE_CODE)) {
      return compareBytes(kvStringToBytes(a), kvStringToBytes(b));
    }
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
