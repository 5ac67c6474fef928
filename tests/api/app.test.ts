// createApi() routing and the endpoints beside /v2/keys (as a real etcd 3.4.23 answers them): OPTIONS, CORS,
// 301 path cleaning, 404, 405 with Allow, bad path escapes, members, machines, stats, version,
// health and /v1/cluster/status.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { BASE, CORS, setup } from "./helpers.ts";
import { createFakeApi, createFakeDeps, MEMBER } from "./fake_deps.ts";

const s = suite("api/app");
const TEXT = "text/plain; charset=utf-8";

s("fetch() answers OPTIONS on any path with 200, an empty body and the CORS headers", async () => {
  const t = setup();
  for (const p of ["/v2/keys/foo", "/nope", "/v2//keys"]) {
    const r = await t.req("OPTIONS", p);
    assert.is(r.status, 200);
    assert.is(r.body, "");
    assert.equal(r.headers, { ...CORS, "content-length": "0" }); // Go's framing, not a chunked empty body
  }
});

s("fetch() answers unknown paths with Go's 404 text, CORS included", async () => {
  const t = setup();
  for (const p of ["/v2/leader", "/", "/v2/keysfoo", "/v2/stats/self/", "/version/", "/v2/machines/"]) {
    const r = await t.req("GET", p);
    assert.is(r.status, 404, p);
    assert.is(r.body, "404 page not found\n");
    assert.equal(r.headers, { ...CORS, "content-type": TEXT, "x-content-type-options": "nosniff" });
  }
});

s("fetch() answers a bad method with 405, Allow, and no cluster id", async () => {
  const t = setup();
  const cases: [string, string, string][] = [
    ["PATCH", "/v2/keys/a", "HEAD,GET,PUT,POST,DELETE"],
    ["HEAD", "/v2/members", "GET,POST,DELETE,PUT"],
    ["PUT", "/v2/machines", "GET,HEAD"],
    ["POST", "/v2/stats/self", "GET"],
    ["DELETE", "/v2/stats/leader", "GET"],
    ["PUT", "/v2/stats/store", "GET"],
    ["HEAD", "/version", "GET"],
    ["POST", "/health", "GET"],
  ];
  for (const [m, p, allow] of cases) {
    const r = await t.req(m, p);
    assert.is(r.status, 405, `${m} ${p}`);
    assert.is(r.body, m === "HEAD" ? "" : "Method Not Allowed\n");
    const head = m === "HEAD" ? { "content-length": "19" } : {}; // Go sets it for HEAD from the unsent body
    assert.equal(r.headers, { ...CORS, allow, "content-type": TEXT, "x-content-type-options": "nosniff", ...head });
  }
});

s("fetch() redirects a non-canonical path with 301 like ServeMux (body for GET only)", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/keys/a%2F..%2Fb%20c?x=1");
  assert.is(r.status, 301);
  assert.equal(r.headers, { ...CORS, "content-type": "text/html; charset=utf-8", location: "/v2/keys/b%20c?x=1" });
  assert.is(r.body, '<a href="/v2/keys/b%20c?x=1">Moved Permanently</a>.\n\n');
  r = await t.req("PUT", "/v2/keys//a%2F..%2Fb%20c", "value=1");
  assert.is(r.status, 301);
  assert.equal(r.headers, { ...CORS, location: "/v2/keys/b%20c", "content-length": "0" });
  assert.is(r.body, "");
  r = await t.req("GET", "/v2//keys/foo/");
  assert.is(r.headers.location, "/v2/keys/foo/");
  r = await t.req("HEAD", "/v2//keys");
  assert.is(r.status, 301);
  assert.is(r.body, "");
  assert.is(r.headers["content-length"], undefined); // Go wrote nothing, so it frames nothing
  assert.is(t.deps.proposed.length, 0);
});

