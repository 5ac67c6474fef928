// The live side of etcd v2 watches (etcd's watcherHub): watchers registered by path in a trie,
// notified from each applied kv result with etcd 3.4's exact matching rules.
// Pure: no timers, no I/O; `deliver` is called synchronously and the HTTP layer does the writing.
// Must not mutate the kv state, and must not buffer events (api/ bounds each stream's buffer).

import type { KvError, KvEvent, KvResult, KvState, KvSubtree } from "../../projections/mod.ts";
import { kvScanHistory } from "../../projections/mod.ts";
import { Ecode, kvError } from "../../projections/mod.ts";
import { limits } from "../../internal/mod.ts";

export interface WatchHandle {
  cancel(): void;
}

export type WatchResult =
  | { type: "event"; event: KvEvent }
  | { type: "error"; error: KvError }
  | { type: "watching"; handle: WatchHandle };

/** One path component level of the watcher trie; exists only while some watcher is at or below it. */
class HubNode {
  readonly name: string;
  readonly parent: HubNode | null;
  children: Map<string, HubNode> | null = null;
  /** Watchers registered exactly here, in registration order (an intrusive doubly linked list). */
  head: Watcher | null = null;
  tail: Watcher | null = null;
  constructor(name: string, parent: HubNode | null) {
    this.name = name;
    this.parent = parent;
  }
}

class Watcher implements WatchHandle {
  readonly hub: WatchHub;
  /** The trie node it is linked into; null once removed (fired, cancelled). */
  at: HubNode | null;
  readonly recursive: boolean;
  readonly stream: boolean;
  /** Live events below this index are not for it (after a restore: past what history delivered). */
  sinceIndex: number;
  readonly deliver: (e: KvEvent) => void;
  readonly end: () => void;
  prev: Watcher | null = null;
  next: Watcher | null = null;
  cancelled = false;
  constructor(
    hub: WatchHub,
    at: HubNode,
    recursive: boolean,
    stream: boolean,
    sinceIndex: number,
    deliver: (e: KvEvent) => void,
    end: () => void,
  ) {
    this.hub = hub;
    this.at = at;
    this.recursive = recursive;
    this.stream = stream;
    this.sinceIndex = sinceIndex;
    this.deliver = deliver;
    this.end = end;
  }
  cancel(): void {
    this.cancelled = true;
    this.hub.unlink(this);
  }
}

/** Path components of a (cleaned or not) absolute path: "/1/a" -> ["1", "a"], "/" -> []. */
function components(path: string): string[] {
  const out: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return out;
}

function isDeleteAction(a: KvEvent["action"]): boolean {
  return a === "delete" || a === "compareAndDelete" || a === "expire";
}

export class WatchHub {
  readonly #root = new HubNode("", null);
  readonly #watchersMax: number;
  #count = 0;

  constructor(watchersMax: number = limits.watchersMax) {
    this.#watchersMax = watchersMax;
  }

  /** Live watchers. */
  get count(): number {
    return this.#count;
  }

  /**
   * etcd's store.Watch: a history hit answers at once and registers nothing (so a stream that
   * starts from history gets that one event only, etcd's quirk); a cleared index is error 401;
   * otherwise the watcher waits for live events with index >= sinceIndex (0 = current + 1).
   */
  watch(
    state: KvState,
    path: string,
    recursive: boolean,
    stream: boolean,
    sinceIndex: number,
    deliver: (e: KvEvent) => void,
    end: () => void = () => {},
  ): WatchResult {
    const since = sinceIndex === 0 ? state.index + 1 : sinceIndex;
    const hit = kvScanHistory(state, path, recursive, since);
    if (hit !== undefined) {
      return "errorCode" in hit ? { type: "error", error: hit } : { type: "event", event: hit };
    }
    if (this.#count >= this.#watchersMax) {
      // Not an etcd error (etcd has no bound); 300 maps to HTTP 500, which clients retry elsewhere.
      return { type: "error", error: kvError(Ecode.RaftInternal, "too many watchers", state.index) };
    }
    let at = this.#root;
    for (const c of components(path)) {
      if (at.children === null) at.children = new Map();
      let child = at.children.get(c);
      if (child === undefined) {
        child = new HubNode(c, at);
        at.children.set(c, child);
      }
      at = child;
    }
    const w = new Watcher(this, at, recursive, stream, since, deliver, end);
    if (at.tail === null) at.head = w;
    else {
      at.tail.next = w;
      w.prev = at.tail;
    }
    at.tail = w;
    this.#count++;
    return { type: "watching", handle: w };
  }

