// /v2/keys against examples captured from a real etcd 3.4.23 (status, headers, exact
// body bytes), etcd's request validation order, its form/body rules, HEAD, and our size limits.
// Uses app.fetch with fake deps; the etcd index is moved to each capture's starting index.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CORS, errHeaders, FORM, okHeaders, setup } from "../helpers.ts";

const s = suite("api/etcd_v2 keys");

s("serveKeys() set, get, overwrite and delete match the §4.3 capture byte for byte", async () => {
  const t = setup();
  t.deps.raftIndex += 2; // the capture's raft index ran 2 ahead of the etcd index
  let r = await t.req("PUT", "/v2/keys/message", "value=Hello world");
  assert.is(r.status, 201);
  assert.equal(r.headers, okHeaders(4, 6));
  assert.is(r.body, '{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}\n');
  assert.is(new TextEncoder().encode(r.body).length, 100); // Content-Length: 100

  r = await t.req("GET", "/v2/keys/message");
  assert.is(r.status, 200);
  assert.equal(r.headers, okHeaders(4, 6));
  assert.is(r.body, '{"action":"get","node":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}\n');

  r = await t.req("PUT", "/v2/keys/message", "value=Hello etcd");
  assert.is(r.status, 200);
  assert.is(r.headers["x-etcd-index"], "5");
  assert.is(
    r.body,
    '{"action":"set","node":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}\n',
  );

  r = await t.req("DELETE", "/v2/keys/message");
  assert.is(r.status, 200);
  assert.is(
    r.body,
    '{"action":"delete","node":{"key":"/message","modifiedIndex":6,"createdIndex":5},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5}}\n',
  );
});

