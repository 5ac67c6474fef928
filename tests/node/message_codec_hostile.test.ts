// Well-formed but hostile peer messages against a real RawNode (tests/node/message_codec_hostile.ts):
// through decodeMessages and log/message_guard.ts, as node/node.ts #onPeerMessages takes them, no
// message may trip an assert of the core (which stops the member). The quick CI version; the long
// seeded run is in message_codec_fuzz.abuse.ts.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AssertionError } from "../../internal/assert.ts";
import { refusePeerMessage } from "../../log/message_guard.ts";
import { MessageType } from "../../log/types.ts";
import { arbScenario, runScenario, type Scenario } from "./message_codec_hostile.ts";
import { Network } from "../log/network.ts";
import { msg } from "../log/helpers.ts";

const s = suite("node/message_codec hostile messages");

s("a heartbeat whose commit is beyond our log is refused, not an assert", () => {
  const net = new Network(["1", "2", "3"]);
  net.campaign("1");
  const hb = msg({ type: MessageType.Heartbeat, from: "9", to: "2", term: net.raw("2").raft.term, commit: 100 });
  assert.ok(refusePeerMessage(net.raw("2"), hb));
  assert.throws(() => net.raw("2").step(hb), (e: unknown) => e instanceof AssertionError, "unguarded, the core asserts");
});

s("an append acknowledged beyond the leader's log is refused, not an assert", () => {
  const net = new Network(["1", "2", "3"]);
  net.campaign("1");
  const ack = msg({ type: MessageType.AppResp, from: "2", to: "1", term: net.raw("1").raft.term, index: 100 });
  assert.ok(refusePeerMessage(net.raw("1"), ack));
  assert.throws(() => { net.raw("1").step(ack); net.stabilize(); }, (e: unknown) => e instanceof AssertionError, "unguarded, the core asserts");
});

s("a read index answer from anyone but the leader in its term is refused", () => {
  const net = new Network(["1", "2", "3"]);
  net.campaign("1");
  const term = net.raw("2").raft.term;
  assert.ok(refusePeerMessage(net.raw("2"), msg({ type: MessageType.ReadIndexResp, from: "3", to: "2", term, index: 1 })));
  assert.is(refusePeerMessage(net.raw("2"), msg({ type: MessageType.ReadIndexResp, from: "1", to: "2", term, index: 1 })), undefined);
});

s("a correct cluster's traffic is never refused", () => {
  const net = new Network(["1", "2", "3"]);
  const refused: string[] = [];
  const orig = net.deliver.bind(net);
  net.deliver = () => orig((m) => {
    const why = refusePeerMessage(net.raw(m.to), m);
    if (why) refused.push(why);
    return true;
  });
  net.campaign("1");
  for (let i = 0; i < 20; i++) net.propose("1", `v${i}`);
  net.tickAll(30);
  net.stabilize();
  net.campaign("2");
  net.propose("2", "after");
  assert.equal(refused, []);
});

const check = (sc: Scenario) => {
  const r = runScenario(sc);
  if (r) throw new Error(`${r.error.message} (after ${JSON.stringify(r.msg ?? "network traffic")})`);
};

s("property: random well-formed messages never trip an assert of the core", () => {
  fc.assert(fc.property(arbScenario, check), { numRuns: 1000 });
});

s.run();
