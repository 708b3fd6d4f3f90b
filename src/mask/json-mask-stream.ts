/**
 * Streaming JSON masking at the byte level: the core of src/mask.
 *
 * Contract (see docs/masking.md):
 * - Exact: every input byte that is not part of a masked value is copied to the output unchanged;
 *   state carries across chunks, so any chunking of the same input (1-byte chunks, splits inside
 *   escapes, `\u` surrogate pairs or multi-byte UTF-8) gives byte-identical output.
 * - Masks the whole value of a member matched by a `keys` pattern or a `paths` JSONPath, and any
 *   string value a detector recognises, replacing it with the style's marker (mask-style.ts).
 * - Validating and fail-closed: input must be RFC 8259 JSON (UTF-8 validated inside strings), one
 *   text or a framed sequence (NDJSON, RFC 7464 JSON text sequences). On malformed or truncated
 *   input `push`/`end` throw `MaskError` and emit nothing from the failing chunk on; a value being
 *   held or masked is never released.
 * - A body of zero bytes (an LRO start's 202, a 200 without content) is empty output, not an error:
 *   there is nothing to mask; whitespace alone is still refused.
 * - Bounded: memory is O(max depth + one held string value), independent of body size. A string
 *   held for detectors or for a `last4`/`hmac` marker is capped (`maxValueBytes`, default 64 KiB
 *   of raw JSON); past the cap it is masked with `"***"`, never passed through.
 * - Reports the number of masked values and their paths (capped), never a value; in NDJSON and
 *   JSON text sequences a path starts with the text's index (`$[2].object.data.password`).
 */
import { couldMatchRaw, type DetectorSet, detect, selectDetectors } from './detectors.ts';
import { PathAutomaton, parseJsonPath, type Segment } from './json-path.ts';
import { compileKeyPatterns, type KeyMatcher } from './key-patterns.ts';
import { REDACTED, styledMarker } from './mask-style.ts';
import type { MaskSpec, MaskStyle } from './spec.ts';

export class MaskError extends Error {
  override readonly name = 'MaskError';
}

/** How JSON texts are framed in the body. */
export type Framing = 'json' | 'ndjson' | 'json-seq';

export interface MaskOptions {
  /** Key for `style: 'hmac'` (bytes of the MASK_HMAC_KEY secret). Required for that style. */
  hmacKey?: Uint8Array;
  /** Cap on a held string value's raw JSON bytes (default 64 KiB); longer values are masked. */
  maxValueBytes?: number;
  /** `json` (one text, default), `ndjson` (texts separated by newlines), `json-seq` (RFC 7464). */
  framing?: Framing;
  /** Maximum nesting depth (default 512); deeper input is refused. */
  maxDepth?: number;
  /** How many masked paths the report keeps (default 100); the count is always exact. */
  maxReportedPaths?: number;
}

export interface MaskReport {
  maskedCount: number;
  /** JSONPath locations of masked values (capped), never the values. */
  maskedPaths: string[];
}

export interface CompiledMask {
  readonly style: MaskStyle;
  readonly hmacKey: Uint8Array | undefined;
  readonly keyMatcher: KeyMatcher | undefined;
  readonly automaton: PathAutomaton | undefined;
  readonly detectors: DetectorSet;
  readonly detectMinBytes: number;
  readonly maxValueBytes: number;
  readonly framing: Framing;
  readonly maxDepth: number;
  readonly maxReportedPaths: number;
}

export type CompileResult = { ok: true; mask: CompiledMask } | { ok: false; reason: string };

/** Validate a MaskSpec and options once; the result is shared by every stream that uses them. */
export function compileMask(spec: MaskSpec, options: MaskOptions = {}): CompileResult {
  const patterns: Segment[][] = [];
  for (const path of spec.paths) {
    const parsed = parseJsonPath(path);
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    patterns.push(parsed.segments);
  }
  if (spec.style === 'hmac' && !(options.hmacKey && options.hmacKey.length > 0)) {
    return { ok: false, reason: 'mask style hmac needs MASK_HMAC_KEY' };
  }
  const detectors = selectDetectors(spec.detectors);
  return {
    ok: true,
    mask: {
      style: spec.style,
      hmacKey: options.hmacKey,
      keyMatcher: compileKeyPatterns(spec.keys),
      automaton: patterns.length > 0 ? new PathAutomaton(patterns) : undefined,
      detectors,
      // Raw JSON bytes ≥ decoded UTF-16 length for ASCII; for non-ASCII a character is ≥ 1 byte.
      detectMinBytes: detectors.minLength,
      maxValueBytes: options.maxValueBytes ?? 64 * 1024,
      framing: options.framing ?? 'json',
      maxDepth: options.maxDepth ?? 512,
      maxReportedPaths: options.maxReportedPaths ?? 100,
    },
  };
}