s("serveKeys() TTL writes match the §4.3 capture (expiration, ttl countdown, refresh, empty ttl, ttl=0)", async () => {
  const t = setup();
  const t0 = Date.UTC(2026, 10, 23, 16, 5, 32, 58);
  t.deps.clock.set(t0);
  t.advanceTo(7);
  let r = await t.req("PUT", "/v2/keys/foo", "value=bar&ttl=5");
  assert.is(r.status, 201);
  assert.is(r.body, '{"action":"set","node":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:37.058Z","ttl":5,"modifiedIndex":7,"createdIndex":7}}\n');

  t.deps.clock.set(t0 + 1500);
  r = await t.req("GET", "/v2/keys/foo");
  assert.is(r.body, '{"action":"get","node":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:37.058Z","ttl":4,"modifiedIndex":7,"createdIndex":7}}\n');

  t.deps.clock.set(t0 + 2046);
  r = await t.req("PUT", "/v2/keys/foo", "ttl=20&refresh=true&prevExist=true");
  assert.is(r.status, 200);
  assert.is(
    r.body,
    '{"action":"update","node":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:54.104Z","ttl":20,"modifiedIndex":8,"createdIndex":7},"prevNode":{"key":"/foo","value":"bar","expiration":"2026-11-23T16:05:37.058Z","ttl":3,"modifiedIndex":7,"createdIndex":7}}\n',
  );

  r = await t.req("PUT", "/v2/keys/foo", "value=bar&ttl=");
  assert.is(r.status, 200);
  assert.ok(r.body.startsWith('{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":9,"createdIndex":9},"prevNode":{'));
  assert.ok(r.body.endsWith('"ttl":20,"modifiedIndex":8,"createdIndex":7}}\n'));

  // refresh without prevExist: a set that recreates the node
  t.advanceTo(12);
  r = await t.req("PUT", "/v2/keys/r1", "value=v&ttl=30");
  assert.is(r.status, 201);
  r = await t.req("PUT", "/v2/keys/r1", "ttl=60&refresh=true");
  assert.is(r.status, 200);
  assert.match(r.body, /^\{"action":"set","node":\{"key":"\/r1","value":"v","expiration":"[^"]+","ttl":60,"modifiedIndex":13,"createdIndex":13\},"prevNode":\{"key":"\/r1","value":"v","expiration":"[^"]+","ttl":30,"modifiedIndex":12,"createdIndex":12\}\}\n$/);
  r = await t.req("PUT", "/v2/keys/r1", "ttl=60&refresh=true&prevValue=v");
  assert.match(r.body, /^\{"action":"compareAndSwap",/);

  // ttl=0: expires at once; no "ttl" field (it works out to 0)
  t.advanceTo(15);
  t.deps.clock.set(Date.UTC(2026, 10, 23, 16, 5, 41, 801));
  r = await t.req("PUT", "/v2/keys/r1", "ttl=0&value=1");
  assert.is(r.status, 200);
  assert.match(r.body, /^\{"action":"set","node":\{"key":"\/r1","value":"1","expiration":"2026-11-23T16:05:41.801Z","modifiedIndex":15,"createdIndex":15\},"prevNode":\{/);
});

s("serveKeys() directories and listings match the §4.3 capture", async () => {
  const t = setup();
  t.advanceTo(17);
  let r = await t.req("PUT", "/v2/keys/dir", "dir=true");
  assert.is(r.status, 201);
  assert.is(r.body, '{"action":"set","node":{"key":"/dir","dir":true,"modifiedIndex":17,"createdIndex":17}}\n');
  r = await t.req("PUT", "/v2/keys/dir", "dir=true");
  assert.is(r.status, 403);
  assert.equal(r.headers, errHeaders(17));
  assert.is(r.body, '{"errorCode":102,"message":"Not a file","cause":"/dir","index":17}\n');

  await t.req("PUT", "/v2/keys/dir/a", "value=1");
  await t.req("PUT", "/v2/keys/dir/sub/b", "value=2");
  await t.req("PUT", "/v2/keys/dir/_hidden", "value=h");
  r = await t.req("GET", "/v2/keys/dir");
  assert.is(
    r.body,
    '{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":18,"createdIndex":18},{"key":"/dir/sub","dir":true,"modifiedIndex":19,"createdIndex":19}],"modifiedIndex":17,"createdIndex":17}}\n',
  );
  r = await t.req("GET", "/v2/keys/dir?recursive=true&sorted=true");
  assert.is(
    r.body,
    '{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":18,"createdIndex":18},{"key":"/dir/sub","dir":true,"nodes":[{"key":"/dir/sub/b","value":"2","modifiedIndex":19,"createdIndex":19}],"modifiedIndex":19,"createdIndex":19}],"modifiedIndex":17,"createdIndex":17}}\n',
  );
  r = await t.req("GET", "/v2/keys/dir/_hidden");
  assert.is(r.body, '{"action":"get","node":{"key":"/dir/_hidden","value":"h","modifiedIndex":20,"createdIndex":20}}\n');

  await t.req("PUT", "/v2/keys/emptydir", "dir=true");
  r = await t.req("GET", "/v2/keys/emptydir");
  assert.is(r.body, '{"action":"get","node":{"key":"/emptydir","dir":true,"modifiedIndex":21,"createdIndex":21}}\n');

  await t.req("PUT", "/v2/keys/f1", "value=file");
  r = await t.req("PUT", "/v2/keys/f1", "dir=true");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"set","node":{"key":"/f1","dir":true,"modifiedIndex":23,"createdIndex":23},"prevNode":{"key":"/f1","value":"file","modifiedIndex":22,"createdIndex":22}}\n');

  t.advanceTo(25);
  await t.req("PUT", "/v2/keys/f2", "value=file");
  r = await t.req("PUT", "/v2/keys/f2/x", "value=1");
  assert.is(r.status, 400);
  assert.equal(r.headers, errHeaders(25));
  assert.is(r.body, '{"errorCode":104,"message":"Not a directory","cause":"/f2","index":25}\n');
  r = await t.req("GET", "/v2/keys/f2/x/y");
  assert.is(r.body, '{"errorCode":104,"message":"Not a directory","cause":"/f2","index":25}\n');

  // a directory with a TTL, then an update of its TTL
  t.advanceTo(32);
  await t.req("PUT", "/v2/keys/td", "dir=true&ttl=100");
  await t.req("PUT", "/v2/keys/td/k", "value=1");
  r = await t.req("GET", "/v2/keys/td");
  assert.match(r.body, /^\{"action":"get","node":\{"key":"\/td","dir":true,"expiration":"[^"]+","ttl":100,"nodes":\[\{"key":"\/td\/k","value":"1","modifiedIndex":33,"createdIndex":33\}\],"modifiedIndex":32,"createdIndex":32\}\}\n$/);
  r = await t.req("PUT", "/v2/keys/td?prevExist=true&dir=true", "ttl=200");
  assert.match(r.body, /^\{"action":"update","node":\{"key":"\/td","dir":true,"expiration":"[^"]+","ttl":200,"modifiedIndex":34,"createdIndex":32\},"prevNode":\{"key":"\/td","dir":true,"expiration":"[^"]+","ttl":100,"modifiedIndex":32,"createdIndex":32\}\}\n$/);
});

s("serveKeys() root: GET lists it without key or indexes; PUT/DELETE give 107", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/keys");
  assert.is(r.body, '{"action":"get","node":{"dir":true}}\n');
  r = await t.req("GET", "/v2/keys/");
  assert.is(r.body, '{"action":"get","node":{"dir":true}}\n');
  await t.req("PUT", "/v2/keys/a", "value=1");
  r = await t.req("GET", "/v2/keys/");
  assert.is(r.body, '{"action":"get","node":{"dir":true,"nodes":[{"key":"/a","value":"1","modifiedIndex":4,"createdIndex":4}]}}\n');
  t.advanceTo(39);
  r = await t.req("DELETE", "/v2/keys/");
  assert.is(r.status, 400);
  assert.is(r.body, '{"errorCode":107,"message":"Root is read only","cause":"/","index":38}\n');
  t.advanceTo(44);
  r = await t.req("DELETE", "/v2/keys/?prevValue=x");
  assert.is(r.status, 403);
  assert.is(r.body, '{"errorCode":102,"message":"Not a file","index":43}\n');
});

s("serveKeys() create, update and compare-and-swap match the §4.3 capture", async () => {
  const t = setup();
  t.advanceTo(29);
  let r = await t.req("PUT", "/v2/keys/c", "value=one&prevExist=false");
  assert.is(r.status, 201);
  assert.is(r.body, '{"action":"create","node":{"key":"/c","value":"one","modifiedIndex":29,"createdIndex":29}}\n');
  r = await t.req("PUT", "/v2/keys/c", "value=one&prevExist=false");
  assert.is(r.status, 412);
  assert.is(r.body, '{"errorCode":105,"message":"Key already exists","cause":"/c","index":29}\n');
  r = await t.req("PUT", "/v2/keys/c", "value=two&prevExist=true");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"update","node":{"key":"/c","value":"two","modifiedIndex":30,"createdIndex":29},"prevNode":{"key":"/c","value":"one","modifiedIndex":29,"createdIndex":29}}\n');
  r = await t.req("PUT", "/v2/keys/c", "value=three&prevValue=two");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"compareAndSwap","node":{"key":"/c","value":"three","modifiedIndex":31,"createdIndex":29},"prevNode":{"key":"/c","value":"two","modifiedIndex":30,"createdIndex":29}}\n');
  r = await t.req("PUT", "/v2/keys/c", "value=three&prevValue=wrong");
  assert.is(r.status, 412);
  assert.is(r.body, '{"errorCode":101,"message":"Compare failed","cause":"[wrong != three]","index":31}\n');
  r = await t.req("PUT", "/v2/keys/c", "value=four&prevIndex=1");
  assert.is(r.body, '{"errorCode":101,"message":"Compare failed","cause":"[1 != 31]","index":31}\n');
  r = await t.req("PUT", "/v2/keys/c", "value=four&prevIndex=1&prevValue=wrong");
  assert.is(r.body, '{"errorCode":101,"message":"Compare failed","cause":"[wrong != three] [1 != 31]","index":31}\n');
});

s("serveKeys() in-order POST matches the §4.3 capture", async () => {
  const t = setup();
  t.advanceTo(29);
  await t.req("PUT", "/v2/keys/c", "value=one&prevExist=false");
  t.advanceTo(33);
  let r = await t.req("POST", "/v2/keys/queue", "value=Job1");
  assert.is(r.status, 201);
  assert.is(r.body, '{"action":"create","node":{"key":"/queue/00000000000000000033","value":"Job1","modifiedIndex":33,"createdIndex":33}}\n');
  r = await t.req("POST", "/v2/keys/queue", "value=Job2");
  assert.match(r.body, /"key":"\/queue\/00000000000000000034"/);
  r = await t.req("POST", "/v2/keys/queue", "dir=true");
  assert.is(r.body, '{"action":"create","node":{"key":"/queue/00000000000000000035","dir":true,"modifiedIndex":35,"createdIndex":35}}\n');
  r = await t.req("POST", "/v2/keys/queue", "value=Job3&ttl=100");
  assert.match(r.body, /^\{"action":"create","node":\{"key":"\/queue\/00000000000000000036","value":"Job3","expiration":"[^"]+","ttl":100,"modifiedIndex":36,"createdIndex":36\}\}\n$/);
  r = await t.req("POST", "/v2/keys/c", "value=x");
  assert.is(r.status, 400);
  assert.is(r.body, '{"errorCode":104,"message":"Not a directory","cause":"/c","index":36}\n');
  r = await t.req("GET", "/v2/keys/queue");
  assert.match(r.body, /"modifiedIndex":33,"createdIndex":33\}\}\n$/);
});

s("serveKeys() deletes match the §4.3 capture", async () => {
  const t = setup();
  t.advanceTo(17);
  await t.req("PUT", "/v2/keys/dir", "dir=true");
  await t.req("PUT", "/v2/keys/dir/a", "value=1");
  t.advanceTo(21);
  await t.req("PUT", "/v2/keys/emptydir", "dir=true");
  t.advanceTo(29);
  await t.req("PUT", "/v2/keys/c", "value=one&prevExist=false");
  t.advanceTo(32);
  await t.req("PUT", "/v2/keys/c", "value=five&prevExist=true");
  t.advanceTo(39);
  let r = await t.req("DELETE", "/v2/keys/dir");
  assert.is(r.status, 403);
  assert.is(r.body, '{"errorCode":102,"message":"Not a file","cause":"/dir","index":38}\n');
  r = await t.req("DELETE", "/v2/keys/dir?dir=true");
  assert.is(r.status, 403);
  assert.is(r.body, '{"errorCode":108,"message":"Directory not empty","cause":"/dir","index":38}\n');
  r = await t.req("DELETE", "/v2/keys/emptydir?dir=true");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"delete","node":{"key":"/emptydir","dir":true,"modifiedIndex":39,"createdIndex":21},"prevNode":{"key":"/emptydir","dir":true,"modifiedIndex":21,"createdIndex":21}}\n');
  r = await t.req("DELETE", "/v2/keys/dir?recursive=true");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":40,"createdIndex":17},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":17,"createdIndex":17}}\n');
  r = await t.req("DELETE", "/v2/keys/c?prevValue=five");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"compareAndDelete","node":{"key":"/c","modifiedIndex":41,"createdIndex":29},"prevNode":{"key":"/c","value":"five","modifiedIndex":32,"createdIndex":29}}\n');
  await t.req("PUT", "/v2/keys/f2", "value=x");
  r = await t.req("DELETE", "/v2/keys/f2?dir=true");
  assert.is(r.status, 200);
});

