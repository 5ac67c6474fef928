// `npm start` as the README gives it (`npm run start:node` when the suite runs on Node): the member it
// starts serves, SIGTERM to npm's own pid stops it (npm's script execs the runtime, so no child keeps
// the ports), and everything it prints is JSON lines (no runtime warning among them, e.g. Deno's
// about request.signal, which a watch that the client abandons would trigger).
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import net from "node:net";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { freePorts } from "../helpers/ports.ts";
import { repoRoot, tempDir } from "../helpers/procs.ts";

const s = suite("e2e/npm start");
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

async function until(what: string, cond: () => Promise<boolean> | boolean, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

s("kill <pid of npm start> stops the member, and it prints only JSON lines", async () => {
  const [clientPort, peerPort] = await freePorts(2);
  const dir = tempDir("npm-start");
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const script = isDeno ? "start" : "start:node";
  const npm = spawn("npm", ["--silent", "run", script, "--", "--data-dir", dir, "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `default=${peer}`], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that cleanup can stop whatever npm started even when the test fails.
    detached: true,
  });
  let out = "";
  npm.stdout!.on("data", (d) => (out += d));
  npm.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => npm.once("exit", () => r()));
  try {
    await until("the member to answer /health", async () => {
      try {
        return (await fetch(`${client}/health`)).ok;
      } catch {
        return false;
      }
    });
    assert.is((await fetch(`${client}/v2/keys/a`, { method: "PUT", body: new URLSearchParams({ value: "1" }) })).status, 201);
    // A watch the client abandons: the server sees its request end (where Deno warned about request.signal).
    const ac = new AbortController();
    const w = fetch(`${client}/v2/keys/a?wait=true`, { signal: ac.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await w;
    await new Promise((r) => setTimeout(r, 200));
    npm.kill("SIGTERM");
    await until("npm to exit", () => npm.exitCode !== null || npm.signalCode !== null);
    await until("the client and peer ports to close", async () => !(await listening(clientPort)) && !(await listening(peerPort)));
    const lines = out.split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length > 0, "the member printed nothing");
    const notJson = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(notJson, [], out);
  } finally {
    try {
      process.kill(-npm.pid!, "SIGKILL"); // the group: npm and, if the test failed, the member it left running
    } catch { /* already gone */ }
    if (npm.exitCode === null && npm.signalCode === null) await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
