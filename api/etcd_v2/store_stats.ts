// The /v2/stats/store counters, kept in the api because the api is where an operation's kind
// (set/create/update/CAS/delete/CAD/get) and its outcome meet. Expirations are counted from the
// applied results the daemon publishes; watchers come from the watch hub at read time.
// Counts this member's client operations only (etcd's also count internal writes).
// Must not do I/O; must not decide what an operation is beyond reading the command.

import type { KvCommand } from "../../projections/mod.ts";

/** Per-operation success/failure counters, as etcd's /v2/stats/store reports them. */
export interface StoreStats {
  getsSuccess: number;
  getsFail: number;
  setsSuccess: number;
  setsFail: number;
  deleteSuccess: number;
  deleteFail: number;
  updateSuccess: number;
  updateFail: number;
  createSuccess: number;
  createFail: number;
  compareAndSwapSuccess: number;
  compareAndSwapFail: number;
  compareAndDeleteSuccess: number;
  compareAndDeleteFail: number;
  expireCount: number;
  watchers: number;
}

export type StoreOp = "gets" | "sets" | "delete" | "update" | "create" | "compareAndSwap" | "compareAndDelete";

/** Which etcd store operation a write command is, as apply_v2.go picks it. */
export function storeOpOf(command: KvCommand): StoreOp | undefined {
  switch (command.type) {
    case "kv/set": {
      const compare = (command.prevIndex ?? 0) > 0 || (command.prevValue ?? "") !== "";
      if (command.prevExist === false) return "create";
      if (command.prevExist === true) return compare ? "compareAndSwap" : "update";
      return compare ? "compareAndSwap" : "sets";
    }
    case "kv/create-in-order":
      return "create";
    case "kv/delete":
      return (command.prevIndex ?? 0) > 0 || (command.prevValue ?? "") !== "" ? "compareAndDelete" : "delete";
    case "kv/expire":
      return undefined;
  }
}

export class StoreStatsCounter {
  #s: StoreStats = {
    getsSuccess: 0,
    getsFail: 0,
    setsSuccess: 0,
    setsFail: 0,
    deleteSuccess: 0,
    deleteFail: 0,
    updateSuccess: 0,
    updateFail: 0,
    createSuccess: 0,
    createFail: 0,
    compareAndSwapSuccess: 0,
    compareAndSwapFail: 0,
    compareAndDeleteSuccess: 0,
    compareAndDeleteFail: 0,
    expireCount: 0,
    watchers: 0,
  };

  record(op: StoreOp, ok: boolean): void {
    const s = this.#s;
    switch (op) {
      case "gets":
        if (ok) s.getsSuccess++;
        else s.getsFail++;
        break;
      case "sets":
        if (ok) s.setsSuccess++;
        else s.setsFail++;
        break;
      case "delete":
        if (ok) s.deleteSuccess++;
        else s.deleteFail++;
        break;
      case "update":
        if (ok) s.updateSuccess++;
        else s.updateFail++;
        break;
      case "create":
        if (ok) s.createSuccess++;
        else s.createFail++;
        break;
      case "compareAndSwap":
        if (ok) s.compareAndSwapSuccess++;
        else s.compareAndSwapFail++;
        break;
      case "compareAndDelete":
        if (ok) s.compareAndDeleteSuccess++;
        else s.compareAndDeleteFail++;
        break;
    }
  }

  recordExpired(nodes: number): void {
    this.#s.expireCount += nodes;
  }

  /** A copy of the counters with the current watcher count. */
  snapshot(watchers: number): StoreStats {
    return { ...this.#s, watchers };
  }

  /** The /v2/stats/store body: json.Marshal of etcd's Stats struct, field order kept, no newline. */
  json(watchers: number): string {
    return JSON.stringify(this.snapshot(watchers));
  }
}
