// Issue 12, attacks 5 and 8 at the api: large listings are written straight from the store into
// UTF-8 chunks and streamed; identical reads share one encoding while nothing under the listed
// node changed, and never once something did (a write inside, a delete of an ancestor, a TTL);
// bytes equal the KvNode path (kvGet + eventJson); HEAD has the length; a write deeper than
// limits.keyDepthMax is refused with 400 errorCode 210.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { kvGet } from "../../../projections/mod.ts";
import { eventJson } from "../../../api/etcd_v2/json.ts";
import { SharedListings } from "../../../api/etcd_v2/shared_listings.ts";
import { limits } from "../../../internal/limits.ts";
import { setup } from "../helpers.ts";

const s = suite("api/big listings");

const N = 3000; // ~250 KB of JSON: several 64 KiB chunks

function fill(t: ReturnType<typeof setup>, dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    t.deps.apply({ type: "kv/set", path: `/1${dir}/k${i}`, value: "v".repeat(40) + "é" + i, dir: false, ttlSec: null, refresh: false });
  }
}

function expected(t: ReturnType<typeof setup>, path: string, recursive: boolean, sorted: boolean): string {
  const r = kvGet(t.deps.kv, path, { recursive, sorted }, t.deps.clock.nowMs());
  if (r.type !== "event") throw new Error(r.type);
  return eventJson(r.event);
}

s("a large listing streams the same bytes as the KvNode encoder, plain and sorted; HEAD has its length", async () => {
  const t = setup();
  fill(t, "/big", N);
  fill(t, "/big/sub", 10);
  for (const q of ["?recursive=true", "?recursive=true&sorted=true", "", "?sorted=true"]) {
    const want = expected(t, "/1/big", q.includes("recursive"), q.includes("sorted"));
    assert.ok(want.length > 3 * limits.listingChunkBytes);
    for (let i = 0; i < 2; i++) {
      const r = await t.req("GET", "/v2/keys/big" + q);
      assert.is(r.status, 200);
      assert.is(r.body, want, `GET ${q} #${i}`);
    }
    const h = await t.api.fetch(new Request("http://127.0.0.1/v2/keys/big" + q, { method: "HEAD" }));
    assert.is(h.headers.get("content-length"), String(new TextEncoder().encode(want).length));
  }
});

s("a shared encoding is used only while nothing under the node changed", async () => {
  const t = setup();
  fill(t, "/big", N);
  fill(t, "/other", 1);
  const get = async () => (await t.req("GET", "/v2/keys/big?recursive=true")).body;
  assert.is(await get(), expected(t, "/1/big", true, false));
  // A write elsewhere: the same bytes (and the header carries the new index).
  t.deps.apply({ type: "kv/set", path: "/1/other/x", value: "1", dir: false, ttlSec: null, refresh: false });
  const r = await t.req("GET", "/v2/keys/big?recursive=true");
  assert.is(r.body, expected(t, "/1/big", true, false));
  assert.is(r.headers["x-etcd-index"], String(t.deps.kv.index));
  // A write inside, an update in place, a delete inside, a TTL: each is seen at once.
  t.deps.apply({ type: "kv/set", path: "/1/big/new", value: "1", dir: false, ttlSec: null, refresh: false });
  assert.is(await get(), expected(t, "/1/big", true, false));
  t.deps.apply({ type: "kv/set", path: "/1/big/k7", value: "changed", dir: false, ttlSec: null, refresh: false, prevExist: true });
  const after = await get();
  assert.ok(after.includes('"key":"/big/k7","value":"changed"'));
  assert.is(after, expected(t, "/1/big", true, false));
  t.deps.apply({ type: "kv/delete", path: "/1/big/k8", dir: false, recursive: false });
  assert.is(await get(), expected(t, "/1/big", true, false));
  t.deps.apply({ type: "kv/set", path: "/1/big/k9", value: "t", dir: false, ttlSec: 100, refresh: false });
  assert.is(await get(), expected(t, "/1/big", true, false));
  // The whole directory removed: 404, not the old listing.
  t.deps.apply({ type: "kv/delete", path: "/1/big", recursive: true, dir: true });
  assert.is((await t.req("GET", "/v2/keys/big?recursive=true")).status, 404);
});

