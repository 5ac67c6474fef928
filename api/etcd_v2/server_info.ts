// etcd's /version and /health: the versions etcd 3.4.23 reports, and health as a leader plus a
// completed linearizable read. Must not do I/O.

import { nodeFailureReply, unhealthyReply } from "../errors.ts";
import { baseHeaders, errorResponse } from "../http.ts";
import { type EtcdV2Context, getOnly, jsonOk, TEXT_TYPE } from "./context.ts";

/** The versions etcd 3.4.23 reports, so clients that check them accept us. */
export const VERSION_BODY = '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}';

export function serveVersion(req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  return jsonOk(origin, VERSION_BODY);
}

/**
 * /health: healthy when there is a leader and a linearizable read completes (etcd does a QGET
 * with a 1 s timeout; our read has the node's own deadline). 200 text/plain {"health":"true"}.
 */
export async function serveHealth(ctx: EtcdV2Context, req: Request, origin: string | null): Promise<Response> {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  let ok = ctx.deps.status().leader !== "";
  if (ok) {
    try {
      await ctx.deps.linearizableRead();
    } catch (err) {
      nodeFailureReply(err); // rethrows anything that is not a NodeError
      ok = false;
    }
  }
  if (!ok) return errorResponse(origin, unhealthyReply(), false);
  const h = baseHeaders(origin);
  h["content-type"] = TEXT_TYPE;
  return new Response('{"health":"true"}', { status: 200, headers: h });
}

