// The main thread's side of the log writer thread (log_writer_worker.ts): hands it one batch at a
// time and resolves when the batch is durable. With it, the fsync of batch N overlaps the parsing
// of the requests that will form batch N+1, and SQLite's checkpoints leave the event loop.
// Must not queue more than one batch: the Raft core's Ready/advance contract allows one.

import { join } from "node:path";
import { assert } from "../internal/assert.ts";
import type { Index } from "../internal/brand.ts";
import type { Runtime, WorkerHandle } from "./runtime.ts";
import { StorageError } from "./sqlite.ts";
import { DB_FILE, type SaveBatch } from "./storage_sqlite.ts";
import type { WriteReply, WriteRequest } from "./log_writer_worker.ts";

export class LogWriter {
  readonly #worker: WorkerHandle;
  #seq = 0;
  #inFlight: { id: number; resolve(): void; reject(e: Error): void } | undefined;

  private constructor(worker: WorkerHandle) {
    this.#worker = worker;
    worker.on("message", (m: WriteReply | string) => {
      if (typeof m === "string") return;
      const f = this.#inFlight;
      assert(f && f.id === m.id, `log writer answered batch ${m.id}, not the one in flight`);
      this.#inFlight = undefined;
      if (m.ok) f.resolve();
      else f.reject(new StorageError(m.message, m.diskFull));
    });
    worker.on("error", (e: Error) => {
      const f = this.#inFlight;
      this.#inFlight = undefined;
      f?.reject(new StorageError(`the log writer thread failed: ${e.message}`, false));
    });
  }

  static start(rt: Runtime, dataDir: string): Promise<LogWriter> {
    const worker = rt.startWorker(new URL("./log_writer_worker.ts", import.meta.url), { dbPath: join(dataDir, DB_FILE) });
    return new Promise((resolve, reject) => {
      const onMsg = (m: unknown) => {
        if (m !== "ready") return;
        worker.off("message", onMsg);
        worker.off("error", reject);
        resolve(new LogWriter(worker));
      };
      worker.on("message", onMsg);
      worker.once("error", reject);
    });
  }

  get busy(): boolean {
    return this.#inFlight !== undefined;
  }

  /** Resolves once the batch is committed and fsynced; rejects with StorageError (nothing written). */
  write(b: SaveBatch, lastBefore: Index): Promise<void> {
    assert(!this.#inFlight, "one batch at a time");
    const id = ++this.#seq;
    const req: WriteRequest = {
      id,
      lastBefore,
      entries: b.entries.map((e) => [e.index, e.term, e.type, e.data]),
      hardState: b.hardState,
      snapshot: b.snapshot,
    };
    return new Promise((resolve, reject) => {
      this.#inFlight = { id, resolve, reject };
      this.#worker.postMessage(req);
    });
  }

  /** Closes the thread's connection and ends the thread. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.#worker.on("message", (m: unknown) => {
        if (m === "closed") {
          clearTimeout(t);
          resolve();
        }
      });
      this.#worker.postMessage("close");
    });
    await this.#worker.terminate();
  }
}
