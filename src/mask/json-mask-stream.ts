/**
 * Streaming JSON masking at the byte level.
 *
 * Contract: input bytes are copied to the output unchanged, except that the whole value of any
 * object member whose (unescaped) name is in `keys` (compared case-insensitively) is replaced by
 * the marker `"***"`. State carries across chunks, so any chunking of the same input gives the same
 * output and no masked byte is emitted at a chunk boundary. Memory is bounded: only the current
 * member name (capped) is held. Input that is not one well-formed JSON text (RFC 8259) errors the
 * stream with `MaskError`; bytes of a value being masked are never emitted, even then.
 */

export class MaskError extends Error {
  override readonly name = 'MaskError';
}

export interface MaskOptions {
  /** Member names to mask, any depth, case-insensitive. */
  keys: readonly string[];
  marker?: string;
}

export interface MaskReport {
  maskedCount: number;
  /** JSONPath-ish locations of masked values (capped), never the values. */
  maskedPaths: string[];
}

const MAX_KEY_BYTES = 1024;
const MAX_DEPTH = 512;
const MAX_REPORTED_PATHS = 100;

// Lexer states (plain constants: enums are not erasable TypeScript).
const S = {
  Value: 0, // expecting a value
  AfterValue: 1, // expecting , ] } or end
  ObjectFirstKey: 2, // after {: a key or }
  ObjectKey: 3, // after , in object: a key
  Colon: 4,
  String: 5,
  StringEscape: 6,
  StringUnicode: 7,
  Number: 8,
  Literal: 9,
  Done: 10,
} as const;
type LexState = (typeof S)[keyof typeof S];

// Number sub-states.
const N = { Sign: 0, Zero: 1, Int: 2, Dot: 3, Frac: 4, Exp: 5, ExpSign: 6, ExpDigits: 7 } as const;
type NumberState = (typeof N)[keyof typeof N];

const LITERALS = ['true', 'false', 'null'].map((word) => new TextEncoder().encode(word));

const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

export class JsonMasker {
  readonly #keys: ReadonlySet<string>;
  readonly #marker: Uint8Array;
  readonly report: MaskReport = { maskedCount: 0, maskedPaths: [] };

  #state: LexState = S.Value;
  /** Container stack: 0x7b `{` or 0x5b `[`. */
  readonly #stack: number[] = [];
  /** Path of member names / indices, for the report. */
  readonly #path: (string | number)[] = [];
  #stringIsKey = false;
  #unicodeDigits = 0;
  #number: NumberState = N.Sign;
  #literal: Uint8Array = LITERALS[0] as Uint8Array;
  #literalIndex = 0;
  #keyBytes = new Uint8Array(MAX_KEY_BYTES);
  #keyLength = 0;
  #keyOverflow = false;
  #maskNextValue = false;
  /** Stack depth at which the value being masked started, or -1 when not masking. */
  #maskDepth = -1;
  #failed = false;
  /** True right after `[`, where `]` may close an empty array. */
  #arrayOpened = false;

  constructor(options: MaskOptions) {
    this.#keys = new Set(options.keys.map((key) => key.toLowerCase()));
    this.#marker = new TextEncoder().encode(JSON.stringify(options.marker ?? '***'));
  }

  /** Feed a chunk; returns the bytes to emit (possibly empty). Throws MaskError on bad JSON. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw new MaskError('stream already failed');
    const out: Uint8Array[] = [];
    let emitFrom = 0;
    let i = 0;
    try {
      while (i < chunk.length) {
        const b = chunk[i] as number;
        const wasMasking = this.#maskDepth >= 0;
        const consumed = this.#step(b);
        const masking = this.#maskDepth >= 0;
        if (!wasMasking && masking) {
          // A masked value starts at byte i: flush what came before, then the marker.
          if (i > emitFrom) out.push(chunk.subarray(emitFrom, i));
          out.push(this.#marker);
        } else if (wasMasking && !masking) {
          // The masked value ended: at i (inclusive) if this byte was part of it, else before i.
          emitFrom = consumed ? i + 1 : i;
        }
        if (consumed) i++;
      }
      if (this.#maskDepth < 0 && emitFrom < chunk.length) out.push(chunk.subarray(emitFrom));
    } catch (error) {
      this.#failed = true;
      throw error;
    }
    return out;
  }

  /** Signal end of input; throws MaskError if the JSON text is incomplete. */
  end(): Uint8Array[] {
    if (this.#failed) throw new MaskError('stream already failed');
    if (this.#state === S.Number && this.#stack.length === 0) {
      if (this.#number === N.Sign || this.#number === N.Dot || this.#number === N.Exp || this.#number === N.ExpSign) {
        this.#fail('truncated number');
      }
      this.#endScalar();
    }
    if (this.#state !== S.Done && !(this.#state === S.AfterValue && this.#stack.length === 0)) {
      this.#failed = true;
      throw new MaskError('truncated JSON');
    }
    return [];
  }

  #fail(why: string): never {
    throw new MaskError(`malformed JSON: ${why}`);
  }

