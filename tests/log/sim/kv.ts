// The simulator's replicated state machine: a tiny key-value map with client sessions, whose
// commands ride in normal entries as JSON. Sessions (last applied sequence number per client)
// make a command take effect at most once even when the network duplicates the proposal that
// carried it, as Raft's dissertation (section 6.3) prescribes. Must stay deterministic: the same
// commands in the same order give byte-identical states on every member.

export type KvOp =
  | { readonly op: "put"; readonly key: string; readonly value: string }
  | { readonly op: "cas"; readonly key: string; readonly prev: string; readonly value: string }
  | { readonly op: "delete"; readonly key: string };

/** What a normal entry carries: a client command, or a marker the simulator proposes itself. */
export type Command =
  | { readonly c: number; readonly s: number; readonly w: KvOp }
  | { readonly marker: string };

export interface KvState {
  kv: Map<string, string>;
  /** Client id -> highest sequence number applied. */
  sessions: Map<number, number>;
}

export interface ApplyResult {
  /** The command, or undefined for the leader's empty entry. */
  readonly cmd: Command | undefined;
  /** For a client command applied now (not a duplicate): its outcome. */
  readonly ok?: boolean;
  readonly duplicate?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: Command): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeCommand(data: Uint8Array): Command | undefined {
  if (data.byteLength === 0) return undefined;
  return JSON.parse(dec.decode(data)) as Command;
}

export function emptyState(): KvState {
  return { kv: new Map(), sessions: new Map() };
}

export function applyCommand(st: KvState, data: Uint8Array): ApplyResult {
  const cmd = decodeCommand(data);
  if (cmd === undefined || "marker" in cmd) return { cmd };
  const last = st.sessions.get(cmd.c) ?? 0;
  if (cmd.s <= last) return { cmd, duplicate: true };
  st.sessions.set(cmd.c, cmd.s);
  const w = cmd.w;
  switch (w.op) {
    case "put":
      st.kv.set(w.key, w.value);
      return { cmd, ok: true };
    case "cas": {
      const hit = st.kv.get(w.key) === w.prev;
      if (hit) st.kv.set(w.key, w.value);
      return { cmd, ok: hit };
    }
    case "delete": {
      const had = st.kv.has(w.key);
      st.kv.delete(w.key);
      return { cmd, ok: had };
    }
  }
}

/** A canonical text of the state: equal states give equal strings (used as snapshot data and to compare). */
export function stateText(st: KvState): string {
  const kv = [...st.kv.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const sessions = [...st.sessions.entries()].sort((a, b) => a[0] - b[0]);
  return JSON.stringify({ kv, sessions });
}

export function encodeState(st: KvState): Uint8Array {
  return enc.encode(stateText(st));
}

export function decodeState(data: Uint8Array): KvState {
  if (data.byteLength === 0) return emptyState();
  const o = JSON.parse(dec.decode(data)) as { kv: [string, string][]; sessions: [number, number][] };
  return { kv: new Map(o.kv), sessions: new Map(o.sessions) };
}
