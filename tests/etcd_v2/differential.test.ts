// The differential test that holds coreplane's etcd v2 API to real etcd 3.4: one real etcd and
// one coreplane member side by side, every case of cases.ts run against both with raw HTTP, every
// response normalised (normalise.ts) and compared step by step: status, framing, headers, body.
// By default it stops at the first case that differs; DIFF_REPORT=1 runs every case and prints
// every difference. DIFF_AGAINST=etcd compares etcd with a second etcd (validates the normaliser:
// it must show no difference). DIFF_CASES=substr runs only the cases whose name contains it;
// DIFF_DUMP=1 prints etcd's whole normalised transcript.
// Must not fix or mask a real behaviour difference: masks live in normalise.ts
// and each says why the value legitimately differs.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { freePorts } from "../helpers/ports.ts";
import { type Proc, startCoreplane, startEtcd } from "../helpers/procs.ts";
import { missingTools, requires } from "../helpers/requires.ts";
import { type Case, cases } from "./cases.ts";
import { type Step, type Target, Transcript } from "./transcript.ts";

const NAME = "etcd v2 differential";
const ports = await freePorts(4);
const ETCD = { clientPort: ports[0], peerPort: ports[1] };
const OTHER = { clientPort: ports[2], peerPort: ports[3] };
const against = process.env.DIFF_AGAINST === "etcd" ? "etcd" : "coreplane";
const reportAll = process.env.DIFF_REPORT === "1";
const only = process.env.DIFF_CASES;
const dump = process.env.DIFF_DUMP === "1";

function target(label: string, p: { clientPort: number; peerPort: number }): Target {
  return {
    label,
    addr: { host: "127.0.0.1", port: p.clientPort },
    clientUrl: `http://127.0.0.1:${p.clientPort}`,
    peerUrl: `http://127.0.0.1:${p.peerPort}`,
  };
}

async function runCase(c: Case, tg: Target): Promise<Step[]> {
  const tr = new Transcript(tg);
  await tr.begin(c.absolute);
  try {
    await c.run(tr);
  } catch (e) {
    tr.threw(e);
  }
  try {
    await tr.end();
  } catch (e) {
    tr.threw(e);
  }
  return tr.steps;
}

function lineKey(l: string): string {
  const i = l.indexOf(": ");
  return i < 0 ? l : l.slice(0, i);
}

/** A readable diff of two transcripts, or "" when they match. */
function diffCase(c: Case, a: Step[], b: Step[], la: string, lb: string): string {
  const out: string[] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x && y && x.request === y.request && x.lines.join("\n") === y.lines.join("\n")) continue;
    out.push(`  step ${i + 1}/${n}: ${x?.request ?? "(none)"}`);
    if (x && y && x.request !== y.request) out.push(`    ${la} request: ${x.request}`, `    ${lb} request: ${y.request}`);
    if (x?.sent && x.sent !== x.request) out.push(`    sent to ${la}: ${x.sent}`);
    if (y?.sent && y.sent !== y.request && y.sent !== x?.sent) out.push(`    sent to ${lb}: ${y.sent}`);
    const xl = x?.lines ?? [];
    const yl = y?.lines ?? [];
    const keys = [...new Set([...xl.map(lineKey), ...yl.map(lineKey)])];
    for (const k of keys) {
      const xs = xl.filter((l) => lineKey(l) === k).join(" | ");
      const ys = yl.filter((l) => lineKey(l) === k).join(" | ");
      if (xs === ys) {
        // Equal lines: only the ones that give context (status, type, body) are repeated.
        if (/^(status|content-type|body|event)$/.test(k)) out.push(`      = ${xs}`);
      }
      else {
        out.push(`    ${la.padEnd(9)} ${xs || `(no ${k})`}`);
        out.push(`    ${lb.padEnd(9)} ${ys || `(no ${k})`}`);
      }
    }
  }
  return out.length ? `✘ case "${c.name}"\n${out.join("\n")}` : "";
}

const s = suite(NAME);

requires(s, "every v2 case answers like etcd 3.4 (status, framing, headers, body)", missingTools("etcd"), async () => {
  const procs: Proc[] = [];
  try {
    const started = await Promise.allSettled([
      startEtcd(ETCD),
      against === "etcd" ? startEtcd(OTHER) : startCoreplane(OTHER),
    ]);
    for (const r of started) if (r.status === "fulfilled") procs.push(r.value);
    for (const r of started) if (r.status === "rejected") throw r.reason;
    const ta = target("etcd", ETCD);
    const tb = target(against === "etcd" ? "etcd#2" : "coreplane", OTHER);
    const selected = cases.filter((c) => !only || c.name.includes(only) || c.absolute);
    const differing: string[] = [];
    for (const c of selected) {
      const [sa, sb] = await Promise.all([runCase(c, ta), runCase(c, tb)]);
      if (dump) console.log(`\n### ${c.name}\n${sa.map((x) => `> ${x.request}\n${x.lines.map((l) => `    ${l}`).join("\n")}`).join("\n")}`);
      const d = diffCase(c, sa, sb, ta.label, tb.label);
      if (!d) continue;
      differing.push(c.name);
      console.log(`\n${d}`);
      if (!reportAll) {
        console.log("(stopped at the first differing case; DIFF_REPORT=1 runs them all)");
        break;
      }
    }
    if (differing.length) {
      console.log(`\n${differing.length} of ${selected.length} cases differ:\n${differing.map((n) => `  - ${n}`).join("\n")}`);
    }
    assert.equal(differing, [], `${tb.label} differs from etcd 3.4 in ${differing.length} case(s)`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
});

s.run();
