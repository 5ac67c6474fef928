// What routing /v2/keys through hono would cost next to the raw fast path, measured in process:
// GET /v2/keys/foo through createApi's fetch (the raw path), and through a hono app that routes
// /v2/keys to that same fetch (the extra hono dispatch a hono-routed /v2/keys would pay, on top of
// the same front and handler). Rounds alternate; the median round is printed in µs per request.
// Usage: `npx deno run -A bench/api_router.ts [requests per round]` (or `npx tsx ...`).
// Must not open sockets or write files.

import { Hono } from "hono";
import { createFakeApi, createFakeDeps } from "../tests/api/fake_deps.ts";

const n = Number(process.argv[2] ?? 100_000);
const rounds = 7;
const deps = createFakeDeps();
const api = createFakeApi(deps);
await api.fetch(new Request("http://127.0.0.1:2379/v2/keys/foo", {
  method: "PUT",
  body: "value=bar",
  headers: { "content-type": "application/x-www-form-urlencoded" },
}));

const hono = new Hono({ strict: true });
hono.all("/v2/keys", (c) => api.fetch(c.req.raw));
hono.all("/v2/keys/*", (c) => api.fetch(c.req.raw));
// The other v2 and cluster routes, so the router holds as many routes as the real app.
for (const p of ["/v2/members", "/v2/members/*", "/v2/machines", "/v2/stats/self", "/v2/stats/leader", "/v2/stats/store", "/version", "/health", "/v1/cluster/status"]) {
  hono.all(p, (c) => api.fetch(c.req.raw));
}

const req = () => new Request("http://127.0.0.1:2379/v2/keys/foo");

async function round(fetch: (r: Request) => Response | Promise<Response>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const res = await fetch(req());
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  }
  return ((performance.now() - t0) * 1000) / n;
}

const raw = (r: Request) => api.fetch(r);
const routed = (r: Request) => hono.fetch(r);
await round(raw);
await round(routed);
const a: number[] = [];
const b: number[] = [];
for (let i = 0; i < rounds; i++) {
  a.push(await round(raw));
  b.push(await round(routed));
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const ra = median(a);
const rb = median(b);
const runtime = typeof (globalThis as { Deno?: unknown }).Deno === "object" ? "deno" : `node ${process.version}`;
console.log(
  `${runtime}: GET /v2/keys/foo, ${n} requests x ${rounds} rounds (median): raw ${ra.toFixed(2)} µs, ` +
    `through hono ${rb.toFixed(2)} µs (+${(rb - ra).toFixed(2)} µs, +${((rb / ra - 1) * 100).toFixed(0)}%)`,
);