s("serveKeys() noValueOnSuccess gives just the action, and leaves deletes alone", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/nv?noValueOnSuccess=true", "value=1");
  assert.is(r.status, 201);
  assert.is(r.body, '{"action":"set"}\n');
  assert.equal(r.headers, okHeaders(4, 4));
  r = await t.req("PUT", "/v2/keys/nv?noValueOnSuccess=true&prevExist=true", "value=2");
  assert.is(r.body, '{"action":"update"}\n');
  r = await t.req("DELETE", "/v2/keys/nv?noValueOnSuccess=true");
  assert.match(r.body, /^\{"action":"delete","node":/);
});

s("serveKeys() §5: 212 request errors carry index 0; a node timeout is 300 with etcd's cause", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/foo", "refresh=true");
  assert.is(r.status, 400);
  assert.equal(r.headers, errHeaders(0));
  assert.is(r.body, '{"errorCode":212,"message":"A TTL must be provided on refresh","cause":"No TTL value set","index":0}\n');
  t.deps.failNextPropose = "node/timeout";
  r = await t.req("PUT", "/v2/keys/foo", "value=1");
  assert.is(r.status, 500);
  assert.equal(r.headers, errHeaders(0));
  assert.is(r.body, '{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: request timed out","index":0}\n');
  t.deps.failNextPropose = "node/disk-full";
  r = await t.req("DELETE", "/v2/keys/foo");
  assert.is(r.status, 500);
  assert.match(r.body, /^\{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: disk is full[^"]*","index":0\}\n$/);
});

