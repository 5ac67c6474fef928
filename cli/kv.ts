// `coreplane kv get|set|mk|mkdir|rm|rmdir|ls|update|watch`: etcdctl v2 (3.4.23) in requests,
// output (-o simple|json|extended), error lines ("Error:  <code>: <message> (<cause>) [<index>]")
// and exit codes, against any v2 server (coreplane or etcd) over fetch.
// Must not hold server logic, and must not differ from etcdctl's output without saying why here:
// no GET /v2/members endpoint sync (the endpoints given are used as they are, as with --no-sync),
// and a value must be given on the command line (etcdctl can also read it from stdin).

import { goJsonString } from "../api/mod.ts";
import { intFlag, parseFlags, strFlag, UsageError, type FlagValues } from "./args.ts";
import { ConnectionError, endpointsOf, type HttpReply, request } from "./http.ts";
import { type CliIo, ExitCode } from "./io.ts";

const REQUEST_TIMEOUT_MS = 2000;

const USAGE = `Usage: coreplane kv [global flags] <command> [flags] <key> [value]

etcdctl v2 commands against the v2 keys API.

Commands:
  get <key>               print a key's value       (--quorum, --sort)
  set <key> <value>       set a key                 (--ttl, --swap-with-value, --swap-with-index)
  mk <key> <value>        create a key that must not exist (--ttl, --in-order)
  mkdir <key>             create a directory        (--ttl)
  rm <key>                remove a key              (--dir, -r/--recursive, --with-value, --with-index)
  rmdir <key>             remove an empty directory
  ls [key]                list a directory          (-r/--recursive, -p, --sort, --quorum)
  update <key> <value>    update an existing key    (--ttl)
  watch <key>             wait for a change, print it (--forever, -r/--recursive, --after-index)

Global flags (before or after the command):
  --endpoints URLS        comma-separated [COREPLANE_ENDPOINTS, default http://127.0.0.1:2379]
  -o, --output FORMAT     simple (default), json or extended
  --timeout MS            per-request timeout in milliseconds (default ${REQUEST_TIMEOUT_MS}; not for watch)

Exit codes: 0 ok, 1 bad arguments, 2 cannot connect, 4 the server answered an error.
Run "coreplane kv <command> --help" for a command's flags.
`;

const GLOBAL = {
  endpoints: { type: "string" },
  output: { type: "string", short: "o" },
  timeout: { type: "string" },
} as const;

interface Sub {
  readonly args: string;
  readonly about: string;
  readonly flags: Record<string, { type: "string" | "boolean"; short?: string; help: string }>;
  readonly positionals: readonly [number, number];
  run(c: Ctx): Promise<number>;
}

interface Ctx {
  readonly io: CliIo;
  readonly values: FlagValues;
  readonly pos: string[];
  readonly endpoints: string[];
  readonly output: "simple" | "json" | "extended";
  readonly timeoutMs: number;
}

// ---------------------------------------------------------------------------------------------
// The Go client's view of a reply, and etcdctl's printing

interface GoNode {
  key?: string;
  dir?: boolean;
  value?: string;
  nodes?: GoNode[];
  createdIndex?: number;
  modifiedIndex?: number;
  expiration?: string;
  ttl?: number;
}

interface GoResponse {
  action: string;
  node?: GoNode;
  prevNode?: GoNode;
  /** X-Etcd-Index */
  index: number;
}

/** json.Marshal of the Go client's Node: every field but dir, expiration and ttl always present. */
function nodeJson(n: GoNode): string {
  let out = `{"key":${goJsonString(n.key ?? "")}`;
  if (n.dir) out += `,"dir":true`;
  out += `,"value":${goJsonString(n.value ?? "")}`;
  out += `,"nodes":${n.nodes && n.nodes.length > 0 ? "[" + n.nodes.map(nodeJson).join(",") + "]" : "null"}`;
  out += `,"createdIndex":${n.createdIndex ?? 0},"modifiedIndex":${n.modifiedIndex ?? 0}`;
  if (n.expiration !== undefined) out += `,"expiration":${goJsonString(n.expiration)}`;
  if (n.ttl) out += `,"ttl":${n.ttl}`;
  return out + "}";
}

function responseJson(r: GoResponse): string {
  return `{"action":${goJsonString(r.action)},"node":${r.node ? nodeJson(r.node) : "null"},"prevNode":${r.prevNode ? nodeJson(r.prevNode) : "null"}}`;
}