s("fetch() with the raw request target redirects dot segments the Request URL parser resolved away", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/pc/foo", "value=v");
  const cases: [string, string][] = [
    ["/v2/keys/pc/./foo", "/v2/keys/pc/foo"],
    ["/v2/keys/pc/x/../foo?recursive=true&x=%20", "/v2/keys/pc/foo?recursive=true&x=%20"],
    ["/v2/keys/pc/foo/.", "/v2/keys/pc/foo"],
    ["/v2/keys/pc/foo/..", "/v2/keys/pc"],
    ["/v2/./machines", "/v2/machines"],
    ["/v2/keys/..", "/v2"],
    ["/v2/keys/../version", "/v2/version"],
  ];
  for (const [target, location] of cases) {
    // What node-server hands over: a Request whose URL is already normalised, plus the raw target.
    const res = await t.api.fetch(new Request(new URL(target, BASE)), target);
    assert.is(res.status, 301, target);
    assert.is(res.headers.get("location"), location, target);
    assert.is(await res.text(), `<a href="${location.replace(/&/g, "&amp;")}">Moved Permanently</a>.\n\n`);
  }
  // A clean raw target is served as usual, query included.
  const res = await t.api.fetch(new Request(BASE + "/v2/keys/pc/foo?x=1"), "/v2/keys/pc/foo?x=1");
  assert.is(res.status, 200);
  assert.match(await res.text(), /"key":"\/pc\/foo","value":"v"/);
});

s("fetch() takes a raw target's non-ASCII characters as the bytes node:http received", async () => {
  const t = setup();
  const put = (target: string, value: string) =>
    t.api.fetch(new Request(BASE + "/v2/keys/x", { method: "PUT", body: "value=" + value, headers: { "content-type": "application/x-www-form-urlencoded" } }), target);
  assert.is((await put("/v2/keys/k\xff", "raw")).status, 201);
  assert.is((await put("/v2/keys/k%C3", "trunc")).status, 201); // a different key: 0xC3, not 0xFF
  const r = await t.req("GET", "/v2/keys/k%FF");
  assert.match(r.body, /"key":"\/k\\ufffd","value":"raw"/);
});

s("fetch() answers a bad %-escape in the path with Go's bare 400", async () => {
  const t = setup();
  const r = await t.req("GET", "/v2/keys/%zz");
  assert.is(r.status, 400);
  assert.is(r.body, "400 Bad Request");
  // Go's server closes the connection after it; the runtime frames it that way (node/runtime.ts).
  assert.equal(r.headers, { "content-type": TEXT, connection: "close" });
});

s("fetch() routes escaped paths by their decoded form", async () => {
  const t = setup();
  const r = await t.req("GET", "/v2/stats%2Fstore");
  assert.is(r.status, 200);
  assert.match(r.body, /^\{"getsSuccess"/);
});

s("fetch() with a restricted CORS list echoes an allowed Origin and omits the headers otherwise", async () => {
  const api = createFakeApi(createFakeDeps(), { corsOrigins: ["http://ok.example"] });
  let res = await api.fetch(new Request(BASE + "/version", { headers: { origin: "http://ok.example" } }));
  assert.is(res.headers.get("access-control-allow-origin"), "http://ok.example");
  res = await api.fetch(new Request(BASE + "/version", { headers: { origin: "http://evil.example" } }));
  assert.is(res.headers.get("access-control-allow-origin"), null);
  assert.is(res.status, 200);
});

s("/v2/members lists members with the cluster id and a trailing newline", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/members");
  assert.is(r.status, 200);
  assert.equal(r.headers, { ...CORS, "content-type": "application/json", "x-etcd-cluster-id": "48276a8f75b6a87" });
  assert.is(r.body, '{"members":[{"id":"2e1259d415f2a040","name":"n1","peerURLs":["http://127.0.0.1:23800"],"clientURLs":["http://127.0.0.1:23790"]}]}\n');
  r = await t.req("GET", "/v2/members/");
  assert.is(r.status, 200);
  t.deps.membersList = [MEMBER, { id: "a18b7a2723f63f05", name: "", peerURLs: ["http://127.0.0.1:23801"], clientURLs: [] }, { id: "ff", name: "x", peerURLs: [], clientURLs: [] }];
  r = await t.req("GET", "/v2/members");
  assert.is(
    r.body,
    '{"members":[{"id":"ff","name":"x","peerURLs":[],"clientURLs":[]},{"id":"2e1259d415f2a040","name":"n1","peerURLs":["http://127.0.0.1:23800"],"clientURLs":["http://127.0.0.1:23790"]},{"id":"a18b7a2723f63f05","name":"","peerURLs":["http://127.0.0.1:23801"],"clientURLs":[]}]}\n',
  );
});

