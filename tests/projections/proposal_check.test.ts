// A leader refuses a forwarded proposal whose entries would stop every member on apply (an
// envelope or command that does not decode, a conf change context that does not decode) or that
// speaks for another member or for the leader (another proposer, kv/expire). What api/ and the
// node build always passes. Random commands and random bytes never make the check throw.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encodeCbor } from "../../internal/cbor.ts";
import { encodeEnvelope } from "../../projections/mod.ts";
import { encodeConfChange } from "../../log/conf_change.ts";
import type { Index, Term } from "../../internal/brand.ts";
import { ConfChangeType, type Entry, EntryType } from "../../log/types.ts";
import type { Command } from "../../projections/mod.ts";
import { commandToWire, encodeEntry } from "../../projections/mod.ts";
import { encodeConfChangeContext } from "../../projections/mod.ts";
import { refuseProposal } from "../../projections/mod.ts";

const s = suite("projections/proposal_check");
const FROM = "8e9e05c52164694d";

function normal(data: Uint8Array): Entry {
  return { term: 0 as Term, index: 0 as Index, type: EntryType.Normal, data };
}
function env(command: unknown, proposer = FROM, timeMs = 1_700_000_000_000, requestId = 2 ** 32 + 7): Entry {
  return normal(encodeEnvelope({ timeMs, proposer, requestId, command }));
}
const set: Command = { type: "kv/set", path: "/1/a", value: "v", dir: false, ttlSec: null, refresh: false };

s("what api/ and node/ build passes", () => {
  const good: Command[] = [
    set,
    { type: "kv/set", path: "/1/a", value: "v", dir: false, ttlSec: 5, refresh: true, prevExist: true, prevValue: "x", prevIndex: 3 },
    { type: "kv/create-in-order", path: "/1/q", value: "v", dir: false, ttlSec: null },
    { type: "kv/delete", path: "/1/a", dir: true, recursive: true, prevIndex: 9 },
    { type: "member/attributes", id: FROM, name: "n1", clientURLs: ["http://127.0.0.1:2379"] },
  ];
  for (const c of good) {
    assert.is(refuseProposal([normal(encodeEntry({ timeMs: 5, proposer: FROM, requestId: 1, command: c }))], FROM), undefined, c.type);
  }
  const cc = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: "abc", context: encodeConfChangeContext({ name: "n4", peerURLs: ["http://x:2380"] }) });
  assert.is(refuseProposal([{ term: 0 as Term, index: 0 as Index, type: EntryType.ConfChange, data: cc }, normal(new Uint8Array(0))], FROM), undefined);
});

s("entries that would stop every member on apply are refused", () => {
  const bad = new Uint8Array([1, 0, 0, 0, 0, 0xff]); // a CRC that does not match
  assert.ok(refuseProposal([normal(bad)], FROM));
  assert.ok(refuseProposal([env(42)], FROM), "a command that is neither array nor map");
  assert.ok(refuseProposal([env(["no/such-command", 1, 2])], FROM));
  assert.ok(refuseProposal([env({ type: "kv/set", path: { x: 1 }, value: 3 })], FROM), "map form with wrong field types");
  assert.ok(refuseProposal([env({ type: "member/add", id: "1", name: "x", peerURLs: [] })], FROM));
  const ccBadCtx = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: "abc", context: new Uint8Array([0xff, 0x00]) });
  assert.ok(refuseProposal([{ term: 0 as Term, index: 0 as Index, type: EntryType.ConfChange, data: ccBadCtx }], FROM));
  const ccWrongShape = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: "abc", context: encodeCbor({ a: 1 }) });
  assert.ok(refuseProposal([{ term: 0 as Term, index: 0 as Index, type: EntryType.ConfChange, data: ccWrongShape }], FROM));
});

s("a peer speaks only for itself and never for the leader", () => {
  assert.ok(refuseProposal([env(commandToWire(set), "aaaaaaaaaaaaaaaa")], FROM), "another member's request id");
  assert.ok(refuseProposal([env(commandToWire({ type: "kv/expire" }))], FROM), "expiry with the peer's clock");
  assert.ok(refuseProposal([env(commandToWire(set), FROM, Number.NaN)], FROM));
  assert.ok(refuseProposal([env(commandToWire(set), FROM, 5, -1)], FROM));
  // One bad entry refuses the whole proposal (the core appends a proposal's entries all or none).
  assert.ok(refuseProposal([env(commandToWire(set)), env(42)], FROM));
});

s("random commands and random bytes give an answer, never a throw", () => {
  fc.assert(fc.property(fc.anything(), fc.string(), (cmd, proposer) => {
    const r = refuseProposal([env(cmd, proposer)], FROM);
    assert.ok(r === undefined || typeof r === "string");
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (data, conf) => {
    const r = refuseProposal([{ term: 0 as Term, index: 0 as Index, type: conf ? EntryType.ConfChange : EntryType.Normal, data: conf ? new Uint8Array([1, 0, 1, 0x61, ...data]) : data }], FROM);
    assert.ok(r === undefined || typeof r === "string");
  }), { numRuns: 500 });
});

s.run();
