// The fault proxy on its own, with fake members (plain TCP servers that answer a CPRAFT handshake with
// "OK" and echo everything after it): forwarding both ways, symmetric partitions, one-way cuts that
// also break live connections, reject and black-hole modes, unknown sources, the etcd-style HTTP
// classification, delay, and the child-process control channel. Fast (about a second).
// Must not start real members.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import { classify, FaultProxy, startProxyProcess } from "../helpers/fault_proxy.ts";
import { freePorts } from "../helpers/ports.ts";

const IDS: Record<string, number> = { a1: 0, b2: 1, c3: 2 };
const idOf = (i: number) => Object.keys(IDS)[i];
/** Fresh from the OS before each test: fake members 0-2, their proxy ports, two spare. */
let ports: number[] = [];
const memberPort = (i: number) => ports[i];
const proxyPort = (i: number) => ports[3 + i];
const sparePort = (i: number) => ports[6 + i];

/** A fake member: after the first line it answers OK and echoes. */
function fakeMember(port: number): Promise<Server> {
  const server = createServer((s) => {
    s.on("error", () => {});
    let first = true;
    s.on("data", (d: Buffer) => {
      if (first) {
        first = false;
        const nl = d.indexOf(10);
        s.write("OK\n");
        if (nl >= 0 && nl + 1 < d.length) s.write(d.subarray(nl + 1));
        return;
      }
      s.write(d);
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

interface Client {
  sock: Socket;
  /** Everything received so far. */
  text(): string;
  closed(): boolean;
  waitFor(s: string, ms?: number): Promise<boolean>;
  waitClosed(ms?: number): Promise<boolean>;
}

function dial(port: number, first: string): Promise<Client> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1" });
    let buf = "";
    let isClosed = false;
    sock.on("data", (d) => (buf += d.toString("latin1")));
    sock.on("error", () => {});
    sock.on("close", () => (isClosed = true));
    const poll = async (cond: () => boolean, ms: number) => {
      const until = Date.now() + ms;
      while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return cond();
    };
    sock.on("connect", () => {
      sock.write(first);
      resolve({
        sock,
        text: () => buf,
        closed: () => isClosed,
        waitFor: (s, ms = 1000) => poll(() => buf.includes(s), ms),
        waitClosed: (ms = 1000) => poll(() => isClosed, ms),
      });
    });
  });
}

const hello = (from: number, to: number) => `CPRAFT/1 msg ${idOf(from)} ${idOf(to)} cafe\n`;

const s = suite("cluster/fault_proxy");
let servers: Server[] = [];
let proxy: FaultProxy;

s.before.each(async () => {
  ports = await freePorts(8);
  servers = await Promise.all([0, 1, 2].map((i) => fakeMember(memberPort(i))));
  proxy = new FaultProxy();
  for (const i of [0, 1, 2]) await proxy.add({ index: i, listenPort: proxyPort(i), targetPort: memberPort(i) });
  proxy.setIds(IDS);
});

s.after.each(async () => {
  await proxy.close();
  await Promise.all(servers.map((sv) => new Promise<void>((r) => sv.close(() => r()))));
});

s("forwards a CPRAFT connection both ways", async () => {
  const c = await dial(proxyPort(1), hello(0, 1) + "ping");
  assert.ok(await c.waitFor("OK\nping"), `got ${JSON.stringify(c.text())}`);
  c.sock.write("more");
  assert.ok(await c.waitFor("pingmore"));
  assert.equal(proxy.stats().forwarded[1], 1);
  c.sock.destroy();
});

s("a one-way cut breaks the live connection, refuses new ones, and leaves the other direction alone", async () => {
  const live = await dial(proxyPort(1), hello(0, 1));
  assert.ok(await live.waitFor("OK"));
  const back = await dial(proxyPort(0), hello(1, 0));
  assert.ok(await back.waitFor("OK"));
  proxy.cut(0, 1);
  assert.ok(await live.waitClosed(), "the live 0->1 connection was not broken");
  const again = await dial(proxyPort(1), hello(0, 1));
  assert.ok(await again.waitClosed(), "a new 0->1 connection was not refused");
  assert.not.ok(again.text().includes("OK"));
  back.sock.write("still");
  assert.ok(await back.waitFor("still"), "1->0 stopped working");
  assert.not.ok(back.closed());
  const st = proxy.stats();
  assert.equal(st.broken[1], 1);
  assert.equal(st.blocked[1], 1);
  proxy.heal();
  const healed = await dial(proxyPort(1), hello(0, 1));
  assert.ok(await healed.waitFor("OK"));
  for (const c of [back, healed]) c.sock.destroy();
});

s("a channel cut stops only that channel", async () => {
  const app = await dial(proxyPort(1), `CPRAFT/1 app ${idOf(0)} ${idOf(1)} cafe\n`);
  const msg = await dial(proxyPort(1), hello(0, 1));
  assert.ok(await app.waitFor("OK"));
  assert.ok(await msg.waitFor("OK"));
  proxy.cut(0, 1, "app");
  assert.ok(await app.waitClosed(), "the app connection survived its cut");
  msg.sock.write("beat");
  assert.ok(await msg.waitFor("beat"), "the msg connection stopped");
  assert.equal(proxy.cutEdges(), ["0>1:app"]);
  msg.sock.destroy();
});

s("partition: both directions between groups are cut, inside a group nothing is", async () => {
  proxy.partition([[0], [1, 2]]);
  assert.equal(proxy.cutEdges(), ["0>1", "0>2", "1>0", "2>0"]);
  const a = await dial(proxyPort(0), hello(1, 0));
  const b = await dial(proxyPort(2), hello(1, 2));
  assert.ok(await a.waitClosed());
  assert.ok(await b.waitFor("OK"));
  b.sock.destroy();
});

s("unknown sources pass unless the destination is cut off from everyone", async () => {
  const u = await dial(proxyPort(1), "GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.ok(await u.waitFor("OK"), "unknown source was not forwarded");
  proxy.cut(0, 1);
  const u2 = await dial(proxyPort(1), "GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.ok(await u2.waitFor("OK"), "unknown source blocked although 2 may still send to 1");
  proxy.isolate(1);
  assert.ok(await u.waitClosed(), "live unknown-source connection survived isolation");
  const u3 = await dial(proxyPort(1), "garbage\n");
  assert.ok(await u3.waitClosed());
  assert.ok((proxy.stats().unknownSource[1] ?? 0) >= 3);
  u2.sock.destroy();
});

s("black-hole mode keeps a blocked connection open and silent until heal", async () => {
  proxy.setMode("blackhole");
  proxy.cut(2, 0);
  const c = await dial(proxyPort(0), hello(2, 0) + "lost");
  await new Promise((r) => setTimeout(r, 200));
  assert.not.ok(c.closed(), "black-holed connection was closed");
  assert.is(c.text(), "");
  proxy.heal();
  assert.ok(await c.waitClosed(), "heal() did not close the black-holed connection");
});

s("delay holds traffic in order", async () => {
  proxy.setDelay(150);
  const c = await dial(proxyPort(1), hello(0, 1) + "x");
  c.sock.write("y");
  c.sock.write("z");
  // Held: nothing comes back before the delay has passed once each way (a slow machine only delays it more).
  await new Promise((r) => setTimeout(r, 100));
  assert.is(c.text(), "", "data came back before the delay");
  assert.ok(await c.waitFor("OK\nxyz", 3000), `got ${JSON.stringify(c.text())}`);
  c.sock.destroy();
});

s("classifies etcd's peer HTTP by X-Server-From and path", () => {
  const ids = new Map(Object.entries({ a1: 0, b2: 1 }));
  const h = (first: string) => Buffer.from(`${first}\r\nHost: x\r\nX-Server-From: a1\r\n\r\n`);
  assert.equal(classify(h("GET /raft/stream/message/a1 HTTP/1.1"), 1, ids, false)?.edges, [[1, 0]]);
  assert.equal(classify(h("POST /raft HTTP/1.1"), 1, ids, false)?.edges, [[0, 1]]);
  assert.equal(classify(h("POST /raft/snapshot HTTP/1.1"), 1, ids, false)?.edges, [[0, 1]]);
  assert.equal(classify(h("GET /raft/probing HTTP/1.1"), 1, ids, false)?.edges, [[0, 1], [1, 0]]);
  assert.is(classify(Buffer.from("GET /raft HTTP/1.1\r\nHost"), 1, ids, false), undefined, "classified before the head ended");
  assert.is(classify(Buffer.from("CPRAFT/1 msg 00a1 b2 c"), 1, ids, false), undefined, "classified before the line ended");
  assert.equal(classify(Buffer.from("CPRAFT/1 msg 00A1 b2 c\n"), 1, ids, false)?.edges, [[0, 1]]);
  assert.is(classify(Buffer.from("CPRAFT/1 msg ffff b2 c\n"), 1, ids, false)?.from, undefined);
});

s("the child-process proxy is driven over its control channel", async () => {
  const p = await startProxyProcess();
  try {
    await p.add({ index: 5, listenPort: sparePort(0), targetPort: memberPort(0) });
    await p.add({ index: 6, listenPort: sparePort(1), targetPort: memberPort(1) });
    await p.setIds({ dd: 6 });
    const c = await dial(sparePort(0), "CPRAFT/1 app dd a1 x\nhi");
    assert.ok(await c.waitFor("OK\nhi"));
    await p.isolate(6);
    assert.ok(await c.waitClosed());
    const st = await p.stats();
    assert.equal(st.broken[5], 1);
    await p.heal();
  } finally {
    await p.close();
  }
});

s.run();