// Lexer states.
const TOP = 0; // between texts (or before the first)
const VALUE = 1; // a value must start
const ARRAY_FIRST = 2; // after `[`: a value or `]`
const AFTER_VALUE = 3; // `,` or a closing bracket
const OBJECT_FIRST = 4; // after `{`: a name or `}`
const OBJECT_KEY = 5; // after `,` in an object: a name
const COLON = 6;
const STRING = 7;
const ESCAPE = 8;
const UNICODE = 9;
const NUMBER = 10;
const LITERAL = 11;
const BOM = 12;

// Number sub-states (RFC 8259 §6).
const N_SIGN = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_EXP = 5;
const N_EXP_SIGN = 6;
const N_EXP_DIGITS = 7;

const OBJECT = 1;
const ARRAY = 2;
const MAX_NAME_BYTES = 4096;
const EMPTY_STATES: readonly number[] = [];

/** 1 for bytes that may appear unescaped in a string and need no further thought (ASCII). */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 0x80; b++) PLAIN[b] = b === 0x22 || b === 0x5c ? 0 : 1;
const WHITESPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0d]) WHITESPACE[b] = 1;
const DIGIT = new Uint8Array(256);
for (let b = 0x30; b <= 0x39; b++) DIGIT[b] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
const LITERALS = ['true', 'false', 'null'].map((word) => new TextEncoder().encode(word));

const NAME_CACHE_SIZE = 256;

/** Does `a` equal b[from, from + a.length)? */
function sameBytes(a: Uint8Array, b: Uint8Array, from: number): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[from + k]) return false;
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Decode the raw bytes between a string's quotes (already validated) to its value. */
function decodeRaw(raw: Uint8Array): string {
  let ascii = true;
  for (let k = 0; k < raw.length; k++) {
    const b = raw[k] as number;
    if (b >= 0x80 || b === 0x5c) {
      ascii = false;
      break;
    }
  }
  if (ascii && raw.length <= 256) return String.fromCharCode.apply(null, raw as unknown as number[]);
  const text = utf8.decode(raw);
  return text.includes('\\') ? (JSON.parse(`"${text}"`) as string) : text;
}

export class JsonMasker {
  readonly report: MaskReport = { maskedCount: 0, maskedPaths: [] };
  readonly #m: CompiledMask;
  readonly #nameCache: ({ raw: Uint8Array; name: string; keyHit: boolean } | undefined)[] = new Array(NAME_CACHE_SIZE);

  #state = TOP;
  #ready: boolean;
  #seenText = false;
  /** Whether any byte arrived: a body of zero bytes (an LRO's 202, a 200 with no content) has nothing to mask. */
  #sawBytes = false;
  /** Index of the current text in an NDJSON / JSON-seq stream (reported as `$[n]…`). */
  #textIndex = -1;
  #offset = 0;
  #failed = false;

  // Container stack.
  #depth = 0;
  readonly #kinds: Uint8Array;
  readonly #indices: Int32Array;
  readonly #names: (string | undefined)[];
  readonly #pathStates: (readonly number[])[];

  // Strings.
  #inName = false;
  #nameStart = 0;
  #nameBuf = new Uint8Array(256);
  #nameLen = 0;
  #nameOverflow = false;
  #keyHit = false;
  #utf8Need = 0;
  #utf8Lo = 0x80;
  #utf8Hi = 0xbf;
  #hexCount = 0;

  // Scalars.
  #number = N_SIGN;
  #literal = LITERALS[0] as Uint8Array;
  #literalIndex = 0;