s("a large listing leaves in chunks of at most listingChunkBytes (not one string of all of it), and can be cancelled", async () => {
  const t = setup();
  fill(t, "/big", N);
  const res = await t.api.fetch(new Request("http://127.0.0.1/v2/keys/big?recursive=true"));
  const reader = res.body!.getReader();
  let chunks = 0;
  for (let i = 0; i < 2; i++) {
    const r = await reader.read();
    assert.ok(!r.done);
    assert.ok(r.value!.length <= limits.listingChunkBytes, `chunk of ${r.value!.length} bytes`);
    chunks++;
  }
  assert.is(chunks, 2);
  await reader.cancel();
  assert.is((await t.req("GET", "/v2/keys/big?recursive=true")).body, expected(t, "/1/big", true, false));
});

s("SharedListings: bounded in bytes, least recently used out, history too short means stale", () => {
  const t = setup();
  fill(t, "/a", 2);
  fill(t, "/b", 2);
  const st = t.deps.kv;
  const sh = new SharedListings(100);
  const c = (n: number) => [new Uint8Array(n)];
  sh.put(st, "/1/a", true, false, c(60), 60);
  sh.put(st, "/1/b", true, false, c(30), 30);
  assert.ok(sh.get(st, "/1/a", true, false)); // /a is now the most recent
  sh.put(st, "/1/c", true, false, c(30), 30); // evicts /b
  assert.is(sh.get(st, "/1/b", true, false), undefined);
  assert.ok(sh.get(st, "/1/a", true, false));
  assert.is(sh.get(st, "/1/a", false, false), undefined); // other flags, other entry
  assert.ok(sh.bytes <= 100);
  sh.put(st, "/1/big", true, false, c(101), 101); // larger than the whole budget: not kept
  assert.is(sh.get(st, "/1/big", true, false), undefined);
  // More writes elsewhere than the history holds: unknown, so not used.
  for (let i = 0; i <= limits.eventHistoryMax; i++) {
    t.deps.apply({ type: "kv/set", path: "/1/z", value: String(i), dir: false, ttlSec: null, refresh: false });
  }
  assert.is(sh.get(st, "/1/a", true, false), undefined);
});

s("a write deeper than limits.keyDepthMax: 400 errorCode 210; at the limit: 201; deeper keys in the store still list", async () => {
  const t = setup();
  const deep = "/a".repeat(limits.keyDepthMax + 1);
  const r = await t.req("PUT", "/v2/keys" + deep, "value=x");
  assert.is(r.status, 400);
  assert.equal(JSON.parse(r.body), {
    errorCode: 210,
    message: "Invalid POST form",
    cause: `key is deeper than ${limits.keyDepthMax} path segments`,
    index: 0,
  });
  const atLimit = "/a".repeat(limits.keyDepthMax);
  assert.is((await t.req("PUT", "/v2/keys" + atLimit, "value=x")).status, 201);
  assert.is((await t.req("PUT", "/v2/keys" + atLimit.slice(2) + "/d", "dir=true")).status, 201);
  assert.is((await t.req("POST", "/v2/keys" + atLimit.slice(2) + "/d", "value=x")).status, 400);
  // Written before the limit (straight into the store, as a replayed log does): still listed.
  t.deps.apply({ type: "kv/set", path: "/1/old" + "/b".repeat(5000), value: "y", dir: false, ttlSec: null, refresh: false });
  const g = await t.req("GET", "/v2/keys/?recursive=true&sorted=true");
  assert.is(g.status, 200);
  assert.ok(g.body.includes(`"key":"/old${"/b".repeat(5000)}","value":"y"`));
  assert.is((await t.req("DELETE", "/v2/keys/old?recursive=true")).status, 200);
});

s.run();
