// The datadriven script format of cockroachdb/datadriven, as etcd-io/raft's testdata/*.txt use it:
// a directive (a command line, optional input lines), a `----` separator, then the expected
// output up to the next blank line (or between `----`/`----` pairs when it holds blank lines).
// Parses a file, runs each directive through a handler, compares the output exactly, rewrites
// the expected blocks on request (REWRITE=1, like Go's -rewrite) and renders a unified diff of
// a mismatch. Must not know anything about Raft: the handler does.

export interface CmdArg {
  readonly key: string;
  /** Empty for a bare key; `k=v` gives [v]; `k=(a,b)` gives [a, b]. */
  readonly vals: readonly string[];
}

export interface Directive {
  /** 1-based line of the command in the file, for error messages. */
  readonly line: number;
  readonly cmd: string;
  readonly args: readonly CmdArg[];
  /** The command line as written. */
  readonly cmdLine: string;
  /** Lines between the command line and the separator. */
  readonly input: readonly string[];
  /** The expected output, each line ending in "\n" ("" when there is none). */
  readonly expected: string;
  /** 1-based line of the first expected output line (for diff hunk headers). */
  readonly expectedLine: number;
  /** 0-based line range [outStart, outEnd) holding the expected block (after the first `----`). */
  readonly outStart: number;
  readonly outEnd: number;
}

export class ScriptSyntaxError extends Error {
  override name = "ScriptSyntaxError";
}

/** Splits a command line into the command and its arguments, honouring `k=(a, b)`. */
export function parseLine(line: string): { cmd: string; args: CmdArg[] } {
  const tokens: string[] = [];
  let cur = "";
  let depth = 0;
  for (const ch of line.trim()) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === " " && depth === 0) {
      if (cur !== "") tokens.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (depth !== 0) throw new ScriptSyntaxError(`unbalanced parentheses in ${JSON.stringify(line)}`);
  if (cur !== "") tokens.push(cur);
  if (tokens.length === 0) throw new ScriptSyntaxError("empty command line");
  const [cmd, ...rest] = tokens;
  const args = rest.map((t): CmdArg => {
    const eq = t.indexOf("=");
    if (eq < 0) return { key: t, vals: [] };
    const key = t.slice(0, eq);
    let v = t.slice(eq + 1);
    if (v.startsWith("(") && v.endsWith(")")) {
      v = v.slice(1, -1).trim();
      return { key, vals: v === "" ? [] : v.split(",").map((x) => x.trim()) };
    }
    return { key, vals: [v] };
  });
  return { cmd, args };
}

export function parseScript(text: string): Directive[] {
  const lines = text.split("\n");
  // A final "\n" leaves an empty last element that is not a line of its own.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const out: Directive[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "" || line.startsWith("#")) {
      i++;
      continue;
    }
    const start = i;
    const { cmd, args } = parseLine(line);
    i++;
    const input: string[] = [];
    while (i < lines.length && lines[i] !== "----") input.push(lines[i++]);
    if (i >= lines.length) throw new ScriptSyntaxError(`line ${start + 1}: ${cmd}: missing ---- separator`);
    i++; // the separator
    const outStart = i;
    const expected: string[] = [];
    let expectedLine = outStart + 1;
    if (i < lines.length && lines[i] === "----") {
      expectedLine++;
      // Double-separator form: the output may hold blank lines and ends at "----" "----".
      i++;
      while (i < lines.length && !(lines[i] === "----" && lines[i + 1] === "----")) expected.push(lines[i++]);
      if (i >= lines.length) throw new ScriptSyntaxError(`line ${start + 1}: ${cmd}: unterminated ----/---- block`);
      i += 2;
    } else {
      while (i < lines.length && lines[i].trim() !== "") expected.push(lines[i++]);
    }
    out.push({
      line: start + 1, cmd, args, cmdLine: line, input, expectedLine, outStart, outEnd: i,
      expected: expected.map((l) => l + "\n").join(""),
    });
  }
  return out;
}

/** Output as the file would hold it: ends in "\n" unless empty. */
export function normalizeOutput(s: string): string {
  return s !== "" && !s.endsWith("\n") ? s + "\n" : s;
}

/** The lines of an expected block for `actual` (without the first separator, which stays). */
function blockLines(actual: string): string[] {
  const body = normalizeOutput(actual);
  const lines = body === "" ? [] : body.slice(0, -1).split("\n");
  if (lines.some((l) => l.trim() === "")) return ["----", ...lines, "----", "----"];
  return lines;
}

/** The file with every directive's expected block replaced by the given actual outputs. */
export function rewriteScript(text: string, directives: readonly Directive[], actuals: readonly string[]): string {
  const lines = text.split("\n");
  const trailingNewline = lines.length > 0 && lines[lines.length - 1] === "";
  if (trailingNewline) lines.pop();
  const out: string[] = [];
  let pos = 0;
  directives.forEach((d, k) => {
    for (; pos < d.outStart; pos++) out.push(lines[pos]);
    out.push(...blockLines(actuals[k]));
    pos = d.outEnd;
  });
  for (; pos < lines.length; pos++) out.push(lines[pos]);
  return out.join("\n") + (trailingNewline ? "\n" : "");
}

/**
 * A unified diff (lines prefixed " ", "-", "+") of expected against actual, with hunk headers
 * whose line numbers are those of the script file (the expected block starts at `fileLine`).
 */
export function unifiedDiff(expected: string, actual: string, fileLine: number, context = 3): string {
  const a = expected === "" ? [] : expected.replace(/\n$/, "").split("\n");
  const b = actual === "" ? [] : normalizeOutput(actual).replace(/\n$/, "").split("\n");
  // LCS table (outputs are at most a few hundred lines).
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let x = n - 1; x >= 0; x--) {
    for (let y = m - 1; y >= 0; y--) {
      lcs[x][y] = a[x] === b[y] ? lcs[x + 1][y + 1] + 1 : Math.max(lcs[x + 1][y], lcs[x][y + 1]);
    }
  }
  type Op = { t: " " | "-" | "+"; s: string; ai: number; bi: number };
  const ops: Op[] = [];
  let x = 0;
  let y = 0;
  while (x < n || y < m) {
    if (x < n && y < m && a[x] === b[y]) ops.push({ t: " ", s: a[x], ai: x++, bi: y++ });
    else if (x < n && (y >= m || lcs[x + 1][y] >= lcs[x][y + 1])) ops.push({ t: "-", s: a[x], ai: x++, bi: y });
    else ops.push({ t: "+", s: b[y], ai: x, bi: y++ });
  }
  const out: string[] = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].t === " ") {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change
    // that is within 2*context of the previous one.
    let from = Math.max(0, k - context);
    let to = k;
    while (to < ops.length) {
      if (ops[to].t !== " ") {
        to++;
        continue;
      }
      let run = to;
      while (run < ops.length && ops[run].t === " ") run++;
      if (run >= ops.length || run - to > 2 * context) {
        to = Math.min(ops.length, to + context);
        break;
      }
      to = run;
    }
    const hunk = ops.slice(from, to);
    const aLen = hunk.filter((o) => o.t !== "+").length;
    const bLen = hunk.filter((o) => o.t !== "-").length;
    out.push(`@@ -${fileLine + hunk[0].ai},${aLen} +${fileLine + hunk[0].bi},${bLen} @@`);
    for (const o of hunk) out.push(o.t + o.s);
    k = to;
    from = to;
  }
  return out.join("\n");
}
