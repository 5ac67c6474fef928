// The cluster figures' definitions (unit, which direction is better, the bar) and the pure parts
// of their report: ratios, pass/miss, the text table, failover and rate arithmetic. Pure: no I/O,
// tested in tests/bench/. Must not measure anything.
//
// Bars come in three kinds: a ratio against etcd (coreplane/etcd for throughput), and a limit on
// coreplane's own value (at least / at most). In every row the ratio column is oriented so that
// > 1 means coreplane is better.

import { formatValue, type Measurement } from "./report.ts";

export type ClusterFigureId = "put-seq" | "put-32" | "quorum-get" | "latency" | "failover";

export const clusterFigureIds: readonly ClusterFigureId[] = [
  "put-seq",
  "put-32",
  "quorum-get",
  "latency",
  "failover",
];

export type ClusterBar =
  /** coreplane/etcd (or etcd/coreplane when lower is better) at least `min`. */
  | { kind: "ratio"; min: number }
  /** coreplane's own value at least `limit`. */
  | { kind: "atLeast"; limit: number }
  /** coreplane's own value at most `limit`. */
  | { kind: "atMost"; limit: number };

export interface ClusterFigureDef {
  id: ClusterFigureId;
  title: string;
  unit: string;
  better: "higher" | "lower";
  bar: ClusterBar;
}

export const clusterFigureDefs: Record<ClusterFigureId, ClusterFigureDef> = {
  "put-seq": {
    id: "put-seq",
    title: "3 members, sequential PUT to the leader, 1 conn",
    unit: "req/s",
    better: "higher",
    bar: { kind: "ratio", min: 1.2 },
  },
  "put-32": {
    id: "put-32",
    title: "3 members, PUT to the leader, 32 conns",
    unit: "req/s",
    better: "higher",
    bar: { kind: "ratio", min: 1.25 },
  },
  "quorum-get": {
    id: "quorum-get",
    title: "quorum=true GET as a share of local GET, leader, 32 conns",
    unit: "%",
    better: "higher",
    bar: { kind: "atLeast", limit: 80 },
  },
  "latency": {
    id: "latency",
    title: "p99 PUT latency, open loop at half of coreplane's peak 32-conn rate",
    unit: "ms",
    better: "lower",
    bar: { kind: "atMost", limit: 10 },
  },
  "failover": {
    id: "failover",
    title: "SIGKILL leader → first successful write, worst of N",
    unit: "ms",
    better: "lower",
    bar: { kind: "atMost", limit: 1500 },
  },
};

export interface ClusterRow {
  id: ClusterFigureId;
  title: string;
  unit: string;
  better: "higher" | "lower";
  coreplane?: Measurement;
  etcd?: Measurement;
  coreplaneImpl: string;
  /** > 1 means coreplane is better. */
  ratio?: number;
  ratioLabel: string;
  bar: ClusterBar;
  pass?: boolean;
  note?: string;
}

/** One row: ratio (> 1 = coreplane better) and pass/miss against the bar (pure; tested). */
export function compareCluster(
  def: ClusterFigureDef,
  coreplane: Measurement | undefined,
  etcd: Measurement | undefined,
  coreplaneImpl = "coreplane",
  note?: string,
): ClusterRow {
  const ratioLabel = def.better === "higher" ? "coreplane/etcd" : "etcd/coreplane";
  let ratio: number | undefined;
  if (
    coreplane && etcd && coreplane.value > 0 && etcd.value > 0 && Number.isFinite(coreplane.value) &&
    Number.isFinite(etcd.value)
  ) {
    ratio = def.better === "higher" ? coreplane.value / etcd.value : etcd.value / coreplane.value;
  }
  let pass: boolean | undefined;
  const v = coreplane?.value;
  if (def.bar.kind === "ratio" && ratio !== undefined) pass = ratio >= def.bar.min;
  // NaN or Infinity (requests that never succeeded) miss any limit.
  if (def.bar.kind === "atLeast" && v !== undefined) pass = Number.isFinite(v) && v >= def.bar.limit;
  if (def.bar.kind === "atMost" && v !== undefined) pass = Number.isFinite(v) && v <= def.bar.limit;
  return {
    id: def.id,
    title: def.title,
    unit: def.unit,
    better: def.better,
    coreplane,
    etcd,
    coreplaneImpl,
    ratio,
    ratioLabel,
    bar: def.bar,
    pass,
    note,
  };
}

export function formatClusterBar(bar: ClusterBar, unit: string): string {
  if (bar.kind === "ratio") return `≥ ${bar.min}x`;
  return `${bar.kind === "atLeast" ? "≥" : "≤"} ${formatValue(bar.limit)} ${unit}`;
}

/** A plain-text table, one row per figure. */
export function formatClusterTable(rows: ClusterRow[]): string {
  const head = [
    "figure",
    "unit",
    "coreplane",
    "etcd",
    "ratio (>1 = coreplane better)",
    "bar (coreplane)",
    "result",
    "other procs' cores cp/etcd",
  ];
  const others = (m: Measurement | undefined) => {
    const x = m?.detail?.otherCores;
    return typeof x === "number" ? x.toFixed(2) : "-";
  };
  const body = rows.map((r) => {
    const cp = r.coreplane ? formatValue(r.coreplane.value) : "—";
    const cpName = r.coreplaneImpl === "coreplane" ? cp : `${cp} [${r.coreplaneImpl}]`;
    const et = r.etcd ? formatValue(r.etcd.value) : "—";
    const ratio = r.ratio === undefined ? "—" : `${r.ratio.toFixed(2)}x (${r.ratioLabel})`;
    const note = r.note && r.note.length > 70 ? `${r.note.slice(0, 69)}…` : r.note;
    const result = r.pass === undefined
      ? (note ?? "")
      : (r.pass ? "PASS" : "MISS") + (note ? ` (${note})` : "");
    const busy = r.coreplane || r.etcd ? `${others(r.coreplane)}/${others(r.etcd)}` : "";
    return [r.id, r.unit, cpName, et, ratio, formatClusterBar(r.bar, r.unit), result, busy];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export interface FailoverSummary {
  kills: number;
  /** The figure: the slowest kill (Infinity if a kill never got a write through). */
  worstMs: number;
  medianMs: number;
  meanMs: number;
  bestMs: number;
  /** Kills over the given limit. */
  over: number;
}

/** Summary of the kill-to-first-write times (pure; tested). */
export function summarizeFailover(ms: number[], limitMs: number): FailoverSummary {
  if (ms.length === 0) throw new Error("no kills to summarize");
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return {
    kills: s.length,
    worstMs: s[s.length - 1],
    medianMs: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2,
    meanMs: s.reduce((a, b) => a + b, 0) / s.length,
    bestMs: s[0],
    over: s.filter((x) => x > limitMs).length,
  };
}

/** The open-loop rate for the latency figure: half of coreplane's peak 32-connection PUT rate, whole requests/s. */
export function halfPeakRate(peakPerS: number): number {
  if (!(peakPerS > 0) || !Number.isFinite(peakPerS)) throw new Error(`no usable peak rate (${peakPerS})`);
  return Math.max(1, Math.round(peakPerS / 2));
}

/**
 * Successful answers per second of a wrk run (pure; tested). wrk's Requests/sec counts error
 * answers too, and a quorum read or a write that fails fast must not count as throughput.
 */
export function okPerS(r: { requests: number; non2xx: number; durationS: number }): number {
  return Math.max(0, r.requests - r.non2xx) / r.durationS;
}
