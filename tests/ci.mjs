// `npm test`: runs the whole suite on Deno, then on Node (tsx), and ends with the line CI reads,
// "N passed, N failed, N skipped". Exits non-zero if either run failed or counted nothing.
// Must not hide a runtime's output: both runs stream to the terminal as they go.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const extra = process.argv.slice(2);
const runs = [
  ["deno", [bin("deno"), ["run", "-A", "tests/run.ts", ...extra]]],
  ["node", [bin("tsx"), ["tests/run.ts", ...extra]]],
];
const only = process.env.COREPLANE_TEST_RUNTIME; // "deno" or "node" to run one

let passed = 0, failed = 0, skipped = 0, bad = false;
for (const [name, [cmd, args]] of runs) {
  if (only && only !== name) continue;
  process.stdout.write(`\n=== tests on ${name} ===\n`);
  const out = await new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (d) => { text += d; process.stdout.write(d); });
    child.on("close", (code) => resolve({ code, text }));
  });
  const plain = out.text.replace(/\x1b\[[0-9;]*m/g, "");
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  // uvu counts tests registered with skip under "Skipped" and leaves them out of Total and Passed;
  // tests/helpers/requires.ts prints a "SKIP <name>: <reason>" line for each, for the reader.
  const skips = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  passed += ok; failed += Math.max(0, total - ok); skipped += skips;
  if (out.code !== 0 || total === 0) {
    bad = true;
    if (total - ok === 0) failed += 1; // a crash or an empty run counts as a failure
    process.stdout.write(`\n${name} run exited with ${out.code} after ${total} tests\n`);
  }
}
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(bad || failed > 0 ? 1 : 0);
