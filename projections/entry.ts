// Commands <-> log entry bytes: the envelope (envelope.ts) around each command's compact wire form,
// which the owning projection defines (commandToWire/commandFromWire). Decoding also takes the older
// map form, and a command of a namespace no projection owns travels as [type, object].
// Must not interpret commands (applier.ts routes them, projections fold them).

import type { Index } from "../internal/mod.ts";
import { CorruptEntryError, decodeEnvelope, encodeEnvelope, type Envelope } from "./envelope.ts";
import { type Command, projectionFor } from "./registry.ts";

export function commandToWire(c: Command): unknown[] {
  const p = projectionFor(c.type);
  // A command no projection here owns travels as its object (only tests and newer versions make one).
  return p ? p.commandToWire(c) : [c.type, c];
}

/** Throws (a TypeError) on a shape no command has; decodeEntry turns that into CorruptEntryError. */
export function commandFromWire(w: unknown): Command {
  if (!Array.isArray(w)) {
    if (w !== null && typeof w === "object" && typeof (w as { type?: unknown }).type === "string") return w as Command; // map form
    throw new TypeError("command is neither an array nor a map with a type");
  }
  const t = w[0];
  if (typeof t !== "string") throw new TypeError(`unknown command wire form ${JSON.stringify(t)}`);
  const p = projectionFor(t);
  if (p) return p.commandFromWire(w) as Command;
  if (w.length === 2 && w[1] !== null && typeof w[1] === "object") return w[1] as Command;
  throw new TypeError(`unknown command wire form ${JSON.stringify(t)}`);
}

export function encodeEntry(env: Envelope<Command>): Uint8Array {
  return encodeEnvelope({ timeMs: env.timeMs, proposer: env.proposer, requestId: env.requestId, command: commandToWire(env.command) });
}

/** Checks the envelope (version, CRC) and decodes the command. Throws CorruptEntryError naming `index`. */
export function decodeEntry(data: Uint8Array, index: Index): Envelope<Command> {
  const env = decodeEnvelope<unknown>(data, index);
  let command: Command;
  try {
    command = commandFromWire(env.command);
  } catch (e) {
    throw new CorruptEntryError(index, (e as Error).message);
  }
  return { timeMs: env.timeMs, proposer: env.proposer, requestId: env.requestId, command };
}
