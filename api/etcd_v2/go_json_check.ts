// Go encoding/json's syntax check (checkValid with its byte-at-a-time scanner, Go 1.19): the
// first syntax error of a JSON text with Go's exact message ("invalid character 'b' looking for
// beginning of object key string", "unexpected end of JSON input", ...). etcd answers a bad
// /v2/members body with that message, so a client sees the same text from us. Like Go, the end
// of input is checked by feeding one space, so "-" ends with "invalid character ' ' in numeric
// literal". Must not decode values (JSON.parse does that once the text is known to be valid).

// Scanner states, named after Go's step functions.
const BEGIN_VALUE_OR_EMPTY = 0, BEGIN_VALUE = 1, BEGIN_STRING_OR_EMPTY = 2, BEGIN_STRING = 3, END_VALUE = 4,
  END_TOP = 5, IN_STRING = 6, IN_STRING_ESC = 7, ESC_U = 8, ESC_U1 = 9, ESC_U12 = 10, ESC_U123 = 11, NEG = 12,
  ONE = 13, ZERO = 14, DOT = 15, DOT0 = 16, E = 17, E_SIGN = 18, E0 = 19, T = 20, TR = 21, TRU = 22, F = 23, FA = 24,
  FAL = 25, FALS = 26, N = 27, NU = 28, NUL = 29;
// What the innermost open structure expects next.
const OBJECT_KEY = 0, OBJECT_VALUE = 1, ARRAY_VALUE = 2;
/** Go's maxNestingDepth. */
const NESTING_DEPTH_MAX = 10000;

const LITERAL_NEXT: Readonly<Record<number, [next: number, want: number, what: string]>> = {
  [T]: [TR, 0x72, "in literal true (expecting 'r')"],
  [TR]: [TRU, 0x75, "in literal true (expecting 'u')"],
  [TRU]: [END_VALUE, 0x65, "in literal true (expecting 'e')"],
  [F]: [FA, 0x61, "in literal false (expecting 'a')"],
  [FA]: [FAL, 0x6c, "in literal false (expecting 'l')"],
  [FAL]: [FALS, 0x73, "in literal false (expecting 's')"],
  [FALS]: [END_VALUE, 0x65, "in literal false (expecting 'e')"],
  [N]: [NU, 0x75, "in literal null (expecting 'u')"],
  [NU]: [NUL, 0x6c, "in literal null (expecting 'l')"],
  [NUL]: [END_VALUE, 0x6c, "in literal null (expecting 'l')"],
};

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Go's quoteChar: the byte as a rune in single quotes, strconv.Quote-escaped. */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  let s: string;
  if (c === 0x5c) s = "\\\\";
  else if (c >= 0x20 && c < 0x7f) s = String.fromCharCode(c);
  else if (c === 0x07) s = "\\a";
  else if (c === 0x08) s = "\\b";
  else if (c === 0x0c) s = "\\f";
  else if (c === 0x0a) s = "\\n";
  else if (c === 0x0d) s = "\\r";
  else if (c === 0x09) s = "\\t";
  else if (c === 0x0b) s = "\\v";
  else if (c < 0x80) s = "\\x" + c.toString(16).padStart(2, "0");
  // U+0080..U+00FF: strconv.IsPrint is false for the C1 controls, NBSP and the soft hyphen.
  else if (c < 0xa1 || c === 0xad) s = "\\u00" + c.toString(16);
  else s = String.fromCharCode(c);
  return "'" + s + "'";
}

