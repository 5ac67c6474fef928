// Unit tests of the datadriven script format (tests/log/interaction/datadriven.ts): command-line
// parsing, the single- and double-separator output blocks, the rewrite that REWRITE=1 performs,
// and the unified diff a mismatch prints.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseLine, parseScript, rewriteScript, ScriptSyntaxError, unifiedDiff } from "./datadriven.ts";

const s = suite("log/interaction/datadriven");

s("parseLine splits keys, key=value and key=(a, b)", () => {
  const { cmd, args } = parseLine("add-nodes 3 voters=(1, 2,3) index=10 learners=() drop=3");
  assert.is(cmd, "add-nodes");
  assert.equal(args, [
    { key: "3", vals: [] },
    { key: "voters", vals: ["1", "2", "3"] },
    { key: "index", vals: ["10"] },
    { key: "learners", vals: [] },
    { key: "drop", vals: ["3"] },
  ]);
  assert.throws(() => parseLine("x a=(1,2"), (e: unknown) => e instanceof ScriptSyntaxError);
});

const SCRIPT = `# a comment
log-level none
add-nodes 1
----
ok

propose-conf-change 1 v1=true
v2
----
line one
line two

multi
----
----
first

after a blank line
----
----

last
----
`;

s("parseScript reads commands, input lines and both output forms", () => {
  const ds = parseScript(SCRIPT);
  assert.equal(ds.map((d) => [d.line, d.cmd, d.input, d.expected, d.expectedLine]), [
    [2, "log-level", ["add-nodes 1"], "ok\n", 5],
    [7, "propose-conf-change", ["v2"], "line one\nline two\n", 10],
    [13, "multi", [], "first\n\nafter a blank line\n", 16],
    [22, "last", [], "", 24],
  ]);
  assert.throws(() => parseScript("cmd\nno separator\n"), (e: unknown) => e instanceof ScriptSyntaxError);
});

s("rewriteScript replaces only the output blocks, choosing the form the output needs", () => {
  const ds = parseScript(SCRIPT);
  const same = rewriteScript(SCRIPT, ds, ds.map((d) => d.expected));
  assert.is(same, SCRIPT);
  const out = rewriteScript(SCRIPT, ds, ["ok", "one\n", "no blank now\n", "now\n\nblank\n"]);
  assert.is(out, `# a comment
log-level none
add-nodes 1
----
ok

propose-conf-change 1 v1=true
v2
----
one

multi
----
no blank now

last
----
----
now

blank
----
----
`);
  // And the rewritten file parses back to the same outputs.
  assert.equal(parseScript(out).map((d) => d.expected), ["ok\n", "one\n", "no blank now\n", "now\n\nblank\n"]);
});

s("unifiedDiff numbers hunks by script line and shows removals before additions", () => {
  const diff = unifiedDiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n", 40);
  assert.is(diff, "@@ -40,7 +40,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g");
  assert.is(unifiedDiff("x\n", "x", 1), "");
  assert.is(unifiedDiff("", "new\n", 7), "@@ -7,0 +7,1 @@\n+new");
});

s.run();
