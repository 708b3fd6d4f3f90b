/**
 * Strict JSON: RFC 8259 parsing that refuses duplicate member names, exactly or case-insensitively.
 *
 * Why: the gateway judges a request body with JavaScript semantics, but the upstream executes it
 * with its own. Azure Resource Manager (.NET) binds member names case-insensitively and lets the
 * last duplicate win; JSON.parse is case-sensitive and keeps only the last exact duplicate. So
 * `{"properties":{"publicNetworkAccess":"Disabled","PublicNetworkAccess":"Enabled"}}` shows policy
 * "Disabled" while Azure executes "Enabled". A body that holds two members whose names fold equal
 * (`foldMemberName`) in the same object, at any depth, has no single meaning and is refused.
 *
 * Trusts: nothing about the input; `text` may be anything, `bytes` may be invalid UTF-8.
 * Guarantees:
 * - `ok: true` only for exactly one RFC 8259 value (whitespace = space, tab, LF, CR) with no
 *   fold-duplicate member names and no more than `maxDepth` (default 64) nested containers; the
 *   value is what JSON.parse returns for the same text (a member named `__proto__` is an own data
 *   property; numbers round as JSON.parse; escaped lone surrogates are kept, as JSON.parse does).
 * - `ok: false` otherwise, with `path` an RFC 6901 pointer: for a duplicate, the second member;
 *   for too_deep, the container that would be too deep; for invalid_json, the container being
 *   parsed ('' at the top level). `path` holds member names in full (truncate it before logging);
 *   `detail` gives an offset and what was expected, and may quote a member name (truncated to 64
 *   code points); it never quotes a member value or a character of the input, since values (and
 *   what is being mistyped) may be secrets.
 * - No recursion: the parser keeps its own stack, so 100000 nested `[` cost a too_deep, never a
 *   RangeError; time is linear in the input (a 256 KiB deployment parses in about 3 ms on Node,
 *   some 4x JSON.parse).
 * `parseStrictJsonBytes` decodes UTF-8 fatally and refuses a leading byte order mark, which RFC
 * 8259 forbids senders to add and lets parsers ignore (so the upstream may read past it).
 */

export type StrictJsonFailureReason = 'invalid_json' | 'duplicate_member' | 'too_deep';

export type StrictJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: StrictJsonFailureReason; path: string; detail: string };

export interface StrictJsonOptions {
  /** Most containers ('{' or '[') that may be open at once; a scalar at the top is depth 0. */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 64;

/**
 * The key under which two member names count as duplicates. It errs towards refusing: it must
 * equate every pair .NET's `StringComparison.OrdinalIgnoreCase` equates (which uppercases each
 * character with the Unicode simple mapping, so ı U+0131 and ſ U+017F match I and S), and it
 * also equates more (NFKC compatibility forms: K U+212A, fullwidth ｐ, ℌ; lone surrogates with
 * U+FFFD, as a decoder that replaces them would see them). Refusing a body whose names differ
 * only that way costs a client a rename; missing one costs a policy bypass.
 *
 * Why it is sound: JavaScript's toUpperCase is context-free and, for every code point, agrees on
 * a character and its simple uppercase mapping (checked against the Unicode Character Database),
 * so names that .NET equates have equal toUpperCase; everything after is a function of that.
 * The case-and-NFKC step runs twice because once is not idempotent (ϒ U+03D2, ᴬ U+1D2C).
 */
export function foldMemberName(name: string): string {
  if (isAscii(name)) return name.toLowerCase(); // the same answer, faster
  const wellFormed = hasSurrogate(name) ? name.replace(LONE_SURROGATE, '\ufffd') : name;
  const once = foldOnce(wellFormed);
  if (once === wellFormed) return once; // already a fixed point
  return isAscii(once) ? once.toLowerCase() : foldOnce(once);
}

/**
 * The name of the member of `object` that `name` means to an upstream that binds names as Azure
 * does: `name` itself when present, else the one whose name folds equal, else undefined. (In a body
 * parsed here, at most one member per folded name exists.)
 */
export function memberNamed(object: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(object, name)) return name;
  const wanted = foldMemberName(name);
  for (const key of Object.keys(object)) if (foldMemberName(key) === wanted) return key;
  return undefined;
}

export function parseStrictJson(text: string, options?: StrictJsonOptions): StrictJsonResult {
  return parse(text, options, (offset) => `at char ${offset}`);
}

