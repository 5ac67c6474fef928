// etcd v2 /v2/stats/self, /v2/stats/leader and /v2/stats/store, in etcd's field order and Go's
// number and time forms. These are the routes that read deps.status() (and with it the leader's
// progress map). Must not do I/O or read a clock other than deps.clock.

import { goDurationFromMs, goJsonString } from "./json.ts";
import { apiErrors } from "../errors.ts";
import { errorResponse } from "../http.ts";
import { type EtcdV2Context, getOnly, jsonOk } from "./context.ts";

/** Go's RFC3339Nano shape for the daemon's ISO times; "" is Go's zero time. */
function goTime(iso: string): string {
  if (iso === "") return "0001-01-01T00:00:00Z";
  const m = /^(.*?)(?:\.(\d*?)0*)?Z$/.exec(iso);
  if (m === null) return iso;
  return m[2] ? `${m[1]}.${m[2]}Z` : `${m[1]}Z`;
}

export function serveStatsSelf(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  const st = ctx.deps.status();
  const leaderStartMs = st.leaderStartTime === "" ? NaN : Date.parse(st.leaderStartTime);
  const uptime = Number.isNaN(leaderStartMs) ? "0s" : goDurationFromMs(ctx.deps.clock.nowMs() - leaderStartMs);
  const body = '{"name":' + goJsonString(st.name) + ',"id":' + goJsonString(st.id) + ',"state":' +
    goJsonString(st.state) + ',"startTime":' + goJsonString(goTime(st.startTime)) + ',"leaderInfo":{"leader":' +
    goJsonString(st.leader) + ',"uptime":' + goJsonString(uptime) + ',"startTime":' +
    goJsonString(goTime(st.leaderStartTime)) + '},"recvAppendRequestCnt":' + st.recvAppendRequestCnt +
    ',"sendAppendRequestCnt":' + st.sendAppendRequestCnt + "}";
  return jsonOk(origin, body);
}

/** The leader's follower stats: heartbeat round trips (ms) and message successes/failures per follower. */
export function serveStatsLeader(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  const st = ctx.deps.status();
  if (st.state !== "StateLeader") return errorResponse(origin, apiErrors.notLeader(), false);
  let followers = "";
  for (const f of ctx.deps.followerStats()) {
    const l = f.latency;
    followers += (followers === "" ? "" : ",") + goJsonString(f.id) + ':{"latency":{"current":' + goFloat(l.current) +
      ',"average":' + goFloat(l.average) + ',"standardDeviation":' + goFloat(l.standardDeviation) + ',"minimum":' +
      goFloat(l.minimum) + ',"maximum":' + goFloat(l.maximum) + '},"counts":{"fail":' + f.counts.fail + ',"success":' +
      f.counts.success + "}}";
  }
  return jsonOk(origin, '{"leader":' + goJsonString(st.id) + ',"followers":{' + followers + "}}");
}

export function serveStatsStore(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const bad = getOnly(req, origin);
  if (bad !== undefined) return bad;
  return jsonOk(origin, ctx.stats.json(ctx.hub.count));
}

/** A float64 as Go's encoding/json writes one (shortest form; no exponent for ordinary values). */
function goFloat(n: number): string {
  return Number.isFinite(n) ? String(n) : "0";
}
