// Datadriven interaction tests of the Raft core, after etcd-io/raft's interaction_test.go: every
// tests/testdata/*.txt script (ported from etcd-io/raft's testdata) runs against RawNodes in
// memory and its output must equal the golden output byte for byte. REWRITE=1 writes the actual
// output into the scripts instead (review the git diff before committing it). Scripts under
// tests/testdata/pending/ document behaviour that differs from etcd's and are not run.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runScript } from "./interaction/runner.ts";

const s = suite("log/interaction (datadriven)");
const dir = fileURLToPath(new URL("../testdata/", import.meta.url));
const rewrite = process.env.REWRITE === "1" || process.env.REWRITE === "true";
const scripts = readdirSync(dir).filter((f) => f.endsWith(".txt")).sort();

s("tests/testdata holds scripts", () => {
  assert.ok(scripts.length > 0, `no *.txt in ${dir}`);
});

for (const name of scripts) {
  s(name, () => {
    const res = runScript(join(dir, name), `tests/testdata/${name}`, rewrite);
    if (res.failures.length > 0) {
      const err = new Error(`${res.failures.length} of ${res.directives} directives differ ` +
        `(REWRITE=1 rewrites the golden output):\n\n${res.failures.join("\n\n")}\n`);
      // uvu prints the stack after the message, and a stack repeats a multi-line message: drop it.
      err.stack = err.name;
      throw err;
    }
  });
}

s.run();