s("serveKeys() §4.1 checks run in etcd's order", async () => {
  const t = setup();
  // Each query holds every later error too, so only the first check can answer.
  const steps: [string, number, string][] = [
    ["x=%zz&", 210, 'invalid URL escape \\"%zz\\"'],
    ["prevIndex=a&", 203, 'invalid value for \\"prevIndex\\"'],
    ["waitIndex=-1&", 203, 'invalid value for \\"waitIndex\\"'],
    ["recursive=yes&", 209, 'invalid value for \\"recursive\\"'],
    ["sorted=2&", 209, 'invalid value for \\"sorted\\"'],
    ["wait=x&", 209, 'invalid value for \\"wait\\"'],
    ["dir=x&", 209, 'invalid value for \\"dir\\"'],
    ["quorum=x&", 209, 'invalid value for \\"quorum\\"'],
    ["stream=x&", 209, 'invalid value for \\"stream\\"'],
    ["wait=true&", 209, '\\"wait\\" can only be used with GET requests'],
    ["prevValue=&", 201, '\\"prevValue\\" cannot be empty'],
    ["noValueOnSuccess=x&", 209, 'invalid value for \\"noValueOnSuccess\\"'],
    ["ttl=abc&", 202, 'invalid value for \\"ttl\\"'],
    ["prevExist=x&", 209, "invalid value for prevExist"],
    ["refresh=x&", 209, "invalid value for refresh"],
    ["refresh=true&value=v&", 211, "A value was provided on a refresh"],
    ["refresh=true&", 212, "No TTL value set"],
  ];
  const messages: Record<number, string> = {
    210: "Invalid POST form",
    203: "The given index in POST form is not a number",
    209: "Invalid field",
    201: "PrevValue is Required in POST form",
    202: "The given TTL in POST form is not a number",
    211: "Value provided on refresh",
    212: "A TTL must be provided on refresh",
  };
  for (let i = 0; i < steps.length; i++) {
    const query = steps.slice(i).map((x) => x[0]).join("");
    const [, code, cause] = steps[i];
    const r = await t.req("PUT", "/v2/keys/k?" + query);
    assert.is(r.status, 400, query);
    assert.is(r.headers["x-etcd-index"], "0");
    assert.is(r.body, `{"errorCode":${code},"message":"${messages[code]}","cause":"${cause}","index":0}\n`, query);
  }
  // GET validates the write parameters too.
  const r = await t.req("GET", "/v2/keys/k?prevIndex=abc");
  assert.is(r.body, '{"errorCode":203,"message":"The given index in POST form is not a number","cause":"invalid value for \\"prevIndex\\"","index":0}\n');
  // wait on HEAD is refused as on every non-GET method.
  const h = await t.req("HEAD", "/v2/keys/k?wait=true");
  assert.is(h.status, 400);
  assert.is(h.body, "");
});

