// Watches through app.fetch (etcd 3.4.23's watch behaviour): headers flushed at once with the registration
// index, one event then end, streams, history hits, 401, the buffer bound, and clean-up when the
// client goes away. The hub's own matching rules are tested in watch_hub.test.ts.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { BASE, okHeaders, setup } from "../helpers.ts";

const s = suite("api/etcd_v2 watch");
const dec = new TextDecoder();

async function readAll(res: Response): Promise<string[]> {
  const text = await res.text();
  return text === "" ? [] : text.split(/(?<=\n)/);
}

s("serveWatch() answers 200 at once with the registration index, then writes the next event and ends", async () => {
  const t = setup();
  t.advanceTo(44);
  t.deps.raftIndex = 96;
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/w1?wait=true"));
  assert.is(res.status, 200);
  assert.equal(Object.fromEntries(res.headers), okHeaders(43, 96));
  assert.is(await t.watchers(), 1);
  await t.req("PUT", "/v2/keys/w1", "value=v1");
  assert.equal(await readAll(res), ['{"action":"set","node":{"key":"/w1","value":"v1","modifiedIndex":44,"createdIndex":44}}\n']);
  assert.is(await t.watchers(), 0);
});

s("serveWatch() with a waitIndex in the history returns that event at once, X-Etcd-Index = current", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/h", "value=1"); // 4
  await t.req("PUT", "/v2/keys/other", "value=1"); // 5
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/h?wait=true&waitIndex=4"));
  assert.is(res.status, 200);
  assert.is(res.headers.get("x-etcd-index"), "5");
  assert.equal(await readAll(res), ['{"action":"set","node":{"key":"/h","value":"1","modifiedIndex":4,"createdIndex":4}}\n']);
  assert.is(await t.watchers(), 0);
});

s("serveWatch() with a waitIndex beyond the newest event skips earlier live events", async () => {
  const t = setup();
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/k?wait=true&waitIndex=6"));
  await t.req("PUT", "/v2/keys/k", "value=a"); // 4
  await t.req("PUT", "/v2/keys/k", "value=b"); // 5
  await t.req("PUT", "/v2/keys/k", "value=c"); // 6
  const lines = await readAll(res);
  assert.is(lines.length, 1);
  assert.match(lines[0], /"value":"c","modifiedIndex":6/);
});

s("serveWatch() with a cleared waitIndex gives 401 as HTTP 400 with the current index", async () => {
  const t = setup();
  t.advanceTo(1071);
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/k?wait=true&waitIndex=5"));
  assert.is(res.status, 400);
  assert.is(res.headers.get("x-etcd-index"), "1070");
  assert.is(res.headers.get("x-raft-index"), null);
  assert.is(
    await res.text(),
    '{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [71/5]","index":1070}\n',
  );
});

