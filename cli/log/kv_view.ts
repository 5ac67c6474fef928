// The kv service (etcd's v2 store) in the offline log tools: keys as clients see them ("/foo", the
// cluster's internal keys as "(internal)/0/..."), results in etcd's words with the etcd index,
// `log replay`'s etcd index and node count, `--key` lookups, and what `log history` calls touching
// a key. Every kv-specific word of cli/log/ is here; the commands stay generic.
// Must not read a log or print: commands hand it states and results, it hands back text.

import { nodeJson } from "../../api/mod.ts";
import {
  type Command,
  type KvError,
  type KvEvent,
  kvGet,
  kvNodeCount,
  type KvNode,
  type KvResult,
  type States,
} from "../../projections/mod.ts";
import type { Index } from "../../internal/mod.ts";
import { commandFields, isoTime, quote } from "./show.ts";
import type { ProjectionView } from "./views.ts";

/** Internal store path -> what a client sees: "/1/foo" -> "/foo", "/0/x" -> "(internal)/0/x". */
export function clientKey(p: string | undefined): string {
  if (p === undefined || p === "/1") return "/";
  if (p.startsWith("/1/")) return p.slice(2);
  return `(internal)${p}`;
}

/** A client key -> the store's internal path ("/foo" -> "/1/foo"), cleaned like etcd's path.Clean. */
export function storePath(key: string): string {
  const parts = key.split("/").filter((x) => x !== "" && x !== ".");
  const out: string[] = [];
  for (const x of parts) {
    if (x === "..") out.pop();
    else out.push(x);
  }
  return out.length === 0 ? "/1" : "/1/" + out.join("/");
}

/** An error's cause, with a store path shown as the client's key. */
function showCause(cause: string): string {
  return cause.startsWith("/1/") || cause === "/1" ? clientKey(cause) : cause;
}

/** A rejected command: etcd's error code and message, its cause. */
export function showKvError(e: KvError): string {
  return `rejected ${e.errorCode}: ${e.message}${e.cause ? ` (${showCause(e.cause)})` : ""}`;
}

/** etcdctl's error line for a lookup that failed. */
export function kvErrorLine(e: KvError): string {
  return `Error:  ${e.errorCode}: ${e.message} (${e.cause ? showCause(e.cause) : ""}) [${e.index}]`;
}

function showNodeValue(n: KvNode | undefined): string {
  if (n === undefined) return "(none)";
  if (n.dir) return "(dir)";
  return n.value === undefined ? "(no value)" : quote(n.value);
}

function showEvent(ev: KvEvent): string {
  let out = `${ev.action} ${clientKey(ev.node.key)}`;
  if (ev.node.dir) out += " (dir)";
  else if (ev.node.value !== undefined) out += ` = ${quote(ev.node.value)}`;
  if (ev.prevNode) out += `, was ${showNodeValue(ev.prevNode)}`;
  if (ev.node.expirationMs !== undefined) out += `, expires ${isoTime(ev.node.expirationMs)}`;
  if (ev.refresh) out += " (refresh)";
  return out + ` [etcd index ${ev.index}]`;
}

export const kvView: ProjectionView = {
  showCommand(c: Command): string {
    const o = c as unknown as Record<string, unknown>;
    let lead = "";
    if (typeof o.path === "string") lead += " " + clientKey(o.path);
    if (typeof o.value === "string") lead += " " + quote(o.value);
    return commandFields(c, lead, o.prevIndex === 0 ? ["path", "value", "prevIndex"] : ["path", "value"]);
  },
  showResult(result: unknown): string {
    const r = result as KvResult;
    switch (r.type) {
      case "event":
        return showEvent(r.event);
      case "error":
        return `${showKvError(r.error)} [etcd index ${r.error.index}]`;
      case "expire":
        return r.events.length === 0 ? "expire: nothing due" : `expire ${r.events.length}: ` + r.events.map((ev) => clientKey(ev.node.key)).join(", ");
      default:
        return JSON.stringify(result);
    }
  },
  summary(states: States): string[] {
    return [
      `  etcd index  ${states.kv.index}`,
      `  nodes       ${kvNodeCount(states.kv).toLocaleString("en-US")} (keys and directories, the /0 and /1 namespaces included)`,
    ];
  },
  summaryJson(states: States, nowMs: number): [string, string][] {
    const kv = states.kv;
    const keys = kvGet(kv, "/1", { recursive: true, sorted: true }, nowMs);
    const cluster = kvGet(kv, "/0", { recursive: true, sorted: true }, nowMs);
    return [
      ["etcdIndex", JSON.stringify(kv.index)],
      ["nodes", JSON.stringify(kvNodeCount(kv))],
      ["keys", keys.type === "event" ? nodeJson(keys.event.node) : "null"],
      ["cluster", cluster.type === "event" ? nodeJson(cluster.event.node) : "null"],
    ];
  },
};