s("serveKeys() 100 Key not found names the first missing component", async () => {
  const t = setup();
  let r = await t.req("GET", "/v2/keys/_etcd/machines");
  assert.is(r.status, 404);
  assert.equal(r.headers, errHeaders(3));
  assert.is(r.body, '{"errorCode":100,"message":"Key not found","cause":"/_etcd","index":3}\n');
  r = await t.req("PUT", "/v2/keys/missing?prevExist=true", "value=1");
  assert.is(r.status, 404);
  assert.is(r.body, '{"errorCode":100,"message":"Key not found","cause":"/missing","index":3}\n');
});

s("serveKeys() §1: the body wins over the query; DELETE, JSON and text/plain bodies are ignored", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/b?value=q", "value=body");
  assert.match(r.body, /"value":"body"/);
  r = await t.req("PUT", "/v2/keys/b?value=q&value=q2", "x=1");
  assert.match(r.body, /"value":"q"/);
  r = await t.req("PUT", "/v2/keys/j", '{"value":"x"}', "application/json");
  assert.match(r.body, /"key":"\/j","value":""/);
  r = await t.req("PUT", "/v2/keys/p", "value=x", "text/plain");
  assert.match(r.body, /"key":"\/p","value":""/);
  r = await t.req("PUT", "/v2/keys/n", "value=x", null); // no content type (node-etcd's mkdir)
  assert.match(r.body, /"key":"\/n","value":""/);
  await t.req("PUT", "/v2/keys/d", "value=right");
  r = await t.req("DELETE", "/v2/keys/d", "prevValue=wrong");
  assert.is(r.status, 200);
  assert.match(r.body, /^\{"action":"delete"/);
  r = await t.req("PUT", "/v2/keys/cs", "value=x", "application/x-www-form-urlencoded; charset=UTF-8");
  assert.match(r.body, /"value":"x"/);
});

