// etcd v2 /v2/members (list, leader, add, update, remove) and /v2/machines, with etcd's bodies,
// status codes and error texts; a membership change goes through deps (the log) before the reply.
// Must not do I/O; must not read deps.status() but for /v2/members/leader (the cluster id is the context's).

import type { MemberInfo } from "../deps.ts";
import { parseMemberCreateRequest } from "./member_request.ts";
import { goJsonString } from "./json.ts";
import { apiErrors, memberFailureReply, methodNotAllowedReply } from "../errors.ts";
import { baseHeaders, errorResponse, reply } from "../http.ts";
import { type EtcdV2Context, JSON_TYPE, jsonOk, readBody, TEXT_TYPE } from "./context.ts";

const MEMBERS_ALLOW = "GET,POST,DELETE,PUT";
const MEMBERS_PREFIX = "/v2/members";

function memberJson(m: MemberInfo): string {
  return '{"id":' + goJsonString(m.id) + ',"name":' + goJsonString(m.name) + ',"peerURLs":' +
    stringArrayJson(m.peerURLs) + ',"clientURLs":' + stringArrayJson(m.clientURLs) + "}";
}

function stringArrayJson(a: readonly string[]): string {
  let out = "[";
  for (let i = 0; i < a.length; i++) out += (i === 0 ? "" : ",") + goJsonString(a[i]);
  return out + "]";
}

/** Member ids compare as 64-bit numbers (etcd sorts members by ID). */
function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** types.IDFromString: ParseUint(s, 16, 64), printed back as lowercase hex without padding. */
function parseMemberId(s: string): string | undefined {
  if (!/^[0-9a-fA-F]+$/.test(s)) return undefined;
  const t = s.toLowerCase().replace(/^0+/, "");
  if (t.length > 16) return undefined;
  return t === "" ? "0" : t;
}

/** /v2/members and /v2/members/...: `path` is the decoded clean path. */
export async function serveMembers(ctx: EtcdV2Context, req: Request, origin: string | null, path: string): Promise<Response> {
  const method = req.method;
  if (method !== "GET" && method !== "POST" && method !== "DELETE" && method !== "PUT") {
    return errorResponse(origin, methodNotAllowedReply(), method === "HEAD", { allow: MEMBERS_ALLOW });
  }
  const deps = ctx.deps;
  const cid = { "x-etcd-cluster-id": ctx.clusterId };
  let sub = path.slice(MEMBERS_PREFIX.length);
  if (sub.startsWith("/")) sub = sub.slice(1);
  if (method === "GET") {
    if (sub === "") {
      const ms = [...deps.members()].sort((a, b) => compareIds(a.id, b.id));
      let body = '{"members":[';
      for (let i = 0; i < ms.length; i++) body += (i === 0 ? "" : ",") + memberJson(ms[i]);
      body += "]}\n";
      return jsonOk(origin, body, cid);
    }
    if (sub === "leader") {
      const leader = deps.status().leader;
      const m = leader === "" ? undefined : deps.members().find((x) => x.id === leader);
      if (m === undefined) return errorResponse(origin, apiErrors.duringElection(), false, cid);
      return jsonOk(origin, memberJson(m) + "\n", cid);
    }
    return errorResponse(origin, apiErrors.memberPathNotFound(), false, cid);
  }
  if (method === "POST") {
    let ct = req.headers.get("content-type") ?? "";
    const semi = ct.indexOf(";");
    if (semi >= 0) ct = ct.slice(0, semi).trim().toLowerCase();
    if (ct !== "application/json") return errorResponse(origin, apiErrors.badMembersContentType(ct), false, cid);
    // Validate as etcd does before its AddMember: JSON and URLs (400), a peer URL in use (409).
    const body = await readBody(req, ctx.requestBodyBytesMax);
    if (body === undefined) return errorResponse(origin, apiErrors.badMemberRequest("http: request body too large"), false, cid);
    if (typeof body === "string") return errorResponse(origin, apiErrors.badMemberRequest(body), false, cid);
    const parsed = parseMemberCreateRequest(body);
    if (!parsed.ok) return errorResponse(origin, apiErrors.badMemberRequest(parsed.message), false, cid);
    const inUse = new Set<string>();
    for (const m of deps.members()) for (const u of m.peerURLs) inUse.add(u);
    if (parsed.peerURLs.some((u) => inUse.has(u))) return errorResponse(origin, apiErrors.peerUrlExists(), false, cid);
    try {
      const m = await deps.addMember(parsed.peerURLs);
      const h = baseHeaders(origin);
      h["content-type"] = JSON_TYPE;
      Object.assign(h, cid);
      return new Response(memberJson(m) + "\n", { status: 201, headers: h });
    } catch (e) {
      return errorResponse(origin, memberFailureReply(e, ""), false, cid);
    }
  }
  // PUT and DELETE name a member.
  if (sub === "") return errorResponse(origin, methodNotAllowedReply(), false, cid);
  const id = parseMemberId(sub);
  if (id === undefined || !deps.members().some((m) => m.id === id)) {
    return errorResponse(origin, apiErrors.noSuchMember(id ?? sub), false, cid);
  }
  try {
    if (method === "DELETE") {
      await deps.removeMember(id);
    } else {
      let ct = req.headers.get("content-type") ?? "";
      const semi = ct.indexOf(";");
      if (semi >= 0) ct = ct.slice(0, semi).trim().toLowerCase();
      if (ct !== "application/json") return errorResponse(origin, apiErrors.badMembersContentType(ct), false, cid);
      const body = await readBody(req, ctx.requestBodyBytesMax);
      if (body === undefined) return errorResponse(origin, apiErrors.badMemberRequest("http: request body too large"), false, cid);
      if (typeof body === "string") return errorResponse(origin, apiErrors.badMemberRequest(body), false, cid);
      const parsed = parseMemberCreateRequest(body);
      if (!parsed.ok) return errorResponse(origin, apiErrors.badMemberRequest(parsed.message), false, cid);
      const inUse = new Set<string>();
      for (const m of deps.members()) if (m.id !== id) for (const u of m.peerURLs) inUse.add(u);
      if (parsed.peerURLs.some((u) => inUse.has(u))) return errorResponse(origin, apiErrors.peerUrlExists(), false, cid);
      await deps.updateMember(id, parsed.peerURLs);
    }
  } catch (e) {
    return errorResponse(origin, memberFailureReply(e, id), false, cid);
  }
  const h = baseHeaders(origin);
  Object.assign(h, cid);
  return new Response(null, { status: 204, headers: h });
}

/** /v2/machines: every member's client URLs, sorted, joined with ", ", as plain text. */
export function serveMachines(ctx: EtcdV2Context, req: Request, origin: string | null): Response {
  const method = req.method;
  const head = method === "HEAD";
  if (method !== "GET" && !head) return errorResponse(origin, methodNotAllowedReply(), false, { allow: "GET,HEAD" });
  const urls: string[] = [];
  for (const m of ctx.deps.members()) urls.push(...m.clientURLs);
  urls.sort();
  const h = baseHeaders(origin);
  h["content-type"] = TEXT_TYPE;
  return reply(200, h, urls.join(", "), head);
}
