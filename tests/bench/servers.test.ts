// Tests for the pure parts of bench/servers.ts: command lines and ports.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { portsFor, serverCommand } from "../../bench/servers.ts";

const s = suite("bench/servers");

s("serverCommand() starts etcd as one v2-enabled member on the given ports", () => {
  const { cmd, args } = serverCommand({ impl: "etcd", dataDir: "/d", clientPort: 22110, peerPort: 22111 });
  assert.is(cmd, "etcd");
  assert.ok(args.includes("--enable-v2"));
  assert.is(args[args.indexOf("--initial-cluster") + 1], "n1=http://127.0.0.1:22111");
  assert.is(args[args.indexOf("--listen-client-urls") + 1], "http://127.0.0.1:22110");
});

s("serverCommand() starts coreplane through `deno run -A main.ts serve` with etcd's flags", () => {
  const { cmd, args } = serverCommand({ impl: "coreplane", dataDir: "/d", clientPort: 22210, peerPort: 22211 });
  assert.match(cmd, /node_modules\/\.bin\/deno$/);
  assert.equal(args.slice(0, 4), ["run", "-A", "main.ts", "serve"]);
  assert.is(args[args.indexOf("--data-dir") + 1], "/d");
  assert.not.ok(args.includes("--enable-v2"));
});

s("portsFor() keeps both sides inside 22000-22999 and apart", () => {
  const ports = [portsFor("coreplane"), portsFor("etcd")].flatMap((p) => [p.clientPort, p.peerPort]);
  for (const p of ports) assert.ok(p >= 22000 && p <= 22999);
  assert.is(new Set(ports).size, 4);
});

s.run();
