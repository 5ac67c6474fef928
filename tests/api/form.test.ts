// Unit tests for api/form.ts: Go ParseForm order and errors, ParseBool, ParseUint.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseGoBool, parseGoForm, parseGoUint, queryBytes } from "../../api/form.ts";

const s = suite("api/form");
const enc = new TextEncoder();

function form(query: string, body?: string) {
  return parseGoForm(queryBytes(query), body === undefined ? null : enc.encode(body));
}

s("parseGoForm() lets the body win and keeps the first of repeated names", () => {
  const r = form("value=q&ttl=5&value=q2", "value=b&value=b2");
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.form.get("value"), "b");
  assert.is(r.form.get("ttl"), "5");
});

s("parseGoForm() unescapes %XX and + and keeps names without '='", () => {
  const r = form("a=x+y%20z&flag&=skip&&b=%E2%82%AC");
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.form.get("a"), "x y z");
  assert.is(r.form.get("flag"), "");
  assert.is(r.form.get(""), "skip");
  assert.is(r.form.get("b"), "€");
});

s("parseGoForm() gives Go's escape error texts, the body's first", () => {
  assert.equal(form("x=%zz"), { ok: false, cause: 'invalid URL escape "%zz"' });
  assert.equal(form("x=%"), { ok: false, cause: 'invalid URL escape "%"' });
  assert.equal(form("x=%zz", "value=%z"), { ok: false, cause: 'invalid URL escape "%z"' });
  assert.equal(form("x=%zz&%zy=1"), { ok: false, cause: 'invalid URL escape "%zz"' });
});

s("parseGoForm() rejects ';' separators, and that error overrides an earlier escape error", () => {
  assert.equal(form("a=x;y"), { ok: false, cause: "invalid semicolon separator in query" });
  assert.equal(form("x=%zz&y=1;2"), { ok: false, cause: "invalid semicolon separator in query" });
});

s("parseGoForm() keeps each invalid UTF-8 byte as an escaped byte", () => {
  const r = form("value=%FF%FE%E2%80x");
  assert.ok(r.ok);
  if (r.ok) assert.is(r.form.get("value"), "\ufdd0\u00ff\ufdd0\u00fe\ufdd0\u00e2\ufdd0\u0080x");
});

s("parseGoBool() accepts exactly strconv.ParseBool's spellings", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) assert.is(parseGoBool(t), true);
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) assert.is(parseGoBool(f), false);
  for (const x of ["", "yes", "tRUE", " true"]) assert.is(parseGoBool(x), undefined);
});

s("parseGoUint() is ParseUint(s, 10, 64)", () => {
  assert.is(parseGoUint("0"), 0);
  assert.is(parseGoUint("007"), 7);
  assert.is(parseGoUint("18446744073709551615"), 18446744073709551615);
  assert.is(parseGoUint("000000000000000000000001"), 1);
  for (const x of ["", "-1", "+1", "1_000", "abc", "1.5", "18446744073709551616"]) assert.is(parseGoUint(x), undefined);
});

s.run();