export function parseStrictJsonBytes(bytes: ArrayBuffer | Uint8Array, options?: StrictJsonOptions): StrictJsonResult {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (view[0] === 0xef && view[1] === 0xbb && view[2] === 0xbf) {
    return { ok: false, reason: 'invalid_json', path: '', detail: 'byte order mark at byte 0 is not allowed' };
  }
  let text: string;
  try {
    text = UTF8.decode(view);
  } catch {
    return { ok: false, reason: 'invalid_json', path: '', detail: 'body is not valid UTF-8' };
  }
  // Offsets in bytes, for a reader holding the bytes.
  return parse(text, options, (offset) => `at byte ${utf8Length(text, offset)}`);
}

// ignoreBOM keeps a U+FEFF in the text (the parser refuses it) instead of dropping it silently.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NAME_QUOTE_LIMIT = 64;

function parse(
  text: string,
  options: StrictJsonOptions | undefined,
  describeOffset: (offset: number) => string,
): StrictJsonResult {
  const maxDepth = readMaxDepth(options);
  try {
    return { ok: true, value: new Parser(text, maxDepth).parseDocument() };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const at = error.offset === undefined ? '' : ` ${describeOffset(error.offset)}`;
    const end = error.offset === text.length ? ' (end of input)' : '';
    return { ok: false, reason: error.reason, path: error.path, detail: `${error.detail}${at}${end}` };
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function foldOnce(name: string): string {
  return name.toUpperCase().toLowerCase().normalize('NFKC');
}

function hasSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xf800) === 0xd800) return true;
  return false;
}

function readMaxDepth(options: StrictJsonOptions | undefined): number {
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!(Number.isInteger(maxDepth) && maxDepth >= 0)) throw new RangeError('maxDepth must be a non-negative integer');
  return maxDepth;
}

function utf8Length(text: string, end: number): number {
  let length = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      length += 4; // decoded from valid UTF-8, so a high surrogate is always paired
      i++;
    } else length += 3;
  }
  return length;
}

/** Thrown inside the parser, turned into a result by parse(); offset is where the text went wrong. */
class Refusal {
  readonly reason: StrictJsonFailureReason;
  readonly path: string;
  readonly detail: string;
  readonly offset: number | undefined;

  constructor(reason: StrictJsonFailureReason, path: string, detail: string, offset?: number) {
    this.reason = reason;
    this.path = path;
    this.detail = detail;
    this.offset = offset;
  }
}

interface ObjectFrame {
  readonly object: Record<string, unknown>;
  readonly seen: Map<string, string>; // folded name → name as first written
  key: string; // the member whose value is being parsed
}

type Frame = ObjectFrame | unknown[];

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const BOM = 0xfeff;