/** etcdctl's printResponseKey. */
function printResponse(c: Ctx, r: GoResponse): void {
  const node = r.node ?? {};
  switch (c.output) {
    case "simple":
      if (r.action !== "delete") c.io.out(`${node.value ?? ""}\n`);
      else c.io.out(`PrevNode.Value: ${r.prevNode?.value ?? ""}\n`);
      return;
    case "extended": {
      let out = `Key: ${node.key ?? ""}\nCreated-Index: ${node.createdIndex ?? 0}\nModified-Index: ${node.modifiedIndex ?? 0}\n`;
      if (r.prevNode) out += `PrevNode.Value: ${r.prevNode.value ?? ""}\n`;
      out += `TTL: ${node.ttl ?? 0}\nIndex: ${r.index}\n`;
      if (r.action !== "delete") out += `\n${node.value ?? ""}\n`;
      c.io.out(out);
      return;
    }
    case "json":
      c.io.out(responseJson(r) + "\n");
      return;
  }
}

/** A reply as the Go client sees it: a response, or an error printed the etcdctl way (exit 4). */
function decodeReply(c: Ctx, reply: HttpReply): GoResponse | number {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(reply.body);
  } catch {
    c.io.err(`Error:  ${reply.endpoint} answered HTTP ${reply.status} with a body that is not JSON: ${reply.body.slice(0, 200)}\n`);
    return ExitCode.serverError;
  }
  if (typeof body.errorCode === "number") {
    c.io.err(`Error:  ${body.errorCode}: ${body.message ?? ""} (${body.cause ?? ""}) [${body.index ?? 0}]\n`);
    return ExitCode.serverError;
  }
  if (reply.status >= 300 || typeof body.action !== "string") {
    c.io.err(`Error:  ${reply.endpoint} answered HTTP ${reply.status}: ${reply.body.trim().slice(0, 200)}\n`);
    return ExitCode.serverError;
  }
  return {
    action: body.action as string,
    node: body.node as GoNode | undefined,
    prevNode: body.prevNode as GoNode | undefined,
    index: Number(reply.headers.get("x-etcd-index") ?? 0),
  };
}

/** "/foo" -> "/v2/keys/foo", each segment escaped as the Go client does. */
function keyPath(key: string): string {
  const k = key.startsWith("/") ? key : "/" + key;
  return "/v2/keys" + k.split("/").map((s) => encodeURIComponent(s)).join("/");
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s === "" ? "" : "?" + s;
}

async function call(c: Ctx, method: string, key: string, params: Record<string, string | undefined>, form?: URLSearchParams): Promise<GoResponse | number> {
  const reply = await request(c.endpoints, { method, path: keyPath(key) + query(params), form, timeoutMs: c.timeoutMs });
  return decodeReply(c, reply);
}

function ttlForm(c: Ctx, value: string | undefined): URLSearchParams {
  const f = new URLSearchParams();
  const ttl = intFlag(c.values, "ttl", 0);
  if (ttl !== undefined && ttl > 0) f.set("ttl", String(ttl));
  if (value !== undefined) f.set("value", value);
  return f;
}

// ---------------------------------------------------------------------------------------------
// The commands

const TTL = { type: "string" as const, help: "key time-to-live in seconds" };

