// Always-on assertions for broken invariants. A failed assertion is a bug, never an operating
// error: it throws AssertionError, which nothing in the code base catches on purpose.
// Must not be used for bad input or I/O failures; those are typed errors with stable codes.

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function unreachable(value: never, message = "unreachable"): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