  // Output: bytes [#emitFrom, i) of the current chunk are pending; `#dropDepth >= 0` while a
  // masked value is being dropped; `#holding` while a string value is held for a decision.
  #chunk: Uint8Array = new Uint8Array(0);
  #out: Uint8Array[] = [];
  #emitFrom = 0;
  #dropDepth = -1;
  #holding = false;
  #holdMasked = false;
  #holdStart = 0;
  #holdBuf = new Uint8Array(1024);
  #holdLen = 0;
  #valueStates: readonly number[] = EMPTY_STATES;

  constructor(mask: CompiledMask) {
    this.#m = mask;
    this.#ready = mask.framing !== 'json-seq';
    this.#kinds = new Uint8Array(mask.maxDepth + 1);
    this.#indices = new Int32Array(mask.maxDepth + 1);
    this.#names = new Array(mask.maxDepth + 1);
    this.#pathStates = new Array(mask.maxDepth + 1).fill(EMPTY_STATES);
  }

  /** Feed a chunk; returns the bytes to emit (possibly none). Throws MaskError on bad input. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw new MaskError('stream already failed');
    const out: Uint8Array[] = [];
    this.#out = out;
    this.#chunk = chunk;
    this.#emitFrom = 0;
    this.#holdStart = 0;
    this.#nameStart = 0;
    if (chunk.length) this.#sawBytes = true;
    try {
      this.#run(chunk);
      const n = chunk.length;
      if (this.#holding) this.#spillHold(n);
      else if (this.#dropDepth < 0 && this.#emitFrom < n) out.push(chunk.subarray(this.#emitFrom, n));
      if (this.#inName && (this.#state === STRING || this.#state === ESCAPE || this.#state === UNICODE)) {
        this.#appendName(chunk.subarray(this.#nameStart, n));
      }
      this.#offset += n;
    } catch (error) {
      this.#fail(error);
    }
    this.#chunk = new Uint8Array(0);
    return out;
  }

  /** Signal end of input; throws MaskError if the input is incomplete. */
  end(): Uint8Array[] {
    if (this.#failed) throw new MaskError('stream already failed');
    try {
      if (this.#state === NUMBER && this.#depth === 0) {
        if (
          this.#number === N_SIGN ||
          this.#number === N_DOT ||
          this.#number === N_EXP ||
          this.#number === N_EXP_SIGN
        ) {
          this.#error('truncated number', 0);
        }
        this.#afterValue(0);
      }
      if (this.#state !== TOP) this.#error('truncated JSON', 0);
      if (this.#m.framing === 'json' && !this.#seenText && this.#sawBytes) this.#error('empty body', 0);
    } catch (error) {
      this.#fail(error);
    }
    return [];
  }

  #fail(error: unknown): never {
    this.#failed = true;
    this.#holdBuf.fill(0);
    this.#holdLen = 0;
    this.#holding = false;
    throw error instanceof MaskError ? error : new MaskError(`masker failed: ${String(error)}`);
  }

  #error(why: string, at: number): never {
    throw new MaskError(`malformed JSON at byte ${this.#offset + at}: ${why}`);
  }

  #run(c: Uint8Array): void {
    const n = c.length;
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case STRING: {
          if (this.#utf8Need > 0) {
            const b = c[i] as number;
            if (b < this.#utf8Lo || b > this.#utf8Hi) this.#error('invalid UTF-8', i);
            this.#utf8Lo = 0x80;
            this.#utf8Hi = 0xbf;
            this.#utf8Need--;
            i++;
            continue;
          }
          while (i < n && PLAIN[c[i] as number] === 1) i++;
          if (i >= n) return;
          const b = c[i] as number;
          if (b === 0x22) {
            if (this.#inName) this.#endName(c, i);
            else if (this.#holding) this.#endHeld(c, i);
            else this.#afterValue(i + 1);
          } else if (b === 0x5c) {
            this.#state = ESCAPE;
          } else if (b < 0x20) {
            this.#error('control character in string', i);
          } else {
            this.#utf8Lead(b, i);
          }
          i++;
          continue;
        }
        case ESCAPE: {
          const b = c[i] as number;
          if (b === 0x75) {
            this.#hexCount = 0;
            this.#state = UNICODE;
          } else if (SIMPLE_ESCAPE[b] === 1) {
            this.#state = STRING;
          } else {
            this.#error('invalid escape', i);
          }
          i++;
          continue;
        }
        case UNICODE:
          if (HEX[c[i] as number] !== 1) this.#error('invalid \\u escape', i);
          if (++this.#hexCount === 4) this.#state = STRING;
          i++;
          continue;
        case NUMBER:
          i = this.#numberBytes(c, i, n);
          continue;
        case LITERAL:
          if (c[i] !== this.#literal[this.#literalIndex]) this.#error('invalid literal', i);
          i++;
          if (++this.#literalIndex === this.#literal.length) this.#afterValue(i);
          continue;
        case AFTER_VALUE: {
          while (i < n && WHITESPACE[c[i] as number] === 1) i++;
          if (i >= n) return;
          const b = c[i] as number;
          const kind = this.#kinds[this.#depth - 1];
          if (b === 0x2c) {
            if (kind === OBJECT) this.#state = OBJECT_KEY;
            else {
              this.#indices[this.#depth - 1] = (this.#indices[this.#depth - 1] as number) + 1;
              this.#state = VALUE;
            }
          } else if ((b === 0x7d && kind === OBJECT) || (b === 0x5d && kind === ARRAY)) {
            this.#close(i);
          } else {
            this.#error('expected , or a closing bracket', i);
          }
          i++;
          continue;
        }
        case OBJECT_FIRST:
        case OBJECT_KEY: {
          while (i < n && WHITESPACE[c[i] as number] === 1) i++;
          if (i >= n) return;
          const b = c[i] as number;
          if (b === 0x7d && this.#state === OBJECT_FIRST) {
            this.#close(i);
          } else if (b === 0x22) {
            this.#inName = true;
            this.#nameStart = i + 1;
            this.#nameLen = 0;
            this.#nameOverflow = false;
            this.#state = STRING;
          } else {
            this.#error('expected a member name', i);
          }
          i++;
          continue;
        }
        case COLON: {
          while (i < n && WHITESPACE[c[i] as number] === 1) i++;
          if (i >= n) return;
          if (c[i] !== 0x3a) this.#error('expected :', i);
          this.#state = VALUE;
          i++;
          continue;
        }
        case ARRAY_FIRST:
        case VALUE: {
          while (i < n && WHITESPACE[c[i] as number] === 1) i++;
          if (i >= n) return;
          if (this.#state === ARRAY_FIRST && c[i] === 0x5d) {
            this.#close(i);
            i++;
            continue;
          }
          this.#startValue(c, i);
          i++;
          continue;
        }
        case TOP: {
          const b = c[i] as number;
          if (WHITESPACE[b] === 1) {
            if (b === 0x0a && this.#m.framing === 'ndjson') this.#ready = true;
            i++;
            continue;
          }
          if (b === 0x1e && this.#m.framing === 'json-seq') {
            this.#ready = true;
            i++;
            continue;
          }
          if (b === 0xef && this.#offset + i === 0) {
            // A UTF-8 byte order mark at the very start is tolerated and copied (RFC 8259 §8.1).
            this.#state = BOM;
            this.#literalIndex = 1;
            i++;
            continue;
          }
          if (!this.#ready) this.#error('data after the JSON text', i);
          this.#ready = false;
          this.#seenText = true;
          this.#textIndex++;
          this.#startValue(c, i);
          i++;
          continue;
        }
        case BOM:
          if (c[i] !== (this.#literalIndex === 1 ? 0xbb : 0xbf)) this.#error('invalid byte order mark', i);
          if (++this.#literalIndex === 3) this.#state = TOP;
          i++;
          continue;
      }
    }
  }

  #utf8Lead(b: number, i: number): void {
    if (b >= 0xc2 && b <= 0xdf) {
      this.#utf8Need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      this.#utf8Need = 2;
      if (b === 0xe0) this.#utf8Lo = 0xa0;
      else if (b === 0xed) this.#utf8Hi = 0x9f; // no UTF-16 surrogates encoded in UTF-8
    } else if (b >= 0xf0 && b <= 0xf4) {
      this.#utf8Need = 3;
      if (b === 0xf0) this.#utf8Lo = 0x90;
      else if (b === 0xf4) this.#utf8Hi = 0x8f;
    } else {
      this.#error('invalid UTF-8', i);
    }
  }

  /** Process number bytes from i; returns the index of the first byte not consumed. */
  #numberBytes(c: Uint8Array, i: number, n: number): number {
    while (i < n) {
      const b = c[i] as number;
      switch (this.#number) {
        case N_SIGN:
          if (b === 0x30) this.#number = N_ZERO;
          else if (DIGIT[b] === 1) this.#number = N_INT;
          else this.#error('invalid number', i);
          i++;
          continue;
        case N_INT:
        case N_FRAC:
        case N_EXP_DIGITS:
          while (i < n && DIGIT[c[i] as number] === 1) i++;
          if (i >= n) return i;
          if (this.#number === N_EXP_DIGITS) return this.#endNumber(i);
          return this.#numberTail(c[i] as number, i);
        case N_ZERO:
          return this.#numberTail(b, i);
        case N_DOT:
          if (DIGIT[b] !== 1) this.#error('invalid number', i);
          this.#number = N_FRAC;
          i++;
          continue;
        case N_EXP:
          if (b === 0x2b || b === 0x2d) this.#number = N_EXP_SIGN;
          else if (DIGIT[b] === 1) this.#number = N_EXP_DIGITS;
          else this.#error('invalid number', i);
          i++;
          continue;
        case N_EXP_SIGN:
          if (DIGIT[b] !== 1) this.#error('invalid number', i);
          this.#number = N_EXP_DIGITS;
          i++;
          continue;
      }
    }
    return i;
  }

  /** After the integer or fraction part: `.`, an exponent, or the end of the number. */
  #numberTail(b: number, i: number): number {
    if (b === 0x2e && this.#number !== N_FRAC) {
      this.#number = N_DOT;
      return i + 1;
    }
    if (b === 0x65 || b === 0x45) {
      this.#number = N_EXP;
      return i + 1;
    }
    return this.#endNumber(i);
  }

  /** The byte at i is not part of the number: it is processed again in the next state. */
  #endNumber(i: number): number {
    this.#afterValue(i);
    return i;
  }

  /** A value starts with byte c[i]: decide whether it is masked, then begin its token. */
  #startValue(c: Uint8Array, i: number): void {
    const b = c[i] as number;
    if (this.#dropDepth < 0) this.#decide(c, i, b);
    if (b === 0x7b || b === 0x5b) {
      if (this.#depth >= this.#m.maxDepth) this.#error('nesting too deep', i);
      const d = this.#depth++;
      this.#kinds[d] = b === 0x7b ? OBJECT : ARRAY;
      this.#indices[d] = 0;
      this.#names[d] = undefined;
      this.#pathStates[d] = this.#dropDepth < 0 ? this.#valueStates : EMPTY_STATES;
      this.#state = b === 0x7b ? OBJECT_FIRST : ARRAY_FIRST;
    } else if (b === 0x22) {
      this.#inName = false;
      this.#state = STRING;
    } else if (b === 0x2d || DIGIT[b] === 1) {
      this.#number = b === 0x2d ? N_SIGN : b === 0x30 ? N_ZERO : N_INT;
      this.#state = NUMBER;
    } else {
      const literal = b === 0x74 ? LITERALS[0] : b === 0x66 ? LITERALS[1] : b === 0x6e ? LITERALS[2] : undefined;
      if (!literal) this.#error('unexpected character', i);
      this.#literal = literal;
      this.#literalIndex = 1;
      this.#state = LITERAL;
    }
  }

  /** Masking decision for the value starting at c[i] (outside any dropped value). */
  #decide(c: Uint8Array, i: number, b: number): void {
    const m = this.#m;
    const depth = this.#depth;
    let masked = false;
    let states = EMPTY_STATES;
    if (depth === 0) {
      states = m.automaton ? m.automaton.root : EMPTY_STATES;
    } else {
      const isObject = this.#kinds[depth - 1] === OBJECT;
      const parent = this.#pathStates[depth - 1] as readonly number[];
      if (parent.length > 0 && m.automaton) {
        states = m.automaton.step(
          parent,
          isObject ? this.#names[depth - 1] : undefined,
          this.#indices[depth - 1] as number,
        );
        masked = m.automaton.matched;
      }
      if (isObject && this.#keyHit) masked = true;
      this.#keyHit = false;
    }
    this.#valueStates = states;
    if (masked) {
      this.#recordMask();
      if (b === 0x22 && m.style !== 'redact') {
        this.#beginHold(i, true);
      } else {
        this.#beginDrop(c, i, REDACTED.slice());
      }
    } else if (b === 0x22 && m.detectors.detectors.length > 0) {
      this.#beginHold(i, false);
    }
  }

  #beginHold(i: number, masked: boolean): void {
    this.#holding = true;
    this.#holdMasked = masked;
    this.#holdStart = i;
    this.#holdLen = 0;
  }

  #beginDrop(c: Uint8Array, i: number, marker: Uint8Array): void {
    if (i > this.#emitFrom) this.#out.push(c.subarray(this.#emitFrom, i));
    this.#out.push(marker);
    this.#dropDepth = this.#depth;
  }

  /** A value (scalar or container) ended just before index `end` of the current chunk. */
  #afterValue(end: number): void {
    if (this.#dropDepth === this.#depth) {
      this.#dropDepth = -1;
      this.#emitFrom = end;
    }
    this.#state = this.#depth === 0 ? TOP : AFTER_VALUE;
  }

  #close(i: number): void {
    this.#depth--;
    this.#afterValue(i + 1);
  }

  #appendName(bytes: Uint8Array): void {
    if (this.#nameOverflow || this.#dropDepth >= 0) return;
    if (this.#nameLen + bytes.length > MAX_NAME_BYTES) {
      this.#nameOverflow = true;
      return;
    }
    if (this.#nameLen + bytes.length > this.#nameBuf.length) {
      const grown = new Uint8Array(MAX_NAME_BYTES);
      grown.set(this.#nameBuf.subarray(0, this.#nameLen));
      this.#nameBuf = grown;
    }
    this.#nameBuf.set(bytes, this.#nameLen);
    this.#nameLen += bytes.length;
  }

  /** The closing quote of a member name is at c[i]. */
  #endName(c: Uint8Array, i: number): void {
    this.#inName = false;
    this.#state = COLON;
    if (this.#dropDepth >= 0) return;
    // The name's raw bytes are bytes[from, to): in the chunk, or in #nameBuf when it spanned chunks.
    let bytes = c;
    let from = this.#nameStart;
    let to = i;
    if (this.#nameLen > 0 || this.#nameOverflow) {
      this.#appendName(c.subarray(this.#nameStart, i));
      bytes = this.#nameBuf;
      from = 0;
      to = this.#nameLen;
    } else if (to - from > MAX_NAME_BYTES) {
      this.#nameOverflow = true;
    }
    const m = this.#m;
    if (this.#nameOverflow) {
      // A name too long to hold cannot be checked: mask its value if any name rule exists.
      this.#names[this.#depth - 1] = undefined;
      this.#keyHit = m.keyMatcher !== undefined || m.automaton !== undefined;
      return;
    }
    // Member names repeat: a small cache keyed by the raw bytes saves decoding and matching.
    const length = to - from;
    let hash = length;
    for (let k = from; k < to; k++) hash = (Math.imul(hash, 31) + (bytes[k] as number)) | 0;
    const slot = (hash ^ (hash >>> 11)) & (NAME_CACHE_SIZE - 1);
    const cached = this.#nameCache[slot];
    if (cached && cached.raw.length === length && sameBytes(cached.raw, bytes, from)) {
      this.#names[this.#depth - 1] = cached.name;
      this.#keyHit = cached.keyHit;
      return;
    }
    const raw = bytes.subarray(from, to);
    const name = decodeRaw(raw);
    const keyHit = m.keyMatcher?.(name) === true;
    if (raw.length <= 64) this.#nameCache[slot] = { raw: raw.slice(), name, keyHit };
    this.#names[this.#depth - 1] = name;
    this.#keyHit = keyHit;
  }

  /** End of chunk while holding a string: flush what precedes it, keep the rest (capped). */
  #spillHold(n: number): void {
    const c = this.#chunk;
    if (this.#holdStart > this.#emitFrom) this.#out.push(c.subarray(this.#emitFrom, this.#holdStart));
    const part = c.subarray(this.#holdStart, n);
    if (this.#holdLen + part.length > this.#m.maxValueBytes + 1) {
      // Over the cap: mask now (fail closed) and drop the rest of the string.
      this.#releaseHoldBuffer();
      this.#holding = false;
      if (!this.#holdMasked) this.#recordMask();
      this.#out.push(REDACTED.slice());
      this.#dropDepth = this.#depth;
      return;
    }
    if (this.#holdLen + part.length > this.#holdBuf.length) {
      const grown = new Uint8Array(
        Math.min(Math.max(this.#holdBuf.length * 2, this.#holdLen + part.length), this.#m.maxValueBytes + 2),
      );
      grown.set(this.#holdBuf.subarray(0, this.#holdLen));
      this.#holdBuf.fill(0);
      this.#holdBuf = grown;
    }
    this.#holdBuf.set(part, this.#holdLen);
    this.#holdLen += part.length;
  }

  #releaseHoldBuffer(): void {
    this.#holdBuf.fill(0, 0, this.#holdLen);
    this.#holdLen = 0;
  }

  /** The closing quote of a held string value is at c[i]: mask it or release it. */
  #endHeld(c: Uint8Array, i: number): void {
    const m = this.#m;
    const end = i + 1;
    this.#holding = false;
    // The value's raw bytes are bytes[from, to): in the chunk, or in `whole` when it spanned chunks.
    let bytes = c;
    let from = this.#holdStart + 1;
    let to = i;
    let whole: Uint8Array | undefined;
    if (this.#holdLen > 0) {
      const total = this.#holdLen + end;
      if (total > m.maxValueBytes + 2) {
        this.#releaseHoldBuffer();
        if (!this.#holdMasked) this.#recordMask();
        this.#out.push(REDACTED.slice());
        this.#emitFrom = end;
        this.#afterValue(end);
        return;
      }
      whole = new Uint8Array(total);
      whole.set(this.#holdBuf.subarray(0, this.#holdLen));
      whole.set(c.subarray(0, end), this.#holdLen);
      this.#releaseHoldBuffer();
      bytes = whole;
      from = 1;
      to = total - 1;
    }
    const length = to - from;
    let marker: Uint8Array | undefined;
    if (length > m.maxValueBytes) {
      if (!this.#holdMasked) this.#recordMask();
      marker = REDACTED.slice();
    } else if (this.#holdMasked) {
      marker = styledMarker(m.style, decodeRaw(bytes.subarray(from, to)), m.hmacKey);
    } else if (length >= m.detectMinBytes && couldMatchRaw(m.detectors, bytes, from, to)) {
      const value = decodeRaw(bytes.subarray(from, to));
      if (detect(m.detectors, value) !== undefined) {
        this.#recordMask();
        marker = styledMarker(m.style, value, m.hmacKey);
      }
    }
    if (marker) {
      if (!whole && this.#holdStart > this.#emitFrom) this.#out.push(c.subarray(this.#emitFrom, this.#holdStart));
      this.#out.push(marker);
      this.#emitFrom = end;
    } else if (whole) {
      this.#out.push(whole);
      this.#emitFrom = end;
    }
    this.#afterValue(end);
  }

  #recordMask(): void {
    this.report.maskedCount++;
    if (this.report.maskedPaths.length < this.#m.maxReportedPaths) this.report.maskedPaths.push(this.#pathString());
  }

  #pathString(): string {
    // A framed stream reads as an array of texts: the third event's `data.x` is `$[2].data.x`.
    let out = this.#m.framing === 'json' ? '$' : `$[${this.#textIndex}]`;
    for (let d = 0; d < this.#depth; d++) {
      if (this.#kinds[d] === ARRAY) {
        out += `[${this.#indices[d]}]`;
      } else {
        const name = this.#names[d];
        out +=
          name === undefined
            ? '[?]'
            : SIMPLE_NAME.test(name)
              ? `.${name}`
              : `['${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
      }
    }
    return out;
  }
}

/** A masker for one body; throws MaskError when the spec or options are unusable. */
export function createMasker(spec: MaskSpec, options: MaskOptions = {}): JsonMasker {
  const compiled = compileMask(spec, options);
  if (!compiled.ok) throw new MaskError(`mask obligation rejected: ${compiled.reason}`);
  return new JsonMasker(compiled.mask);
}