  /** Process one byte; returns false when the byte must be processed again in the new state. */
  #step(b: number): boolean {
    switch (this.#state) {
      case S.Value:
        if (isWhitespace(b)) return true;
        this.#beginValue();
        return this.#startValue(b);
      case S.AfterValue:
        if (isWhitespace(b)) return true;
        if (this.#stack.length === 0) this.#fail('data after the JSON text');
        if (b === 0x2c) {
          if (this.#top() === 0x7b) {
            this.#state = S.ObjectKey;
          } else {
            this.#path[this.#path.length - 1] = (this.#path[this.#path.length - 1] as number) + 1;
            this.#state = S.Value;
          }
          return true;
        }
        if ((b === 0x7d && this.#top() === 0x7b) || (b === 0x5d && this.#top() === 0x5b)) {
          this.#closeContainer();
          return true;
        }
        return this.#fail('expected , or a closing bracket');
      case S.ObjectFirstKey:
      case S.ObjectKey:
        if (isWhitespace(b)) return true;
        if (b === 0x7d && this.#state === S.ObjectFirstKey) {
          this.#closeContainer();
          return true;
        }
        if (b !== 0x22) this.#fail('expected a member name');
        this.#stringIsKey = true;
        this.#keyLength = 0;
        this.#keyOverflow = false;
        this.#state = S.String;
        return true;
      case S.Colon:
        if (isWhitespace(b)) return true;
        if (b !== 0x3a) this.#fail('expected :');
        this.#state = S.Value;
        return true;
      case S.String:
        if (b === 0x22) {
          this.#endString();
          return true;
        }
        if (b < 0x20) this.#fail('control character in string');
        if (b === 0x5c) this.#state = S.StringEscape;
        this.#keyByte(b);
        return true;
      case S.StringEscape:
        if (b === 0x75) {
          this.#unicodeDigits = 0;
          this.#state = S.StringUnicode;
        } else if (
          b === 0x22 ||
          b === 0x5c ||
          b === 0x2f ||
          b === 0x62 ||
          b === 0x66 ||
          b === 0x6e ||
          b === 0x72 ||
          b === 0x74
        ) {
          this.#state = S.String;
        } else {
          this.#fail('invalid escape');
        }
        this.#keyByte(b);
        return true;
      case S.StringUnicode:
        if (!isHex(b)) this.#fail('invalid \\u escape');
        this.#keyByte(b);
        if (++this.#unicodeDigits === 4) this.#state = S.String;
        return true;
      case S.Number:
        return this.#numberByte(b);
      case S.Literal:
        if (b !== this.#literal[this.#literalIndex]) this.#fail('invalid literal');
        if (++this.#literalIndex === this.#literal.length) this.#endScalar();
        return true;
      case S.Done:
        if (isWhitespace(b)) return true;
        return this.#fail('data after the JSON text');
    }
  }

  #top(): number | undefined {
    return this.#stack[this.#stack.length - 1];
  }

  /** Called when a value is about to start: decides whether it is masked. */
  #beginValue(): void {
    if (this.#maskNextValue && this.#maskDepth < 0) {
      this.#maskDepth = this.#stack.length;
      this.report.maskedCount++;
      if (this.report.maskedPaths.length < MAX_REPORTED_PATHS) this.report.maskedPaths.push(this.#pathString());
    }
    this.#maskNextValue = false;
  }

  #startValue(b: number): boolean {
    const closesEmptyArray = b === 0x5d && this.#arrayOpened;
    this.#arrayOpened = false;
    if (b === 0x7b || b === 0x5b) {
      if (this.#stack.length >= MAX_DEPTH) this.#fail('nesting too deep');
      this.#stack.push(b);
      if (b === 0x7b) {
        this.#path.push('');
        this.#state = S.ObjectFirstKey;
      } else {
        this.#path.push(0);
        this.#state = S.Value;
        this.#arrayOpened = true;
      }
      return true;
    }
    if (closesEmptyArray) {
      // `[]`: an empty array closes where its first value was expected.
      this.#closeContainer();
      return true;
    }
    if (b === 0x22) {
      this.#stringIsKey = false;
      this.#state = S.String;
      return true;
    }
    if (b === 0x2d || isDigit(b)) {
      this.#state = S.Number;
      this.#number = b === 0x2d ? N.Sign : b === 0x30 ? N.Zero : N.Int;
      return true;
    }
    const literal = LITERALS.find((word) => word[0] === b);
    if (!literal) return this.#fail('unexpected character');
    this.#literal = literal;
    this.#literalIndex = 1;
    this.#state = S.Literal;
    return true;
  }

  #numberByte(b: number): boolean {
    switch (this.#number) {
      case N.Sign:
        if (b === 0x30) this.#number = N.Zero;
        else if (isDigit(b)) this.#number = N.Int;
        else this.#fail('invalid number');
        return true;
      case N.Zero:
        if (b === 0x2e) this.#number = N.Dot;
        else if (b === 0x65 || b === 0x45) this.#number = N.Exp;
        else return this.#endNumber();
        return true;
      case N.Int:
        if (isDigit(b)) return true;
        if (b === 0x2e) this.#number = N.Dot;
        else if (b === 0x65 || b === 0x45) this.#number = N.Exp;
        else return this.#endNumber();
        return true;
      case N.Dot:
        if (!isDigit(b)) this.#fail('invalid number');
        this.#number = N.Frac;
        return true;
      case N.Frac:
        if (isDigit(b)) return true;
        if (b === 0x65 || b === 0x45) this.#number = N.Exp;
        else return this.#endNumber();
        return true;
      case N.Exp:
        if (b === 0x2b || b === 0x2d) this.#number = N.ExpSign;
        else if (isDigit(b)) this.#number = N.ExpDigits;
        else this.#fail('invalid number');
        return true;
      case N.ExpSign:
        if (!isDigit(b)) this.#fail('invalid number');
        this.#number = N.ExpDigits;
        return true;
      case N.ExpDigits:
        if (isDigit(b)) return true;
        return this.#endNumber();
    }
  }

  /** The byte after a number is not part of it: end the scalar, reprocess the byte. */
  #endNumber(): boolean {
    this.#endScalar();
    return false;
  }

  #keyByte(b: number): void {
    if (!this.#stringIsKey) return;
    if (this.#keyLength >= MAX_KEY_BYTES) {
      this.#keyOverflow = true;
      return;
    }
    this.#keyBytes[this.#keyLength++] = b;
  }

  #endString(): void {
    if (this.#stringIsKey) {
      const name = this.#keyOverflow ? undefined : this.#decodeKey();
      this.#path[this.#path.length - 1] = name ?? '…';
      this.#maskNextValue = name !== undefined && this.#keys.has(name.toLowerCase());
      this.#state = S.Colon;
      return;
    }
    this.#endScalar();
  }

  #decodeKey(): string {
    const raw = new TextDecoder().decode(this.#keyBytes.subarray(0, this.#keyLength));
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  #endScalar(): void {
    this.#afterValue();
  }

  #closeContainer(): void {
    this.#stack.pop();
    this.#path.pop();
    this.#afterValue();
  }

  #afterValue(): void {
    if (this.#maskDepth === this.#stack.length) this.#maskDepth = -1;
    this.#state = this.#stack.length === 0 ? S.Done : S.AfterValue;
  }

  #pathString(): string {
    let out = '$';
    for (const part of this.#path) {
      out +=
        typeof part === 'number'
          ? `[${part}]`
          : /^[A-Za-z_][A-Za-z0-9_]*$/.test(part)
            ? `.${part}`
            : `[${JSON.stringify(part)}]`;
    }
    return out;
  }
}

/** A TransformStream that masks a JSON body; `report` is complete once the stream has flushed. */
export function createMaskStream(options: MaskOptions): {
  stream: TransformStream<Uint8Array, Uint8Array>;
  report: MaskReport;
} {
  const masker = new JsonMasker(options);
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const part of masker.push(chunk)) controller.enqueue(part);
    },
    flush() {
      masker.end();
    },
  });
  return { stream, report: masker.report };
}