const SUBS: Record<string, Sub> = {
  get: {
    args: "<key>",
    about: "Prints the value of a key. On a directory it says so and exits 1.",
    flags: { quorum: { type: "boolean", short: "q", help: "linearizable read (through the leader)" }, sort: { type: "boolean", help: "sort the result" } },
    positionals: [1, 1],
    async run(c) {
      const r = await call(c, "GET", c.pos[0], { quorum: String(Boolean(c.values.quorum)), recursive: "false", sorted: String(Boolean(c.values.sort)) });
      if (typeof r === "number") return r;
      if (r.node?.dir && c.output === "simple") {
        c.io.err(`${r.node.key ?? ""}: is a directory\n`);
        return ExitCode.usage;
      }
      printResponse(c, r);
      return ExitCode.ok;
    },
  },
  set: {
    args: "<key> <value>",
    about: "Sets the value of a key (creating it, or replacing it; compare-and-swap with --swap-with-*).",
    flags: {
      ttl: TTL,
      "swap-with-value": { type: "string", help: "only if the current value is this" },
      "swap-with-index": { type: "string", help: "only if the current modified index is this" },
    },
    positionals: [2, 2],
    async run(c) {
      const swapIndex = intFlag(c.values, "swap-with-index", 0);
      const r = await call(c, "PUT", c.pos[0], {
        prevValue: strFlag(c.values, "swap-with-value"),
        prevIndex: swapIndex ? String(swapIndex) : undefined,
      }, ttlForm(c, c.pos[1]));
      if (typeof r === "number") return r;
      printResponse(c, r);
      return ExitCode.ok;
    },
  },
  mk: {
    args: "<key> <value>",
    about: "Creates a key that must not exist yet; with --in-order, a new key in directory <key>.",
    flags: { ttl: TTL, "in-order": { type: "boolean", help: "create an in-order key under the directory <key> (POST)" } },
    positionals: [2, 2],
    async run(c) {
      const r = c.values["in-order"]
        ? await call(c, "POST", c.pos[0], {}, ttlForm(c, c.pos[1]))
        : await call(c, "PUT", c.pos[0], { prevExist: "false" }, ttlForm(c, c.pos[1]));
      if (typeof r === "number") return r;
      printResponse(c, r);
      return ExitCode.ok;
    },
  },
  mkdir: {
    args: "<key>",
    about: "Creates a directory that must not exist yet. Prints nothing in simple output.",
    flags: { ttl: TTL },
    positionals: [1, 1],
    async run(c) {
      const r = await call(c, "PUT", c.pos[0], { dir: "true", prevExist: "false" }, ttlForm(c, undefined));
      if (typeof r === "number") return r;
      if (c.output !== "simple") printResponse(c, r);
      return ExitCode.ok;
    },
  },
  rm: {
    args: "<key>",
    about: 'Removes a key and prints "PrevNode.Value: <old value>".',
    flags: {
      dir: { type: "boolean", help: "remove an empty directory or a key" },
      recursive: { type: "boolean", short: "r", help: "remove a directory and everything below it" },
      "with-value": { type: "string", help: "only if the current value is this" },
      "with-index": { type: "string", help: "only if the current modified index is this" },
    },
    positionals: [1, 1],
    async run(c) {
      const withIndex = intFlag(c.values, "with-index", 0);
      const r = await call(c, "DELETE", c.pos[0], {
        dir: c.values.dir ? "true" : undefined,
        recursive: c.values.recursive ? "true" : undefined,
        prevValue: strFlag(c.values, "with-value"),
        prevIndex: withIndex ? String(withIndex) : undefined,
      });
      if (typeof r === "number") return r;
      if (!r.node?.dir || c.output !== "simple") printResponse(c, r);
      return ExitCode.ok;
    },
  },
  rmdir: {
    args: "<key>",
    about: "Removes an empty directory. Prints nothing in simple output.",
    flags: {},
    positionals: [1, 1],
    async run(c) {
      const r = await call(c, "DELETE", c.pos[0], { dir: "true" });
      if (typeof r === "number") return r;
      if (!r.node?.dir || c.output !== "simple") printResponse(c, r);
      return ExitCode.ok;
    },
  },
  ls: {
    args: "[key]",
    about: "Lists a directory's keys, one per line (a key that is not a directory prints itself).",
    flags: {
      recursive: { type: "boolean", short: "r", help: "list everything below, depth first" },
      p: { type: "boolean", short: "p", help: 'append "/" to directories' },
      sort: { type: "boolean", help: "sort the keys" },
      quorum: { type: "boolean", short: "q", help: "linearizable read" },
    },
    positionals: [0, 1],
    async run(c) {
      const r = await call(c, "GET", c.pos[0] ?? "/", {
        quorum: String(Boolean(c.values.quorum)),
        recursive: String(Boolean(c.values.recursive)),
        sorted: String(Boolean(c.values.sort)),
      });
      if (typeof r === "number") return r;
      if (c.output !== "simple") {
        printResponse(c, r);
        return ExitCode.ok;
      }
      let out = "";
      const p = Boolean(c.values.p);
      const walk = (n: GoNode) => {
        out += n.dir && p ? `${n.key ?? ""}/\n` : `${n.key ?? ""}\n`;
        for (const x of n.nodes ?? []) walk(x);
      };
      if (!r.node?.dir) out += `${r.node?.key ?? ""}\n`;
      for (const x of r.node?.nodes ?? []) walk(x);
      c.io.out(out);
      return ExitCode.ok;
    },
  },
  update: {
    args: "<key> <value>",
    about: "Updates a key that must exist.",
    flags: { ttl: TTL },
    positionals: [2, 2],
    async run(c) {
      const r = await call(c, "PUT", c.pos[0], { prevExist: "true" }, ttlForm(c, c.pos[1]));
      if (typeof r === "number") return r;
      printResponse(c, r);
      return ExitCode.ok;
    },
  },
  watch: {
    args: "<key>",
    about: 'Waits for the next change of a key and prints it; with -r, "[action] key" first. Directory events are skipped.',
    flags: {
      forever: { type: "boolean", short: "f", help: "keep watching until interrupted" },
      "after-index": { type: "string", help: "watch for changes after this etcd index" },
      recursive: { type: "boolean", short: "r", help: "watch everything below the key" },
    },
    positionals: [1, 1],
    async run(c) {
      const recursive = Boolean(c.values.recursive);
      const after = intFlag(c.values, "after-index", 0) ?? 0;
      let waitIndex = after > 0 ? after + 1 : 0;
      for (;;) {
        const reply = await request(c.endpoints, {
          method: "GET",
          path: keyPath(c.pos[0]) + query({ recursive: String(recursive), wait: "true", waitIndex: String(waitIndex) }),
        });
        // An empty 200 means "watch again" (the server ended the long poll).
        if (reply.status === 200 && reply.body.trim() === "") continue;
        const r = decodeReply(c, reply);
        if (typeof r === "number") return r;
        waitIndex = (r.node?.modifiedIndex ?? waitIndex) + 1;
        if (r.node?.dir) continue;
        if (recursive) c.io.out(`[${r.action}] ${r.node?.key ?? ""}\n`);
        printResponse(c, r);
        if (!c.values.forever) return ExitCode.ok;
      }
    },
  },
};