/** The first syntax error of `data` as Go's checkValid reports it, or undefined when valid. */
export function goJsonSyntaxError(data: Uint8Array): string | undefined {
  let state = BEGIN_VALUE;
  const stack: number[] = [];
  let endTop = false;
  const err = (c: number, context: string) => "invalid character " + goQuoteChar(c) + " " + context;

  // One scanner step; returns an error message or undefined.
  const step = (c: number): string | undefined => {
    for (;;) {
      switch (state) {
        case BEGIN_VALUE_OR_EMPTY:
          if (isSpace(c)) return undefined;
          if (c === 0x5d) {
            state = END_VALUE;
            continue;
          }
          state = BEGIN_VALUE;
          continue;
        case BEGIN_VALUE:
          if (isSpace(c)) return undefined;
          switch (c) {
            case 0x7b: // {
              if (stack.length >= NESTING_DEPTH_MAX) return "exceeded max depth";
              stack.push(OBJECT_KEY);
              state = BEGIN_STRING_OR_EMPTY;
              return undefined;
            case 0x5b: // [
              if (stack.length >= NESTING_DEPTH_MAX) return "exceeded max depth";
              stack.push(ARRAY_VALUE);
              state = BEGIN_VALUE_OR_EMPTY;
              return undefined;
            case 0x22:
              state = IN_STRING;
              return undefined;
            case 0x2d:
              state = NEG;
              return undefined;
            case 0x30:
              state = ZERO;
              return undefined;
            case 0x74:
              state = T;
              return undefined;
            case 0x66:
              state = F;
              return undefined;
            case 0x6e:
              state = N;
              return undefined;
          }
          if (c >= 0x31 && c <= 0x39) {
            state = ONE;
            return undefined;
          }
          return err(c, "looking for beginning of value");
        case BEGIN_STRING_OR_EMPTY:
          if (isSpace(c)) return undefined;
          if (c === 0x7d) {
            stack[stack.length - 1] = OBJECT_VALUE;
            state = END_VALUE;
            continue;
          }
          state = BEGIN_STRING;
          continue;
        case BEGIN_STRING:
          if (isSpace(c)) return undefined;
          if (c === 0x22) {
            state = IN_STRING;
            return undefined;
          }
          return err(c, "looking for beginning of object key string");
        case END_VALUE: {
          const n = stack.length;
          if (n === 0) {
            state = END_TOP;
            endTop = true;
            continue;
          }
          if (isSpace(c)) return undefined;
          const ps = stack[n - 1];
          if (ps === OBJECT_KEY) {
            if (c === 0x3a) {
              stack[n - 1] = OBJECT_VALUE;
              state = BEGIN_VALUE;
              return undefined;
            }
            return err(c, "after object key");
          }
          if (ps === OBJECT_VALUE) {
            if (c === 0x2c) {
              stack[n - 1] = OBJECT_KEY;
              state = BEGIN_STRING;
              return undefined;
            }
            if (c === 0x7d) return pop();
            return err(c, "after object key:value pair");
          }
          if (c === 0x2c) {
            state = BEGIN_VALUE;
            return undefined;
          }
          if (c === 0x5d) return pop();
          return err(c, "after array element");
        }
        case END_TOP:
          return isSpace(c) ? undefined : err(c, "after top-level value");
        case IN_STRING:
          if (c === 0x22) state = END_VALUE;
          else if (c === 0x5c) state = IN_STRING_ESC;
          else if (c < 0x20) return err(c, "in string literal");
          return undefined;
        case IN_STRING_ESC:
          switch (c) {
            case 0x62: case 0x66: case 0x6e: case 0x72: case 0x74: case 0x5c: case 0x2f: case 0x22: // b f n r t \ / "
              state = IN_STRING;
              return undefined;
            case 0x75:
              state = ESC_U;
              return undefined;
          }
          return err(c, "in string escape code");
        case ESC_U:
        case ESC_U1:
        case ESC_U12:
        case ESC_U123:
          if (!isHex(c)) return err(c, "in \\u hexadecimal character escape");
          state = state === ESC_U123 ? IN_STRING : state + 1;
          return undefined;
        case NEG:
          if (c === 0x30) state = ZERO;
          else if (c >= 0x31 && c <= 0x39) state = ONE;
          else return err(c, "in numeric literal");
          return undefined;
        case ONE:
          if (isDigit(c)) return undefined;
          state = ZERO;
          continue;
        case ZERO:
          if (c === 0x2e) state = DOT;
          else if (c === 0x65 || c === 0x45) state = E;
          else {
            state = END_VALUE;
            continue;
          }
          return undefined;
        case DOT:
          if (!isDigit(c)) return err(c, "after decimal point in numeric literal");
          state = DOT0;
          return undefined;
        case DOT0:
          if (isDigit(c)) return undefined;
          if (c === 0x65 || c === 0x45) {
            state = E;
            return undefined;
          }
          state = END_VALUE;
          continue;
        case E:
          if (c === 0x2b || c === 0x2d) {
            state = E_SIGN;
            return undefined;
          }
          state = E_SIGN;
          continue;
        case E_SIGN:
          if (!isDigit(c)) return err(c, "in exponent of numeric literal");
          state = E0;
          return undefined;
        case E0:
          if (isDigit(c)) return undefined;
          state = END_VALUE;
          continue;
        default: {
          const [next, want, context] = LITERAL_NEXT[state];
          if (c !== want) return err(c, context);
          state = next;
          return undefined;
        }
      }
    }
  };
  const pop = (): undefined => {
    stack.pop();
    if (stack.length === 0) {
      state = END_TOP;
      endTop = true;
    } else state = END_VALUE;
    return undefined;
  };

  for (let i = 0; i < data.length; i++) {
    const e = step(data[i]);
    if (e !== undefined) return e;
  }
  // scanner.eof(): a space ends a pending number or literal; anything still open is truncated.
  if (endTop) return undefined;
  const e = step(0x20);
  if (e !== undefined) return e;
  return endTop ? undefined : "unexpected end of JSON input";
}