s("serveKeys() §1: Go JSON escaping and one \\ufffd per invalid UTF-8 byte", async () => {
  const t = setup();
  const body: Uint8Array<ArrayBuffer> = new Uint8Array([...new TextEncoder().encode("value="), 0xff, 0xfe, 0x3c, 0x62, 0x3e, 0xe2, 0x80, 0xa8]);
  let r = await t.req("PUT", "/v2/keys/u", body);
  assert.is(r.body, '{"action":"set","node":{"key":"/u","value":"\\ufffd\\ufffd\\u003cb\\u003e\\u2028","modifiedIndex":4,"createdIndex":4}}\n');
  r = await t.req("PUT", "/v2/keys/u2", "value=" + encodeURIComponent("café & ="));
  assert.match(r.body, /"value":"café \\u0026 ="/);
  r = await t.req("PUT", "/v2/keys/u3", "value=%FF%FE%E2%80x");
  assert.match(r.body, /"value":"\\ufffd\\ufffd\\ufffd\\ufffdx"/);
  r = await t.req("PUT", "/v2/keys/k%FF", "value=1");
  assert.match(r.body, /"key":"\/k\\ufffd"/);
});

s("serveKeys() keys that differ only in invalid bytes are distinct keys, sorted by byte", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/utf/k%FF", "value=x");
  assert.is(r.status, 201);
  r = await t.req("PUT", "/v2/keys/utf/k%C3", "value=truncated");
  assert.is(r.status, 201); // a new key, not an overwrite of /utf/k%FF
  assert.is(r.body, '{"action":"set","node":{"key":"/utf/k\\ufffd","value":"truncated","modifiedIndex":5,"createdIndex":5}}\n');
  r = await t.req("PUT", "/v2/keys/utf/k%C3%A9", "value=e"); // "ké": C3 A9, after C3 alone, before FF
  r = await t.req("GET", "/v2/keys/utf/k%FF");
  assert.match(r.body, /"value":"x"/);
  r = await t.req("GET", "/v2/keys/utf?sorted=true");
  assert.is(
    r.body,
    '{"action":"get","node":{"key":"/utf","dir":true,"nodes":[' +
      '{"key":"/utf/k\\ufffd","value":"truncated","modifiedIndex":5,"createdIndex":5},' +
      '{"key":"/utf/k\u00e9","value":"e","modifiedIndex":6,"createdIndex":6},' +
      '{"key":"/utf/k\\ufffd","value":"x","modifiedIndex":4,"createdIndex":4}' +
      '],"modifiedIndex":4,"createdIndex":4}}\n',
  );
});