s("serveWatch() stream=true writes one line per event and skips refreshes", async () => {
  const t = setup();
  const ac = new AbortController();
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/st?wait=true&stream=true", { signal: ac.signal }));
  assert.is(res.status, 200);
  const reader = res.body!.getReader();
  await t.req("PUT", "/v2/keys/st", "value=1&ttl=100"); // 4
  await t.req("PUT", "/v2/keys/st", "value=2&ttl=100"); // 5
  await t.req("PUT", "/v2/keys/st", "ttl=100&refresh=true&prevExist=true"); // 6, silent
  await t.req("PUT", "/v2/keys/st", "value=3"); // 7
  const got: string[] = [];
  for (let i = 0; i < 3; i++) got.push(dec.decode((await reader.read()).value));
  assert.match(got[0], /"modifiedIndex":4/);
  assert.match(got[1], /"modifiedIndex":5/);
  assert.match(got[2], /^\{"action":"set","node":\{"key":"\/st","value":"3","modifiedIndex":7/);
  assert.ok(got.every((l) => l.endsWith("}\n")));
  assert.is(await t.watchers(), 1);
  ac.abort();
  assert.is(await t.watchers(), 0);
  assert.ok((await reader.read()).done);
});

s("serveWatch() closes a stream whose unread events exceed watcherEventsBufferMax, after draining them", async () => {
  const t = setup({ api: { watcherEventsBufferMax: 2 } });
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/b?wait=true&stream=true"));
  for (let i = 0; i < 5; i++) await t.req("PUT", "/v2/keys/b", "value=" + i);
  assert.is(await t.watchers(), 0);
  const lines = await readAll(res);
  assert.is(lines.length, 2);
  assert.match(lines[0], /"value":"0"/);
  assert.match(lines[1], /"value":"1"/);
});

s("serveWatch() cancels the hub watcher when the client goes away (signal or body cancel)", async () => {
  const t = setup();
  const ac = new AbortController();
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/gone?wait=true", { signal: ac.signal }));
  assert.is(await t.watchers(), 1);
  ac.abort();
  assert.is(await t.watchers(), 0);
  assert.equal(await readAll(res), []);

  const res2 = await t.api.fetch(new Request(BASE + "/v2/keys/gone?wait=true"));
  assert.is(await t.watchers(), 1);
  await res2.body!.cancel();
  assert.is(await t.watchers(), 0);
  await t.req("PUT", "/v2/keys/gone", "value=1"); // nobody left to notify; must not throw
});

s("serveWatch() stream=true from a history hit sends that one event and then stays open and silent", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/hs", "value=1"); // 4
  const ac = new AbortController();
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/hs?wait=true&stream=true&waitIndex=4", { signal: ac.signal }));
  const reader = res.body!.getReader();
  assert.match(dec.decode((await reader.read()).value), /"modifiedIndex":4/);
  await t.req("PUT", "/v2/keys/hs", "value=2");
  assert.is(await t.watchers(), 0);
  ac.abort();
  assert.ok((await reader.read()).done);
});

s("serveWatch() recursive watches see children; a non-recursive one on a directory does not", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/wd", "dir=true"); // 4
  const flat = await t.api.fetch(new Request(BASE + "/v2/keys/wd?wait=true"));
  const rec = await t.api.fetch(new Request(BASE + "/v2/keys/wd?wait=true&recursive=true"));
  await t.req("PUT", "/v2/keys/wd/x/y", "value=1"); // 5
  assert.equal(await readAll(rec), ['{"action":"set","node":{"key":"/wd/x/y","value":"1","modifiedIndex":5,"createdIndex":5}}\n']);
  await t.req("DELETE", "/v2/keys/wd?recursive=true"); // 6
  assert.equal(await readAll(flat), ['{"action":"delete","node":{"key":"/wd","dir":true,"modifiedIndex":6,"createdIndex":4},"prevNode":{"key":"/wd","dir":true,"modifiedIndex":4,"createdIndex":4}}\n']);
});

s("serveWatch() counts live watchers in /v2/stats/store", async () => {
  const t = setup();
  await t.api.fetch(new Request(BASE + "/v2/keys/a?wait=true"));
  await t.api.fetch(new Request(BASE + "/v2/keys/b?wait=true"));
  const r = await t.req("GET", "/v2/stats/store");
  assert.match(r.body, /"watchers":2\}$/);
});

s("expire results from the daemon reach watchers and the expireCount", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/exp", "value=soon&ttl=1"); // 4
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/exp?wait=true"));
  t.deps.clock.advance(2000);
  t.deps.apply({ type: "kv/expire" });
  const lines = await readAll(res);
  assert.is(lines.length, 1);
  assert.match(lines[0], /^\{"action":"expire","node":\{"key":"\/exp","modifiedIndex":5,"createdIndex":4\},"prevNode":\{"key":"\/exp","value":"soon","expiration":"[^"]+","modifiedIndex":4,"createdIndex":4\}\}\n$/);
  const st = await t.req("GET", "/v2/stats/store");
  assert.match(st.body, /"expireCount":1,/);
});

s.run();
