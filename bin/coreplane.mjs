#!/usr/bin/env node
// `npx coreplane ...`: runs main.ts on Deno (the default runtime, from the pinned npm package),
// or on Node through tsx when COREPLANE_RUNTIME=node. Must not hold logic beyond picking one.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "main.ts");
const args = process.argv.slice(2);
const require = createRequire(import.meta.url);
let cmd, argv;
if (process.env.COREPLANE_RUNTIME === "node") {
  cmd = process.execPath;
  argv = ["--import", require.resolve("tsx"), main, ...args];
} else {
  cmd = join(dirname(require.resolve("deno/package.json")), "..", ".bin", "deno");
  // --unstable-no-legacy-abort: request.signal aborts only when a client goes away (a watch ends),
  // not after every reply; deno.json says the same for runs inside the repository.
  argv = ["run", "-A", "--quiet", "--unstable-no-legacy-abort", main, ...args];
}
const child = spawn(cmd, argv, { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
