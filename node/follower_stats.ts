// What etcd's /v2/stats/leader and /v2/stats/self count about Raft traffic: per follower, the
// heartbeat round trip measured by the leader and its failures (no answer for an election timeout,
// or reported unreachable); per member, the appends sent and received.
// Must not send, step or decide anything: it only watches the messages the node sends and receives.

import type { NodeId } from "../internal/mod.ts";
import { type Message, MessageType } from "../log/mod.ts";
import type { FollowerStats } from "../api/mod.ts";

/** Round-trip statistics of one follower's heartbeats, as etcd's LeaderStats keeps them. */
export class FollowerCounter {
  current = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = 0;
  success = 0;
  fail = 0;
  heartbeatSentMs = 0;
  record(ms: number): void {
    this.current = ms;
    this.success++;
    this.sum += ms;
    this.sumSq += ms * ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  json(id: NodeId): FollowerStats {
    const n = this.success;
    const avg = n > 0 ? this.sum / n : 0;
    const sd = n > 0 ? Math.sqrt(Math.max(0, this.sumSq / n - avg * avg)) : 0;
    return {
      id,
      latency: { current: this.current, average: avg, standardDeviation: sd, minimum: n > 0 ? this.min : 0, maximum: this.max },
      counts: { fail: this.fail, success: this.success },
    };
  }
}

/** The counters of one member: appends both ways, and (while it leads) one FollowerCounter per follower. */
export class TrafficStats {
  recvAppendCount = 0;
  sendAppendCount = 0;
  readonly #followers = new Map<NodeId, FollowerCounter>();
  readonly #electionTimeoutMs: number;

  constructor(electionTimeoutMs: number) {
    this.#electionTimeoutMs = electionTimeoutMs;
  }

  /** Messages about to go out, at `now` (performance.now() ms). */
  onSend(out: readonly Message[], now: number): void {
    for (const m of out) {
      if (m.type === MessageType.App) this.sendAppendCount++;
      else if (m.type === MessageType.Heartbeat) {
        let f = this.#followers.get(m.to);
        if (!f) this.#followers.set(m.to, (f = new FollowerCounter()));
        if (f.heartbeatSentMs === 0) f.heartbeatSentMs = now;
        else if (now - f.heartbeatSentMs > this.#electionTimeoutMs) {
          // No answer for an election timeout: count a failure and start timing afresh.
          f.fail++;
          f.heartbeatSentMs = now;
        }
      }
    }
  }

  /** A message received from a peer (and about to be stepped), at `now` (performance.now() ms). */
  onReceive(m: Message, now: number): void {
    if (m.type === MessageType.App) this.recvAppendCount++;
    else if (m.type === MessageType.HeartbeatResp) {
      const f = this.#followers.get(m.from);
      if (f && f.heartbeatSentMs > 0) {
        f.record(now - f.heartbeatSentMs);
        f.heartbeatSentMs = 0;
      }
    }
  }

  onUnreachable(peer: NodeId): void {
    const f = this.#followers.get(peer);
    if (f) f.fail++;
  }

  /** This member became leader: its followers are measured afresh. */
  resetFollowers(): void {
    this.#followers.clear();
  }

  /** Per voter other than `self`. */
  followers(voters: readonly NodeId[], self: NodeId): FollowerStats[] {
    const out: FollowerStats[] = [];
    for (const v of voters) {
      if (v === self) continue;
      out.push((this.#followers.get(v) ?? new FollowerCounter()).json(v));
    }
    return out;
  }
}