s("serveKeys() writes a genuine U+FFFD raw and compares prevValue as bytes", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/r", "value=%EF%BF%BD");
  assert.is(r.body, '{"action":"set","node":{"key":"/r","value":"\ufffd","modifiedIndex":4,"createdIndex":4}}\n');
  // The invalid byte 0xFF also prints as U+FFFD, but it is not the value's bytes.
  r = await t.req("PUT", "/v2/keys/r?prevValue=%FF", "value=y");
  assert.is(r.status, 412);
  assert.is(r.body, '{"errorCode":101,"message":"Compare failed","cause":"[\\ufffd != \ufffd]","index":4}\n');
  r = await t.req("PUT", "/v2/keys/r?prevValue=%EF%BF%BD", "value=y");
  assert.is(r.status, 200);
});

s("serveKeys() §1: the path is percent-decoded and a trailing slash names the same key", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/sp%20ace", "value=1");
  assert.match(r.body, /"key":"\/sp ace"/);
  r = await t.req("PUT", "/v2/keys/a%3Fb", "value=1");
  assert.match(r.body, /"key":"\/a\?b"/);
  r = await t.req("GET", "/v2/keys/a%3Fb/");
  assert.match(r.body, /^\{"action":"get","node":\{"key":"\/a\?b"/);
  r = await t.req("PUT", "/v2/keys/plus+sign", "value=1");
  assert.match(r.body, /"key":"\/plus\+sign"/);
});

s("serveKeys() HEAD has the GET headers with Content-Length and no body; a missing key is 404", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/h", "value=1");
  const get = await t.req("GET", "/v2/keys/h");
  let r = await t.req("HEAD", "/v2/keys/h");
  assert.is(r.status, 200);
  assert.is(r.body, "");
  assert.equal(r.headers, { ...get.headers, "content-length": String(get.body.length) });
  r = await t.req("HEAD", "/v2/keys/nokey");
  assert.is(r.status, 404);
  assert.is(r.body, "");
  assert.equal(r.headers, { ...errHeaders(4), "content-length": "71" });
});

s("serveKeys() quorum=true waits for a linearizable read, overrides wait, and maps a failed read to 300", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/q", "value=1");
  let r = await t.req("GET", "/v2/keys/q?quorum=true&wait=true");
  assert.is(r.status, 200);
  assert.is(r.body, '{"action":"get","node":{"key":"/q","value":"1","modifiedIndex":4,"createdIndex":4}}\n');
  t.deps.failReads = "node/no-leader";
  r = await t.req("GET", "/v2/keys/q?quorum=true");
  assert.is(r.status, 500);
  assert.is(r.body, '{"errorCode":300,"message":"Raft Internal Error","cause":"etcdserver: no leader","index":0}\n');
});

