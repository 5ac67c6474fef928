// etcd v2 watches over HTTP (GET /v2/keys/...?wait=true): the 200 with its headers at once, then
// a body that writes one event, or one per line with stream=true, fed by the watch hub; the
// client going away cancels the watcher. Must not do I/O; must not buffer more than
// watcherEventsBufferMax unread events (the stream's queue is the buffer).

import type { KvEvent } from "../../projections/mod.ts";
import { eventJson } from "./json.ts";
import { kvErrorReply } from "../errors.ts";
import { streamResponse } from "../http.ts";
import { type EtcdV2Context, keysError, successHeaders } from "./context.ts";

let encoder: TextEncoder | undefined;

/**
 * A watch: 200 at once with X-Etcd-Index = the store index when registered, then a body that
 * writes one event and ends, or (stream=true) one event per line until the client goes away
 * or more than watcherEventsBufferMax events wait unread. A history hit writes that event; with
 * stream=true the response then stays open and silent, as etcd's does.
 */
export function serveWatch(
  ctx: EtcdV2Context,
  req: Request,
  origin: string | null,
  path: string,
  recursive: boolean,
  stream: boolean,
  waitIndex: number,
): Response {
  encoder ??= new TextEncoder();
  const enc = encoder;
  const state = ctx.deps.state("kv");
  const startIndex = state.index;
  const max = ctx.watcherEventsBufferMax;
  const signal = req.signal;

  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let handle: { cancel(): void } | undefined;
  let finished = false; // the body is closed or cancelled
  let cancelled = false; // the hub watcher is gone

  const cancelWatcher = () => {
    if (cancelled) return;
    cancelled = true;
    if (handle !== undefined) handle.cancel();
  };
  const finish = () => {
    if (finished) return;
    finished = true;
    signal.removeEventListener("abort", onAbort);
    cancelWatcher();
    try {
      controller.close();
    } catch {
      // already closed or errored by the consumer going away
    }
  };
  const onAbort = () => finish();

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      // The client went away (the runtime cancels the response body).
      finished = true;
      signal.removeEventListener("abort", onAbort);
      cancelWatcher();
    },
  }, { highWaterMark: 0 });

  const deliver = (e: KvEvent) => {
    if (finished) return;
    // etcd's watcher channel holds 100 events; one more and the watch ends after they drain.
    const queued = -(controller.desiredSize ?? 0);
    if (queued >= max) {
      finish();
      return;
    }
    controller.enqueue(enc.encode(watchEventJson(e)));
    if (!stream) finish();
  };

  const r = ctx.hub.watch(state, path, recursive, stream, waitIndex, deliver, () => finish());
  if (r.type === "error") {
    finished = true;
    return keysError(ctx, origin, kvErrorReply(r.error), false);
  }
  if (r.type === "event") {
    // A history hit: the watcher was never registered live.
    cancelled = true;
    controller.enqueue(enc.encode(eventJson(r.event)));
    if (!stream) {
      finished = true;
      controller.close();
    } else if (signal.aborted) finish();
    else signal.addEventListener("abort", onAbort, { once: true });
  } else {
    handle = r.handle;
    if (cancelled) handle.cancel(); // a synchronous delivery already ended it
    else if (signal.aborted) finish();
    else if (!finished) signal.addEventListener("abort", onAbort, { once: true });
  }
  return streamResponse(body, successHeaders(ctx, origin, startIndex));
}

/**
 * One event goes to every watcher that matches it (a thousand, in the fan-out benchmark): render
 * its JSON once. Each watcher still gets its own bytes, as a response body may take ownership.
 */
const watchJsonCache = new WeakMap<KvEvent, string>();
function watchEventJson(e: KvEvent): string {
  let j = watchJsonCache.get(e);
  if (j === undefined) {
    j = eventJson(e);
    watchJsonCache.set(e, j);
  }
  return j;
}
