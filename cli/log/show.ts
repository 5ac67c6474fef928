// The plain words every offline log tool prints with, whatever the service: a time, a quoted
// string, a command as its type and fields. A service's own words live in its view (kv_view.ts).
// Must not name a service.

/** An entry's time (the proposing member's clock) as ISO 8601, "-" when there is none. */
export function isoTime(ms: number | undefined): string {
  return ms === undefined ? "-" : new Date(ms).toISOString();
}

/** A string as JSON ("" for none), so spaces and control characters stay visible. */
export function quote(s: string | undefined): string {
  return s === undefined ? "" : JSON.stringify(s);
}

/**
 * A command in one line: its type, then every field that is set, as `name=value` (`name` alone for
 * true). `lead` lists fields a view has already shown after the type; they are not repeated.
 */
export function commandFields(c: object, lead = "", shown: readonly string[] = []): string {
  const o = c as Record<string, unknown>;
  let out = String(o.type ?? "?") + lead;
  for (const [k, v] of Object.entries(o)) {
    if (k === "type" || shown.includes(k) || v === undefined || v === null || v === false) continue;
    out += v === true ? ` ${k}` : ` ${k}=${typeof v === "string" ? quote(v) : JSON.stringify(v)}`;
  }
  return out;
}