s("serveKeys() refuses a value over valueBytesMax and a body over requestBodyBytesMax with 210", async () => {
  const t = setup({ valueBytesMax: 8, api: { requestBodyBytesMax: 64 } });
  let r = await t.req("PUT", "/v2/keys/big", "value=123456789");
  assert.is(r.status, 400);
  assert.is(r.body, '{"errorCode":210,"message":"Invalid POST form","cause":"etcdserver: request is too large","index":0}\n');
  r = await t.req("PUT", "/v2/keys/big", "value=12345678");
  assert.is(r.status, 201);
  r = await t.req("PUT", "/v2/keys/big", "value=" + "x".repeat(100));
  assert.is(r.status, 400);
  assert.is(r.body, '{"errorCode":210,"message":"Invalid POST form","cause":"http: POST too large","index":0}\n');
  // A streamed body without Content-Length is bounded too.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("value=" + "y".repeat(100)));
      c.close();
    },
  });
  const res = await t.api.fetch(new Request("http://x/v2/keys/big", { method: "PUT", body: stream, headers: { "content-type": FORM }, duplex: "half" } as RequestInit));
  assert.is(res.status, 400);
  assert.match(await res.text(), /http: POST too large/);
});

s("serveKeys() refuses a TTL whose expiration Go could not encode (past year 9999) with 202", async () => {
  const t = setup();
  let r = await t.req("PUT", "/v2/keys/t", "value=1&ttl=999999999999");
  assert.is(r.status, 400);
  assert.is(r.body, '{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \\"ttl\\"","index":0}\n');
  r = await t.req("PUT", "/v2/keys/t", "value=1&ttl=31536000000"); // 1000 years: fine
  assert.is(r.status, 201);
  assert.match(r.body, /"expiration":"3026-/);
});

s("serveKeys() unknown parameters are ignored, as Go's handler ignores them", async () => {
  const t = setup();
  const r = await t.req("PUT", "/v2/keys/x?bogus=%41&other", "value=1&more=2");
  assert.is(r.status, 201);
});

s("serveKeys() stats count gets, sets and failures", async () => {
  const t = setup();
  await t.req("PUT", "/v2/keys/a", "value=1");
  await t.req("GET", "/v2/keys/a");
  await t.req("GET", "/v2/keys/missing");
  await t.req("PUT", "/v2/keys/a", "value=1&prevExist=false");
  await t.req("PUT", "/v2/keys/a", "value=2&prevValue=1");
  await t.req("DELETE", "/v2/keys/a?prevIndex=99");
  const r = await t.req("GET", "/v2/stats/store");
  assert.is(r.body, '{"getsSuccess":1,"getsFail":1,"setsSuccess":1,"setsFail":0,"deleteSuccess":0,"deleteFail":0,"updateSuccess":0,"updateFail":0,"createSuccess":0,"createFail":1,"compareAndSwapSuccess":1,"compareAndSwapFail":0,"compareAndDeleteSuccess":0,"compareAndDeleteFail":1,"expireCount":0,"watchers":0}');
  assert.equal(r.headers, { ...CORS, "content-type": "application/json" });
});

s("keys replies take X-Raft-* from raftPosition() and never call status() (the leader's progress map)", async () => {
  const t = setup();
  const before = t.deps.statusCalls;
  assert.is((await t.req("PUT", "/v2/keys/a", "value=1")).status, 201);
  assert.is((await t.req("POST", "/v2/keys/q", "value=1")).status, 201);
  const get = await t.req("GET", "/v2/keys/a");
  assert.is(get.headers["x-raft-index"], String(t.deps.raftIndex));
  assert.is((await t.req("GET", "/v2/keys/missing")).status, 404);
  assert.is((await t.req("PUT", "/v2/keys/a?prevValue=2", "value=3")).status, 412);
  assert.is((await t.req("DELETE", "/v2/keys/a")).status, 200);
  assert.is((await t.req("GET", "/v2/members")).status, 200);
  assert.is(t.deps.statusCalls, before);
});

s.run();