function subHelp(name: string, s: Sub): string {
  const lines = [`Usage: coreplane kv [global flags] ${name} [flags] ${s.args}`, "", s.about, ""];
  for (const [k, f] of Object.entries(s.flags)) {
    lines.push(`  ${f.short ? `-${f.short}, ` : ""}--${k}${f.type === "string" ? " VALUE" : ""}`.padEnd(32) + f.help);
  }
  lines.push("", "Global flags: --endpoints URLS, -o/--output simple|json|extended, --timeout MS");
  return lines.join("\n") + "\n";
}

/** The subcommand: the first argument that is neither a flag nor a global flag's value. */
function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  const takesValue = new Set(["--endpoints", "--output", "-o", "--timeout"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (takesValue.has(a)) i++;
      continue;
    }
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

export async function runKv(argv: string[], io: CliIo): Promise<number> {
  const { name, rest } = splitCommand(argv);
  if (name === undefined || name === "help") {
    const help = rest.includes("--help") || rest.includes("-h") || name === "help";
    if (help) io.out(USAGE);
    else io.err(USAGE);
    return help ? ExitCode.ok : ExitCode.usage;
  }
  const sub = SUBS[name];
  if (!sub) {
    io.err(`coreplane kv: unknown command "${name}"\n\n${USAGE}`);
    return ExitCode.usage;
  }
  try {
    const options = Object.fromEntries(Object.entries(sub.flags).map(([k, f]) => [k, f.short ? { type: f.type, short: f.short } : { type: f.type }]));
    const { values, positionals } = parseFlags(rest, { ...GLOBAL, ...options });
    if (values.help) {
      io.out(subHelp(name, sub));
      return ExitCode.ok;
    }
    const [min, max] = sub.positionals;
    if (positionals.length < min) throw new UsageError(`${name} needs ${sub.args}`);
    if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`);
    const output = strFlag(values, "output") ?? "simple";
    if (output !== "simple" && output !== "json" && output !== "extended") {
      throw new UsageError(`--output must be simple, json or extended, not "${output}"`);
    }
    const c: Ctx = {
      io,
      values,
      pos: positionals,
      endpoints: endpointsOf(strFlag(values, "endpoints"), io.env),
      output,
      timeoutMs: intFlag(values, "timeout", 1) ?? REQUEST_TIMEOUT_MS,
    };
    return await sub.run(c);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`coreplane kv ${name}: ${e.message}\nRun "coreplane kv ${name} --help" for the flags.\n`);
      return ExitCode.usage;
    }
    if (e instanceof ConnectionError) {
      io.err(`Error:  ${e.message}\n`);
      return ExitCode.badConnection;
    }
    throw e;
  }
}
