// The figures' definitions (unit, which direction is better, the bar) and the pure parts of the
// report: ratios, pass/fail and the text table. Pure: no I/O, tested in tests/bench/.
// Must not measure anything.

export type FigureId =
  | "put-seq"
  | "put-32"
  | "get-32"
  | "watch-fanout"
  | "replay"
  | "restart"
  | "memory"
  | "bigread";

export const figureIds: readonly FigureId[] = [
  "put-seq",
  "put-32",
  "get-32",
  "watch-fanout",
  "replay",
  "restart",
  "memory",
  "bigread",
];

export interface FigureDef {
  id: string;
  title: string;
  unit: string;
  better: "higher" | "lower";
  /**
   * ratio: the speed-up (coreplane/etcd when higher is better, etcd/coreplane when lower is
   * better) must be at least `min`; absolute: coreplane's own value must reach `min`.
   */
  bar?: { kind: "ratio" | "absolute"; min: number };
}

export const figureDefs: Record<string, FigureDef> = {
  "put-seq": { id: "put-seq", title: "sequential PUT, 1 conn", unit: "req/s", better: "higher", bar: { kind: "ratio", min: 1.3 } },
  "put-32": { id: "put-32", title: "PUT, 32 conns", unit: "req/s", better: "higher", bar: { kind: "ratio", min: 1.2 } },
  "get-32": { id: "get-32", title: "GET, 32 conns, 10k keys", unit: "req/s", better: "higher", bar: { kind: "ratio", min: 1.0 } },
  "watch-fanout": { id: "watch-fanout", title: "1,000 watchers, PUT → all notified (median)", unit: "ms", better: "lower" },
  "replay": { id: "replay", title: "offline log replay", unit: "entries/s", better: "higher", bar: { kind: "absolute", min: 200_000 } },
  "restart": { id: "restart", title: "restart to serving a GET (median)", unit: "ms", better: "lower", bar: { kind: "ratio", min: 1.0 } },
  "memory": { id: "memory", title: "RSS, keys loaded, after settle", unit: "MiB", better: "lower", bar: { kind: "ratio", min: 1.0 } },
  // Informational rows: measured on the way, no bar.
  // The stricter memory comparison: after the load, a garbage-collected runtime may still hold
  // memory it has not returned to the OS (etcd: ~3 GiB after the load, ~0.8 GiB after a restart).
  "memory-restarted": { id: "memory-restarted", title: "RSS after a restart, after settle", unit: "MiB", better: "lower", bar: { kind: "ratio", min: 1.0 } },
  "load": { id: "load", title: "bulk load (wrk -c64 PUTs)", unit: "keys/s", better: "higher" },
  // bigread (issue 12): 5 parallel recursive GETs of a 100,000-child directory next to a PUT every
  // 20 ms; "out": the PUTs go outside the directory, "in": into it (no two reads see one state).
  "bigread-get-out": { id: "bigread-get-out", title: "5 parallel recursive GETs, 100k children (median)", unit: "ms", better: "lower" },
  "bigread-put-out": { id: "bigread-put-out", title: "max PUT latency during them (PUTs elsewhere)", unit: "ms", better: "lower" },
  "bigread-rss-out": { id: "bigread-rss-out", title: "RSS growth during them", unit: "MiB", better: "lower" },
  "bigread-get-in": { id: "bigread-get-in", title: "the same, PUTs into the listed directory", unit: "ms", better: "lower" },
  "bigread-put-in": { id: "bigread-put-in", title: "max PUT latency during them (PUTs into it)", unit: "ms", better: "lower" },
  "bigread-rss-in": { id: "bigread-rss-in", title: "RSS growth during them (PUTs into it)", unit: "MiB", better: "lower" },
};

export interface Measurement {
  value: number;
  detail?: Record<string, unknown>;
}

export interface FigureResult {
  id: string;
  title: string;
  unit: string;
  better: "higher" | "lower";
  coreplane?: Measurement;
  etcd?: Measurement;
  /** What ran on the coreplane side (etcd when testing the harness). */
  coreplaneImpl: string;
  /** > 1 means coreplane is better, whichever direction is better. */
  ratio?: number;
  ratioLabel: string;
  bar?: FigureDef["bar"];
  pass?: boolean;
  note?: string;
}

/** Combines both sides' measurements into one row: ratio (>1 = coreplane better) and pass/fail. */
export function compare(
  def: FigureDef,
  coreplane: Measurement | undefined,
  etcd: Measurement | undefined,
  coreplaneImpl = "coreplane",
  note?: string,
): FigureResult {
  const ratioLabel = def.better === "higher" ? "coreplane/etcd" : "etcd/coreplane";
  let ratio: number | undefined;
  if (coreplane && etcd && coreplane.value > 0 && etcd.value > 0) {
    ratio = def.better === "higher" ? coreplane.value / etcd.value : etcd.value / coreplane.value;
  }
  let pass: boolean | undefined;
  if (def.bar?.kind === "ratio" && ratio !== undefined) pass = ratio >= def.bar.min;
  if (def.bar?.kind === "absolute" && coreplane) pass = coreplane.value >= def.bar.min;
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

/** 12345.6 → "12,346"; small values keep one or two decimals. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return "—";
  const digits = Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 100 ? 1 : 2;
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatBar(r: Pick<FigureResult, "bar" | "better" | "unit">): string {
  if (!r.bar) return "—";
  if (r.bar.kind === "absolute") return `≥ ${formatValue(r.bar.min)} ${r.unit}`;
  return `≥ ${r.bar.min.toFixed(1)}x`;
}

/** A plain-text table, one row per figure. */
export function formatTable(rows: FigureResult[]): string {
  const head = ["figure", "unit", "coreplane", "etcd", "ratio (>1 = coreplane better)", "bar", "result", "other procs' cores cp/etcd"];
  const others = (m: Measurement | undefined) => {
    const v = m?.detail?.otherCores;
    return typeof v === "number" ? v.toFixed(2) : "-";
  };
  const body = rows.map((r) => {
    const cp = r.coreplane ? formatValue(r.coreplane.value) : "—";
    const cpName = r.coreplaneImpl === "coreplane" ? cp : `${cp} [${r.coreplaneImpl}]`;
    const et = r.etcd ? formatValue(r.etcd.value) : "—";
    const ratio = r.ratio === undefined ? "—" : `${r.ratio.toFixed(2)}x (${r.ratioLabel})`;
    // Long notes (error messages) are cut here; the JSON keeps them whole.
    const note = r.note && r.note.length > 70 ? `${r.note.slice(0, 69)}…` : r.note;
    const result = r.pass === undefined ? (note ?? "") : (r.pass ? "PASS" : "FAIL") + (note ? ` (${note})` : "");
    const busy = r.coreplane?.detail?.otherCores !== undefined || r.etcd?.detail?.otherCores !== undefined
      ? `${others(r.coreplane)}/${others(r.etcd)}`
      : "";
    return [r.id, r.unit, cpName, et, ratio, formatBar(r), result, busy];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/**
 * Several rounds of one figure on one side → the round with the median value (the lower middle
 * one for an even count, so the value is a real run with its own latency details), with every
 * round's value in detail.roundValues.
 */
export function medianRound(rounds: Measurement[]): Measurement {
  if (rounds.length === 0) throw new Error("medianRound of nothing");
  if (rounds.length === 1) return rounds[0];
  const sorted = [...rounds].sort((a, b) => a.value - b.value);
  const pick = sorted[(sorted.length - 1) >> 1];
  return { value: pick.value, detail: { ...pick.detail, roundValues: rounds.map((r) => r.value) } };
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error("median of nothing");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