// Looked up by one character, so no Object.prototype member can answer.
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** One pass over one document; throws Refusal, caught by parse(). */
class Parser {
  private readonly text: string;
  private readonly maxDepth: number;
  private readonly stack: Frame[] = [];
  private pos = 0;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  parseDocument(): unknown {
    const { text, stack } = this;
    let value: unknown;
    for (;;) {
      // Expect a value; containers are opened here and filled by the loop below.
      this.skipWhitespace();
      const c = text.charCodeAt(this.pos);
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (stack.length >= this.maxDepth) {
          throw new Refusal(
            'too_deep',
            this.pointer(stack.length),
            `more than ${this.maxDepth} nested containers`,
            this.pos,
          );
        }
        this.pos++;
        this.skipWhitespace();
        if (c === OPEN_BRACE) {
          const frame: ObjectFrame = { object: {}, seen: new Map(), key: '' };
          if (text.charCodeAt(this.pos) !== CLOSE_BRACE) {
            stack.push(frame);
            this.parseMemberName(frame);
            continue;
          }
          this.pos++;
          value = frame.object;
        } else {
          const array: unknown[] = [];
          if (text.charCodeAt(this.pos) !== CLOSE_BRACKET) {
            stack.push(array);
            continue;
          }
          this.pos++;
          value = array;
        }
      } else {
        value = this.parseScalar(c);
      }
      // A value is complete: store it, then close every container that ends here.
      for (;;) {
        const frame = stack.at(-1);
        if (frame === undefined) {
          this.skipWhitespace();
          if (this.pos < text.length) this.fail('expected end of input');
          return value;
        }
        if (Array.isArray(frame)) frame.push(value);
        else defineMember(frame.object, frame.key, value);
        this.skipWhitespace();
        const next = text.charCodeAt(this.pos);
        this.pos++;
        if (next === COMMA) {
          if (!Array.isArray(frame)) {
            this.skipWhitespace();
            this.parseMemberName(frame);
          }
          break;
        }
        if (next !== (Array.isArray(frame) ? CLOSE_BRACKET : CLOSE_BRACE)) {
          this.pos--;
          this.fail(Array.isArray(frame) ? "expected ',' or ']'" : "expected ',' or '}'");
        }
        stack.pop();
        value = Array.isArray(frame) ? frame : frame.object;
      }
    }
  }

  /** Reads `"name" :` into the frame, refusing a name that folds onto an earlier one. */
  private parseMemberName(frame: ObjectFrame): void {
    if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail('expected a member name');
    const name = this.parseString();
    const folded = foldMemberName(name);
    const first = frame.seen.get(folded);
    if (first !== undefined) {
      const how = first === name ? 'repeats' : `folds onto ${quoteName(first)}`;
      throw new Refusal(
        'duplicate_member',
        `${this.pointer(this.stack.length - 1)}/${escapePointerToken(name)}`,
        `member name ${quoteName(name)} ${how} in the same object`,
      );
    }
    frame.seen.set(folded, name);
    frame.key = name;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== COLON) this.fail("expected ':' after a member name");
    this.pos++;
  }

  private parseScalar(c: number): unknown {
    if (c === QUOTE) return this.parseString();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.parseNumber();
    if (this.text.startsWith('true', this.pos)) return this.literal(4, true);
    if (this.text.startsWith('false', this.pos)) return this.literal(5, false);
    if (this.text.startsWith('null', this.pos)) return this.literal(4, null);
    return this.fail(c === BOM ? 'byte order mark is not allowed' : 'expected a value');
  }

  private literal<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  /** At the opening quote; returns the decoded string and leaves pos after the closing quote. */
  private parseString(): string {
    const { text } = this;
    let start = ++this.pos;
    let decoded = '';
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === QUOTE) {
        const value = decoded + text.slice(start, this.pos);
        this.pos++;
        return value;
      }
      if (c === BACKSLASH) {
        decoded += text.slice(start, this.pos) + this.parseEscape();
        start = this.pos;
      } else if (c < SPACE || Number.isNaN(c)) {
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character in string');
      } else {
        this.pos++;
      }
    }
  }

  /** At a backslash; returns what the escape stands for and leaves pos after it. */
  private parseEscape(): string {
    const { text } = this;
    const kind = text.charAt(this.pos + 1);
    const simple = SIMPLE_ESCAPES[kind];
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    if (kind === 'u') {
      const hex = text.slice(this.pos + 2, this.pos + 6);
      if (/^[0-9a-fA-F]{4}$/.test(hex)) {
        this.pos += 6;
        return String.fromCharCode(Number.parseInt(hex, 16));
      }
    }
    return this.fail('invalid escape in string');
  }

  /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? then Number(), which rounds as JSON.parse. */
  private parseNumber(): number {
    const { text } = this;
    const start = this.pos;
    if (text.charCodeAt(this.pos) === MINUS) this.pos++;
    if (text.charCodeAt(this.pos) === ZERO) this.pos++;
    else this.digits();
    if (text.charCodeAt(this.pos) === DOT) {
      this.pos++;
      this.digits();
    }
    const e = text.charCodeAt(this.pos) | 0x20; // 'E' → 'e'
    if (e === 0x65) {
      this.pos++;
      const sign = text.charCodeAt(this.pos);
      if (sign === PLUS || sign === MINUS) this.pos++;
      this.digits();
    }
    return Number(text.slice(start, this.pos));
  }

  private digits(): void {
    const start = this.pos;
    while (isDigit(this.text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === start) this.fail('expected a digit');
  }

  private skipWhitespace(): void {
    const { text } = this;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return;
      this.pos++;
    }
  }

  /** The pointer of the container at `depth` (0 = the document itself). */
  private pointer(depth: number): string {
    let pointer = '';
    for (let i = 0; i < depth; i++) {
      const parent = this.stack[i];
      if (parent === undefined) break;
      pointer += `/${Array.isArray(parent) ? parent.length : escapePointerToken(parent.key)}`;
    }
    return pointer;
  }

  private fail(expected: string): never {
    throw new Refusal('invalid_json', this.pointer(this.stack.length - 1), expected, this.pos);
  }
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** As JSON.parse: every member an own, enumerable, writable data property, `__proto__` included. */
function defineMember(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function quoteName(name: string): string {
  const codePoints = Array.from(name);
  const shown = codePoints.length > NAME_QUOTE_LIMIT ? `${codePoints.slice(0, NAME_QUOTE_LIMIT).join('')}…` : name;
  return JSON.stringify(shown);
}