s("/v2/members/leader gives the leader, or 503 During election; other names 404", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/members/leader");
  assert.is(r.status, 200);
  assert.is(r.body, '{"id":"2e1259d415f2a040","name":"n1","peerURLs":["http://127.0.0.1:23800"],"clientURLs":["http://127.0.0.1:23790"]}\n');
  t.deps.leader = "";
  r = await t.req("GET", "/v2/members/leader");
  assert.is(r.status, 503);
  assert.equal(r.headers, { ...CORS, "content-type": "application/json", "x-etcd-cluster-id": "48276a8f75b6a87" });
  assert.is(r.body, '{"message":"During election"}');
  r = await t.req("GET", "/v2/members/2e1259d415f2a040");
  assert.is(r.status, 404);
  assert.is(r.body, '{"message":"Not found"}');
});

s("/v2/members POST/PUT/DELETE: 415 for a form, 405 without an id, 404 for an unknown id; 201 and 204 on success", async () => {
  const t = setup();
  let r = await t.req("POST", "/v2/members", "peerURLs=x");
  assert.is(r.status, 415);
  assert.is(r.body, '{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}');
  r = await t.req("POST", "/v2/members", '{"peerURLs":["http://127.0.0.1:23801"]}', "application/json");
  assert.is(r.status, 201);
  assert.is(r.body, '{"id":"1001","name":"","peerURLs":["http://127.0.0.1:23801"],"clientURLs":[]}\n');
  assert.is(r.headers["content-type"], "application/json");
  for (const m of ["PUT", "DELETE"]) {
    r = await t.req(m, "/v2/members");
    assert.is(r.status, 405);
    assert.is(r.body, "Method Not Allowed\n");
    assert.is(r.headers["x-etcd-cluster-id"], "48276a8f75b6a87");
    assert.is(r.headers.allow, undefined);
    r = await t.req(m, "/v2/members/1234abcd");
    assert.is(r.status, 404);
    assert.is(r.body, '{"message":"No such member: 1234abcd"}');
    r = await t.req(m, "/v2/members/nothex");
    assert.is(r.body, '{"message":"No such member: nothex"}');
    r = await t.req(m, "/v2/members/1001", '{"peerURLs":["http://127.0.0.1:23802"]}', "application/json");
    assert.is(r.status, 204);
    assert.is(r.body, "");
  }
  assert.equal(t.deps.membersList.map((m) => m.id), ["2e1259d415f2a040"]);
  assert.is(t.deps.proposed.length, 0);
});

s("/v2/machines lists client URLs as plain text without a newline; HEAD has no body", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/machines");
  assert.is(r.status, 200);
  assert.equal(r.headers, { ...CORS, "content-type": TEXT });
  assert.is(r.body, "http://127.0.0.1:23790");
  t.deps.membersList = [MEMBER, { id: "1", name: "b", peerURLs: [], clientURLs: ["http://127.0.0.1:23780", "http://a:1"] }];
  r = await t.req("GET", "/v2/machines");
  assert.is(r.body, "http://127.0.0.1:23780, http://127.0.0.1:23790, http://a:1");
  r = await t.req("HEAD", "/v2/machines");
  assert.is(r.status, 200);
  assert.is(r.body, "");
});