/** `log replay --key K`: client key K's node as etcd would answer a GET at `nowMs`, or the error. */
export function kvLookup(states: States, key: string, recursive: boolean, nowMs: number): { json: string } | { error: KvError } {
  const got = kvGet(states.kv, storePath(key), { recursive, sorted: true }, nowMs);
  if (got.type === "error") return { error: got.error };
  if (got.type !== "event") throw new Error(`kvGet answered ${got.type}`);
  return { json: nodeJson(got.event.node) };
}

/** One line of `log history`: an entry that touched the key. */
export interface HistoryLine {
  index: Index;
  term: number;
  timeMs: number;
  action: string;
  key: string;
  prevValue?: string | null;
  value?: string | null;
  via?: string;
  rejected?: { errorCode: number; message: string; cause?: string };
}

/** A history line's effect in words: previous -> new value, or why it was rejected. */
export function showHistoryEffect(h: HistoryLine): string {
  return h.rejected
    ? showKvError(h.rejected as KvError)
    : `${showVal(h.prevValue)} -> ${showVal(h.value)}${h.via ? ` (${h.via})` : ""}`;
}

function showVal(v: string | null | undefined): string {
  return v === null || v === undefined ? "(none)" : quote(v);
}

/**
 * What `log history --key K` calls touching K: sets, creates, updates, compare-and-swaps, deletes
 * and expiries of K (and of keys below it with `recursive`), removals of a directory above it, and
 * commands on it that the store rejected. Keeps the last value seen per key, so a removal by an
 * ancestor can say what was lost.
 */
export class KvHistory {
  readonly #path: string;
  readonly #under: string;
  readonly #recursive: boolean;
  readonly #current = new Map<string, string | null>();

  constructor(key: string, recursive: boolean) {
    this.#path = storePath(key);
    this.#under = this.#path + "/";
    this.#recursive = recursive;
  }

  #matches(k: string | undefined): boolean {
    return k === this.#path || (this.#recursive && k !== undefined && k.startsWith(this.#under));
  }

  /** The states became known (the start point, or a snapshot met on the way): what the key held then. */
  seed(states: States): void {
    const got = kvGet(states.kv, this.#path, { recursive: this.#recursive, sorted: true }, 0);
    if (got.type !== "event") return;
    // Iterative: a listing nests as deep as the store does (issue 12: a 9,000-deep key).
    const stack = [got.event.node];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.key !== undefined) this.#current.set(n.key, n.dir ? null : (n.value ?? null));
      const kids = n.nodes ?? [];
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]); // pre-order, as the recursion was
    }
  }

  /** A command whose result is unknown (its state was compacted away): a line when it names the key. */
  unknown(base: Pick<HistoryLine, "index" | "term" | "timeMs">, c: Command): HistoryLine[] {
    const path = (c as { path?: unknown }).path;
    if (typeof path !== "string" || !this.#matches(path)) return [];
    return [{ ...base, action: "(unknown result)", key: path, value: null, via: kvView.showCommand(c) }];
  }

  /** A command and its result: the lines it adds to the key's history. */
  applied(base: Pick<HistoryLine, "index" | "term" | "timeMs">, c: Command, result: unknown): HistoryLine[] {
    const out: HistoryLine[] = [];
    const r = result as KvResult | undefined;
    if (r?.type === "event") this.#onEvent(base, r.event, out);
    else if (r?.type === "expire") for (const ev of r.events) this.#onEvent(base, ev, out);
    else if (r?.type === "error") {
      const path = (c as { path?: unknown }).path;
      if (typeof path === "string" && this.#matches(path)) out.push({ ...base, action: c.type, key: path, rejected: r.error });
    }
    return out;
  }

  #onEvent(base: Pick<HistoryLine, "index" | "term" | "timeMs">, ev: KvEvent, out: HistoryLine[]): void {
    const current = this.#current;
    const k = ev.node.key;
    const removal = ev.action === "delete" || ev.action === "compareAndDelete" || ev.action === "expire";
    if (this.#matches(k)) {
      const prev = current.has(k!) ? current.get(k!)! : ev.prevNode ? (ev.prevNode.value ?? null) : null;
      const value = removal ? null : ev.node.dir ? null : (ev.node.value ?? null);
      if (removal && ev.node.dir) {
        // A directory removed: everything recorded below it went with it.
        for (const ck of [...current.keys()]) if (ck.startsWith(k + "/")) current.delete(ck);
      }
      if (removal) current.delete(k!);
      else current.set(k!, value);
      out.push({ ...base, action: ev.action, key: k!, prevValue: ev.prevNode ? (ev.prevNode.value ?? null) : prev, value, ...(ev.node.dir ? { via: "directory" } : {}) });
      return;
    }
    if (removal && k !== undefined && (this.#path.startsWith(k + "/") || (this.#recursive && this.#under.startsWith(k + "/")))) {
      // An ancestor directory was removed: every key below it went too.
      const gone = [...current.keys()].filter((ck) => ck.startsWith(k + "/"));
      if (gone.length === 0 && !this.#recursive) gone.push(this.#path);
      for (const ck of gone) {
        out.push({ ...base, action: ev.action, key: ck, prevValue: current.get(ck) ?? null, value: null, via: `with directory ${clientKey(k)}` });
        current.delete(ck);
      }
    }
  }
}
