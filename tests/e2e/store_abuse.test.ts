// Issue 12, attack 5 on a real member: a key 9,000 segments deep. Before, the PUT answered 201
// and from then on every recursive GET above it, "/" included, answered 500 (Maximum call stack
// size exceeded in api/etcd_v2/json.ts) until the key was deleted. Now a write deeper than
// limits.keyDepthMax is refused (400, errorCode 210), a key at the limit works everywhere, and a
// 9,000-deep key already in a log (written before the limit existed: here by the log fixture)
// applies from the snapshot and from replay, and is listed, sorted, watched and deleted. Never a
// 500, never a crash.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { rmSync } from "node:fs";
import { limits } from "../../internal/limits.ts";
import { type Proc, startCoreplane, tempDir } from "../helpers/procs.ts";
import { freePorts } from "../helpers/ports.ts";
import { del, set, writeLog } from "../cli/fixtures.ts";
import type { Command } from "../../projections/mod.ts";

const s = suite("e2e/store abuse: deep keys");

const deepKey = (depth: number, name = "a") => `/${name}`.repeat(depth);

async function req(base: string, method: string, key: string, query = "", form?: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/v2/keys${key}${query}`, {
    method,
    headers: form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" },
    body: form,
    signal: AbortSignal.timeout(60_000),
  });
  return { status: r.status, text: await r.text() };
}

/**
 * GET / recursive, plain and sorted, answers 200 with each key inside. (The JSON repeats every
 * node's full key, so a 9,000-deep key alone makes an 81 MB listing: the test lists "/" only.)
 */
async function listsFine(base: string, keys: [string, string][]): Promise<void> {
  for (const q of ["?recursive=true", "?recursive=true&sorted=true"]) {
    const r = await req(base, "GET", "/", q);
    assert.is(r.status, 200, `GET /${q}: ${r.text.slice(0, 200)}`);
    assert.ok(r.text.endsWith("}\n"), `GET /${q} ends its JSON`);
    for (const [key, value] of keys) assert.ok(r.text.includes(`{"key":"${key}","value":"${value}"`), `GET /${q} holds ${key.slice(0, 20)}...`);
  }
}

async function alive(p: Proc): Promise<void> {
  const r = await fetch(`${p.url}/health`, { signal: AbortSignal.timeout(10_000) });
  assert.is(r.status, 200, p.output());
  await r.body?.cancel();
}

s("a write deeper than the limit is refused with 400 errorCode 210; one at the limit works, through a snapshot and a restart", async () => {
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = tempDir("deep");
  let p: Proc | undefined;
  try {
    p = await startCoreplane({ clientPort, peerPort, dataDir, extraArgs: ["--snapshot-count", "5"] });
    const too = await req(p.url, "PUT", deepKey(9000), "", "value=x");
    // On Node the HTTP server refuses a request line over 16 KiB itself (431) before the api sees it.
    if (too.status !== 431) {
      assert.is(too.status, 400, too.text.slice(0, 200));
      const e = JSON.parse(too.text);
      assert.is(e.errorCode, 210);
      assert.is(e.cause, `key is deeper than ${limits.keyDepthMax} path segments`);
    }
    // Within Node's request line: 2,000 segments of one letter.
    const tooShort = await req(p.url, "PUT", deepKey(2000), "", "value=x");
    assert.is(tooShort.status, 400, tooShort.text.slice(0, 200));
    assert.is(JSON.parse(tooShort.text).errorCode, 210);
    // POST adds a segment: on a directory at the limit it is one too many.
    const atLimit = deepKey(limits.keyDepthMax, "d");
    assert.is((await req(p.url, "PUT", atLimit, "", "value=v")).status, 201);
    assert.is((await req(p.url, "POST", deepKey(limits.keyDepthMax, "d"), "", "value=v")).status, 400);
    await listsFine(p.url, [[atLimit, "v"]]);
    // More writes than --snapshot-count, so a snapshot holds the deep key; then a restart.
    for (let i = 0; i < 8; i++) assert.is((await req(p.url, "PUT", `/k${i}`, "", "value=1")).status, 201);
    await p.stop({ keepData: true });
    p = await startCoreplane({ clientPort, peerPort, dataDir, extraArgs: ["--snapshot-count", "5"] });
    await listsFine(p.url, [[atLimit, "v"]]);
    assert.is((await req(p.url, "DELETE", "/d", "?recursive=true")).status, 200);
    assert.is((await req(p.url, "GET", atLimit)).status, 404);
    await alive(p);
  } finally {
    await p?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

s("a 9,000-deep key already in the log: snapshot, replay, listings, watch and delete", async () => {
  const [clientPort, peerPort] = await freePorts(2);
  const dataDir = tempDir("deep-log");
  let p: Proc | undefined;
  try {
    // Entry 3 onwards: the deep key at 4 lands in the snapshot at 8; the second (5,000 deep, at 13) is replayed.
    const cmds: Command[] = [set("/x", "1"), set(deepKey(9000), "deep")];
    for (let i = 0; i < 8; i++) cmds.push(set(`/k${i}`, "1"));
    cmds.push(set(deepKey(5000, "b"), "replayed"));
    cmds.push(del("/k0"));
    await writeLog(dataDir, cmds, { snapshotEvery: 8 });
    p = await startCoreplane({ clientPort, peerPort, dataDir, extraArgs: ["--snapshot-count", "5"] });
    await listsFine(p.url, [[deepKey(9000), "deep"], [deepKey(5000, "b"), "replayed"]]);
    // A recursive watch from the history sees the deep write; a live one sees the recursive delete.
    const hist = await req(p.url, "GET", "/b", "?wait=true&recursive=true&waitIndex=1");
    assert.is(hist.status, 200);
    assert.ok(hist.text.includes(`"key":"${deepKey(5000, "b")}"`));
    const live = req(p.url, "GET", "/", "?wait=true&recursive=true");
    await new Promise((r) => setTimeout(r, 300));
    const d = await req(p.url, "DELETE", "/a", "?recursive=true");
    assert.is(d.status, 200, d.text);
    const w = await live;
    assert.is(w.status, 200);
    assert.ok(w.text.startsWith('{"action":"delete","node":{"key":"/a","dir":true'), w.text.slice(0, 200));
    assert.is((await req(p.url, "GET", "/a")).status, 404);
    // The member keeps serving: writes, snapshots (--snapshot-count 5) and a restart with the other deep key.
    for (let i = 0; i < 8; i++) assert.is((await req(p.url, "PUT", `/m${i}`, "", "value=1")).status, 201);
    await p.stop({ keepData: true });
    p = await startCoreplane({ clientPort, peerPort, dataDir, extraArgs: ["--snapshot-count", "5"] });
    await listsFine(p.url, [[deepKey(5000, "b"), "replayed"]]);
    assert.is((await req(p.url, "DELETE", "/b", "?recursive=true")).status, 200);
    await alive(p);
  } finally {
    await p?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

s.run();