s("/v2/stats/self has etcd's fields and order, with a Go duration uptime", async () => {
  const t = setup();
  t.deps.clock.set(Date.UTC(2026, 10, 23, 16, 16, 58, 524));
  const r = await t.req("GET", "/v2/stats/self");
  assert.is(r.status, 200);
  assert.equal(r.headers, { ...CORS, "content-type": "application/json" });
  assert.is(
    r.body,
    '{"name":"n1","id":"2e1259d415f2a040","state":"StateLeader","startTime":"2026-11-23T16:05:22.018Z","leaderInfo":{"leader":"2e1259d415f2a040","uptime":"11m36.304s","startTime":"2026-11-23T16:05:22.22Z"},"recvAppendRequestCnt":0,"sendAppendRequestCnt":0}',
  );
});

s("/v2/stats/leader: the leader's followers; a non-leader gets 403 not current leader", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/stats/leader");
  assert.is(r.status, 200);
  assert.is(r.body, '{"leader":"2e1259d415f2a040","followers":{}}');
  t.deps.stateName = "StateFollower";
  r = await t.req("GET", "/v2/stats/leader");
  assert.is(r.status, 403);
  assert.equal(r.headers, { ...CORS, "content-type": "application/json" });
  assert.is(r.body, '{"message":"not current leader"}');
});

s("/version serves etcd 3.4.23's versions without a newline", async () => {
  const t = setup();
  const r = await t.req("GET", "/version");
  assert.is(r.status, 200);
  assert.equal(r.headers, { ...CORS, "content-type": "application/json" });
  assert.is(r.body, '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
  assert.is(r.body.length, 45);
});

s("/health: 200 text/plain when a leader and a read answer; 503 otherwise", async () => {
  const t = setup();
  let r = await t.req("GET", "/health");
  assert.is(r.status, 200);
  assert.equal(r.headers, { ...CORS, "content-type": TEXT });
  assert.is(r.body, '{"health":"true"}');
  t.deps.failReads = "node/timeout";
  r = await t.req("GET", "/health");
  assert.is(r.status, 503);
  assert.equal(r.headers, { ...CORS, "content-type": TEXT, "x-content-type-options": "nosniff" });
  assert.is(r.body, '{"health":"false"}\n');
  t.deps.failReads = undefined;
  t.deps.leader = "";
  r = await t.req("GET", "/health");
  assert.is(r.status, 503);
});

s("/v1/cluster/status reports the member's raft view", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/a", "value=1");
  const r = await t.req("GET", "/v1/cluster/status");
  assert.is(r.status, 200);
  assert.equal(r.headers, { ...CORS, "content-type": "application/json" });
  assert.equal(JSON.parse(r.body), {
    id: "2e1259d415f2a040",
    name: "n1",
    clusterId: "48276a8f75b6a87",
    state: "StateLeader",
    term: 2,
    leader: "2e1259d415f2a040",
    commitIndex: 4,
    appliedIndex: 4,
    snapshotIndex: 0,
    firstIndex: 1,
    lastIndex: 4,
    logBytesOnDisk: 4096,
    members: [{ id: "2e1259d415f2a040", name: "n1", peerURLs: ["http://127.0.0.1:23800"], clientURLs: ["http://127.0.0.1:23790"] }],
  });
  const bad = await t.req("POST", "/v1/cluster/status");
  assert.is(bad.status, 405);
  assert.is(bad.headers.allow, "GET,HEAD");
});

s("fetch() lets a broken invariant through instead of answering it", async () => {
  const deps = createFakeDeps();
  const api = createFakeApi(deps);
  deps.status = () => {
    throw new Error("boom");
  };
  let threw = false;
  try {
    await api.fetch(new Request(BASE + "/v1/cluster/status"));
  } catch {
    threw = true;
  }
  assert.ok(threw);
});

s.run();