  onKvResult(result: KvResult): void {
    if (result.type === "event") {
      if (result.event.refresh || result.event.action === "get") return;
      this.#notify(result.event, result.removed);
    } else if (result.type === "expire") {
      const removed = result.removed;
      for (let i = 0; i < result.events.length; i++) this.#notify(result.events[i], removed?.[i]);
    }
  }

  /**
   * The state was replaced by a snapshot: a waiting watcher may have missed events that were never
   * announced one by one. Each gets what the new history holds from its index on, as if it had just
   * asked (a long-poll its first match, a stream all of them); a watcher whose index the history no
   * longer covers is ended without an event, so its client asks again and gets etcd's 401 "event
   * index cleared" instead of silently skipping events. (etcd 3.4 skips them: its waiting watchers
   * hear only of events after the recovery.)
   */
  onKvRestore(state: KvState): void {
    const all: [Watcher, string][] = [];
    const walk = (n: HubNode, path: string) => {
      for (let w = n.head; w !== null; w = w.next) all.push([w, path]);
      if (n.children !== null) for (const [name, c] of n.children) walk(c, `${path === "/" ? "" : path}/${name}`);
    };
    walk(this.#root, "/");
    for (const [w, path] of all) {
      while (!w.cancelled && w.at !== null) {
        const hit = kvScanHistory(state, path, w.recursive, w.sinceIndex);
        if (hit === undefined) break;
        if ("errorCode" in hit) {
          this.unlink(w);
          w.end();
          break;
        }
        w.sinceIndex = hit.index + 1;
        if (!w.stream) this.unlink(w);
        w.deliver(hit);
      }
    }
  }

  /** Removes a watcher from its list and prunes trie nodes nobody watches any more. Idempotent. */
  unlink(w: Watcher): void {
    const at = w.at;
    if (at === null) return;
    if (w.prev === null) at.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) at.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = w.at = null;
    this.#count--;
    for (let n: HubNode | null = at; n !== null && n.parent !== null; n = n.parent) {
      if (n.head !== null || (n.children !== null && n.children.size > 0)) break;
      const p: HubNode = n.parent;
      p.children!.delete(n.name);
    }
  }

  /**
   * etcd's delete callbacks, then watcherHub.notify: first every watcher on a removed node
   * (the key itself and, for a directory, each removed descendant) gets the event whatever its
   * recursive flag; then the watchers at the key and each ancestor, root first. A stream
   * watcher at a deleted key therefore sees the event twice, as on etcd 3.4 (checked).
   */
  #notify(e: KvEvent, removed: KvSubtree | undefined): void {
    const comps = components(e.node.key ?? "/");
    const matched: Watcher[] = [];

    if (isDeleteAction(e.action)) {
      let at: HubNode | undefined = this.#root;
      for (let i = 0; i < comps.length && at !== undefined; i++) at = at.children?.get(comps[i]);
      if (at !== undefined) {
        if (removed === undefined) {
          this.#collect(at, e, true, true, matched);
        } else {
          const stack: [HubNode, KvSubtree][] = [[at, removed]];
          while (stack.length > 0) {
            const [h, t] = stack.pop()!;
            this.#collect(h, e, h === at, true, matched);
            if (h.children === null) continue;
            for (const [name, hc] of h.children) {
              const tc = t.child(name);
              if (tc !== undefined) stack.push([hc, tc]);
            }
          }
        }
      }
    }

    // A watcher above the key is hidden from it when a component below the watcher starts with "_".
    let lastHidden = -1;
    for (let i = 0; i < comps.length; i++) if (comps[i].charCodeAt(0) === 95 /* _ */) lastHidden = i;
    let at: HubNode | undefined = this.#root;
    for (let depth = 0; at !== undefined; depth++) {
      const original = depth === comps.length;
      if (original || lastHidden < depth) this.#collect(at, e, original, false, matched);
      if (original) break;
      at = at.children?.get(comps[depth]);
    }

    for (const w of matched) {
      if (!w.cancelled) w.deliver(e);
    }
  }

  /** etcd's watcher.notify over one list: (recursive || originalPath || deleted) && index >= sinceIndex. */
  #collect(at: HubNode, e: KvEvent, originalPath: boolean, deleted: boolean, out: Watcher[]): void {
    for (let w = at.head; w !== null;) {
      const next: Watcher | null = w.next;
      if ((w.recursive || originalPath || deleted) && e.index >= w.sinceIndex) {
        out.push(w);
        if (!w.stream) this.unlink(w);
      }
      w = next;
    }
  }
}
