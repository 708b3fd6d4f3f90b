import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_DEPTH,
  foldMemberName,
  parseStrictJson,
  parseStrictJsonBytes,
  type StrictJsonResult,
} from '../../../src/util/strict-json.ts';

const encoder = new TextEncoder();

function refusal(result: StrictJsonResult): { reason: string; path: string; detail: string } {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return { reason: result.reason, path: result.path, detail: result.detail };
}

function jsonParses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** True when some object in the value holds two member names that fold equal. */
function hasFoldDuplicate(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasFoldDuplicate);
  if (value === null || typeof value !== 'object') return false;
  const keys = Object.keys(value);
  if (new Set(keys.map(foldMemberName)).size !== keys.length) return true;
  return Object.values(value).some(hasFoldDuplicate);
}

describe('parseStrictJson refuses duplicate member names', () => {
  it('refuses the publicNetworkAccess case-variant bypass, pointing at the second member', () => {
    const body = '{"properties":{"publicNetworkAccess":"Disabled","PublicNetworkAccess":"Enabled"}}';
    expect(JSON.parse(body).properties.publicNetworkAccess).toBe('Disabled'); // what policy would see
    expect(parseStrictJson(body)).toEqual({
      ok: false,
      reason: 'duplicate_member',
      path: '/properties/PublicNetworkAccess',
      detail: 'member name "PublicNetworkAccess" folds onto "publicNetworkAccess" in the same object',
    });
  });

  it('refuses exact duplicates, which JSON.parse silently resolves to the last', () => {
    expect(refusal(parseStrictJson('{"a":1,"b":2,"a":3}'))).toEqual({
      reason: 'duplicate_member',
      path: '/a',
      detail: 'member name "a" repeats in the same object',
    });
  });

  it('refuses case-variant containers side by side', () => {
    const body = '{"properties":{"publicNetworkAccess":"Disabled"},"Properties":{"publicNetworkAccess":"Enabled"}}';
    expect(refusal(parseStrictJson(body)).path).toBe('/Properties');
  });

  it('refuses duplicates deep in arrays of objects', () => {
    const body = JSON.stringify({
      resources: [{ name: 'a' }, { name: 'b', properties: { rules: [[{ action: 'Deny' }]] } }],
    }).replace('{"action":"Deny"}', '{"action":"Deny","ACTION":"Allow"}');
    expect(refusal(parseStrictJson(body))).toMatchObject({
      reason: 'duplicate_member',
      path: '/resources/1/properties/rules/0/0/ACTION',
    });
  });

  it('compares names after unescaping', () => {
    expect(refusal(parseStrictJson('{"public":1,"\\u0050ublic":2}')).path).toBe('/Public');
    expect(refusal(parseStrictJson('{"a/b":1,"a\\/b":2}')).path).toBe('/a~1b');
  });

  it.each([
    ['dotless ı U+0131 against I', '\u0131d', 'ID'],
    ['dotless ı U+0131 against i', 'h\u0131dden', 'hidden'],
    ['long s ſ U+017F against s', 'publicNetworkAcce\u017F\u017F', 'publicNetworkAccess'],
    ['long s ſ U+017F against S', '\u017Fku', 'SKU'],
    ['Kelvin sign U+212A against k', '\u212Aind', 'kind'],
    ['fullwidth ｐ against p', '\uFF50roperties', 'properties'],
    ['fullwidth Ｐ against p', '\uFF30roperties', 'properties'],
    ['micro sign µ against Greek mu', '\u00B5', '\u03BC'],
    ['final sigma against capital sigma', 'a\u03C2', 'A\u03A3'],
    ['titlecase ǅ against ǆ', '\u01C5', '\u01C6'],
    ['lone high and low surrogates (both fold to U+FFFD)', '\\ud800', '\\udc00'],
  ])('refuses %s', (_, first, second) => {
    const result = refusal(parseStrictJson(`{"x":{"${first}":"Disabled","${second}":"Enabled"}}`));
    expect(result.reason).toBe('duplicate_member');
    expect(result.path.startsWith('/x/')).toBe(true);
  });

  it('checks each object on its own: the same name in sibling objects is fine', () => {
    expect(parseStrictJson('{"a":{"x":1},"b":{"X":2},"c":[{"k":1},{"K":2}]}')).toEqual({
      ok: true,
      value: { a: { x: 1 }, b: { X: 2 }, c: [{ k: 1 }, { K: 2 }] },
    });
  });

  it('escapes the pointer (RFC 6901) and never quotes a value in detail', () => {
    const result = refusal(parseStrictJson('{"a/b~c":{"secret":"hunter2","SECRET":"hunter3"}}'));
    expect(result.path).toBe('/a~1b~0c/SECRET');
    expect(result.detail).not.toContain('hunter');
  });

  it('quotes at most 64 code points of a member name', () => {
    const name = `${'n'.repeat(100)}\u{1F600}`;
    const result = refusal(parseStrictJson(`{"${name}":1,"${name.toUpperCase()}":2}`));
    expect(result.path).toBe(`/${name.toUpperCase()}`);
    expect(result.detail).toBe(`member name "${'N'.repeat(64)}…" folds onto "${'n'.repeat(64)}…" in the same object`);
  });
});

describe('parseStrictJson and __proto__', () => {
  it('makes a __proto__ member an own property, as JSON.parse does, without touching the prototype', () => {
    const text = '{"__proto__":{"isAdmin":true},"a":1}';
    const result = parseStrictJson(text);
    if (!result.ok) throw new Error(result.detail);
    const value = result.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(value.isAdmin).toBeUndefined();
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect(value).toStrictEqual(JSON.parse(text));
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('refuses a repeated or case-variant __proto__', () => {
    expect(refusal(parseStrictJson('{"__proto__":1,"__proto__":2}')).path).toBe('/__proto__');
    expect(refusal(parseStrictJson('{"__proto__":1,"__PROTO__":2}')).path).toBe('/__PROTO__');
  });
});

describe('parseStrictJson refuses invalid JSON', () => {
  it.each([
    ['an empty document', ''],
    ['whitespace only', ' \n'],
    ['a trailing comma in an array', '[1,2,]'],
    ['a trailing comma in an object', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['an unquoted member name', '{a:1}'],
    ['a missing colon', '{"a" 1}'],
    ['a missing comma', '[1 2]'],
    ['NaN', 'NaN'],
    ['Infinity', '[-Infinity]'],
    ['a leading zero', '01'],
    ['a negative leading zero', '-01'],
    ['a leading plus', '+1'],
    ['a bare fraction', '.5'],
    ['a dangling decimal point', '1.'],
    ['a dangling exponent', '1e+'],
    ['hex', '0x10'],
    ['a raw NUL in a string', '"a\u0000b"'],
    ['a raw newline in a string', '"a\nb"'],
    ['a raw tab in a string', '"a\tb"'],
    ['an invalid escape', '"\\x41"'],
    ['a short \\u escape', '"\\u12"'],
    ['a non-hex \\u escape', '"\\u12G4"'],
    ['two top-level values', '{} {}'],
    ['two top-level scalars', '1 2'],
    ['a truncated object', '{"a":'],
    ['a truncated array', '[1,'],
    ['a truncated string', '"abc'],
    ['a truncated escape', '"abc\\'],
    ['a truncated literal', 'tru'],
    ['a literal with trailing letters', 'nullx'],
    ['a comment', '{} // note'],
    ['non-JSON whitespace (NBSP)', '\u00a0{}'],
    ['a vertical tab', '\u000b{}'],
    ['a byte order mark', '\ufeff{}'],
    ['a mismatched bracket', '[1}'],
  ])('refuses %s, as JSON.parse does', (_, text) => {
    expect(jsonParses(text)).toBe(false);
    expect(refusal(parseStrictJson(text)).reason).toBe('invalid_json');
  });

  it('points at the container being parsed and gives an offset', () => {
    expect(refusal(parseStrictJson('{"a":[1,2,}]}'))).toEqual({
      reason: 'invalid_json',
      path: '/a',
      detail: 'expected a value at char 10',
    });
    expect(refusal(parseStrictJson('{"a":{"b/c":[{"d":1}, tru]}}'))).toMatchObject({ path: '/a/b~1c' });
    expect(refusal(parseStrictJson('[1,')).detail).toBe('expected a value at char 3 (end of input)');
    expect(refusal(parseStrictJson('[] x')).path).toBe('');
  });

  it('never quotes the value it choked on', () => {
    for (const text of ['{"password":"hunter2\u0001"}', '{"password":"hunter2\\q"}', '{"password":hunter2}']) {
      const { detail } = refusal(parseStrictJson(text));
      expect(detail).not.toContain('hunter');
    }
  });
});

describe('parseStrictJsonBytes', () => {
  it('decodes UTF-8 and judges the text', () => {
    expect(parseStrictJsonBytes(encoder.encode('{"naïve":"日本😀"}'))).toEqual({
      ok: true,
      value: { naïve: '日本😀' },
    });
    expect(refusal(parseStrictJsonBytes(encoder.encode('{"É":1,"é":2}'))).path).toBe('/é');
  });

  it('accepts an ArrayBuffer and a view into a larger buffer', () => {
    expect(parseStrictJsonBytes(encoder.encode('[true]').buffer as ArrayBuffer)).toEqual({ ok: true, value: [true] });
    const padded = encoder.encode('xx[null]yy');
    expect(parseStrictJsonBytes(padded.subarray(2, 8))).toEqual({ ok: true, value: [null] });
  });

  it('refuses a leading byte order mark, but not U+FEFF inside a string', () => {
    expect(refusal(parseStrictJsonBytes(encoder.encode('\ufeff{}')))).toEqual({
      reason: 'invalid_json',
      path: '',
      detail: 'byte order mark at byte 0 is not allowed',
    });
    expect(parseStrictJsonBytes(encoder.encode('"\ufeff"'))).toEqual({ ok: true, value: '\ufeff' });
  });

  it.each([
    ['a stray continuation byte', [0x22, 0x80, 0x22]],
    ['an invalid byte', [0x22, 0xff, 0x22]],
    ['an overlong encoding of "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe6, 0x97]],
  ])('refuses invalid UTF-8: %s', (_, bytes) => {
    expect(refusal(parseStrictJsonBytes(new Uint8Array(bytes)))).toEqual({
      reason: 'invalid_json',
      path: '',
      detail: 'body is not valid UTF-8',
    });
  });

  it('reports offsets in bytes', () => {
    expect(refusal(parseStrictJsonBytes(encoder.encode('["é€😀",]'))).detail).toBe('expected a value at byte 13');
  });
});

describe('parseStrictJson limits depth', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it(`allows ${DEFAULT_MAX_DEPTH} nested containers and refuses one more, at its pointer`, () => {
    expect(parseStrictJson(nested(DEFAULT_MAX_DEPTH)).ok).toBe(true);
    expect(refusal(parseStrictJson(nested(DEFAULT_MAX_DEPTH + 1)))).toEqual({
      reason: 'too_deep',
      path: '/0'.repeat(DEFAULT_MAX_DEPTH),
      detail: `more than ${DEFAULT_MAX_DEPTH} nested containers at char ${DEFAULT_MAX_DEPTH}`,
    });
  });

  it('counts objects and arrays alike and honours maxDepth', () => {
    expect(parseStrictJson('{"a":[{"b":1}]}', { maxDepth: 3 }).ok).toBe(true);
    expect(refusal(parseStrictJson('{"a":[{"b":{}}]}', { maxDepth: 3 }))).toMatchObject({
      reason: 'too_deep',
      path: '/a/0/b',
    });
    expect(parseStrictJson('"scalar"', { maxDepth: 0 })).toEqual({ ok: true, value: 'scalar' });
    expect(refusal(parseStrictJson('[]', { maxDepth: 0 })).reason).toBe('too_deep');
  });

  it('refuses 100000 nested openers without overflowing the stack', () => {
    expect(refusal(parseStrictJson('['.repeat(100_000))).reason).toBe('too_deep');
    expect(refusal(parseStrictJson('{"a":'.repeat(100_000))).reason).toBe('too_deep');
    // With the limit lifted the parser is still iterative: it reaches the end and says so.
    expect(refusal(parseStrictJson('['.repeat(100_000), { maxDepth: 200_000 })).reason).toBe('invalid_json');
    expect(parseStrictJson(nested(100_000), { maxDepth: 100_000 }).ok).toBe(true);
  });

  it('rejects a nonsensical maxDepth', () => {
    expect(() => parseStrictJson('1', { maxDepth: -1 })).toThrow(RangeError);
    expect(() => parseStrictJson('1', { maxDepth: 1.5 })).toThrow(RangeError);
    expect(() => parseStrictJson('1', { maxDepth: Number.NaN })).toThrow(RangeError);
  });
});

describe('parseStrictJson returns what JSON.parse returns', () => {
  it.each([
    ['an escaped lone high surrogate', '"\\ud800"'],
    ['an escaped lone low surrogate', '"\\udc00x"'],
    ['reversed surrogates', '"\\udc00\\ud800"'],
    ['an escaped pair', '"\\ud83d\\ude00"'],
    ['every simple escape', '"\\"\\\\\\/\\b\\f\\n\\r\\t"'],
    ['upper- and lowercase hex escapes', '"\\u00E9\\u00e9"'],
    ['negative zero', '-0'],
    ['an overflowing exponent', '[1e400, -1e400, 1e-400]'],
    ['a big integer', '12345678901234567890123'],
    ['exponent forms', '[1E2, 1e+2, 1.5e-2, 0.0, -0.5]'],
    ['all four whitespace characters', ' \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ "a" : null } ] \t\r\n'],
    ['literals', '[true,false,null]'],
    ['empty containers', '{"a":{},"b":[],"c":""}'],
    ['integer-like member names', '{"b":1,"2":2,"a":3,"1":4}'],
    ['a raw DEL and raw non-ASCII', '"\u007f日本"'],
  ])('parses %s', (_, text) => {
    const result = parseStrictJson(text);
    if (!result.ok) throw new Error(result.detail);
    expect(result.value).toStrictEqual(JSON.parse(text));
    if (text === '-0') expect(Object.is(result.value, -0)).toBe(true);
    if (text.startsWith('{')) expect(Object.keys(result.value as object)).toEqual(Object.keys(JSON.parse(text)));
  });

  it('parses random duplicate-free JSON exactly as JSON.parse (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.json({ stringUnit: 'binary', maxDepth: 6 }),
        fc.constantFrom(undefined, 2, '\t', ' \r\n'),
        (compact, indent) => {
          const value: unknown = JSON.parse(compact);
          fc.pre(!hasFoldDuplicate(value));
          const text = JSON.stringify(value, null, indent);
          const result = parseStrictJson(text);
          if (!result.ok) throw new Error(`${result.reason} ${result.path} ${result.detail}`);
          expect(result.value).toStrictEqual(value);
          expect(parseStrictJsonBytes(encoder.encode(text))).toEqual(result);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts a mutated document exactly when JSON.parse does (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.json({ maxDepth: 4 }),
        fc.nat(),
        fc.constantFrom('', ',', ':', '"', '\\', '[', ']', '{', '}', '0', '-', 'e', '.', ' ', '\u0001', 'x'),
        fc.boolean(),
        (text, at, insert, replace) => {
          const cut = at % (text.length + 1);
          const mutated = text.slice(0, cut) + insert + text.slice(replace ? cut + 1 : cut);
          const result = parseStrictJson(mutated);
          if (result.ok) {
            expect(result.value).toStrictEqual(JSON.parse(mutated));
          } else if (result.reason === 'invalid_json') {
            expect(jsonParses(mutated)).toBe(false);
          } else {
            expect(result.reason).toBe('duplicate_member'); // a mutation can merge two names
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses any object given a fold-equal second member, at any depth (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: 'binary', minLength: 1 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1 }),
        fc.nat(),
        fc.constantFrom('same', 'upper', 'lower'),
        fc.nat(5),
        (object, pick, how, depth) => {
          const keys = Object.keys(object);
          const key = keys[pick % keys.length] ?? '';
          const again = how === 'upper' ? key.toUpperCase() : how === 'lower' ? key.toLowerCase() : key;
          const members = [...keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(object[k])}`)];
          members.push(`${JSON.stringify(again)}:"second"`);
          const text = `${'[{"w":'.repeat(depth)}{${members.join(',')}}${'}]'.repeat(depth)}`;
          const result = refusal(parseStrictJson(text));
          expect(result.reason).toBe('duplicate_member');
          expect(result.path.startsWith('/0/w'.repeat(depth))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses a 256 KiB deployment in linear time', () => {
    const resources = Array.from({ length: 700 }, (_, i) => ({
      type: 'Microsoft.Storage/storageAccounts',
      name: `st${i}`,
      tags: { owner: `team-${i}`, note: 'línea\n"quoted"\t\u0001' },
      properties: { publicNetworkAccess: 'Disabled', networkAcls: { ipRules: [{ value: '10.0.0.0/8' }] }, n: -1.5e3 },
    }));
    const text = JSON.stringify({ resources }, null, 2);
    expect(text.length).toBeGreaterThan(256 * 1024);
    const started = performance.now();
    const result = parseStrictJson(text);
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: true, value: JSON.parse(text) });
    expect(elapsed).toBeLessThan(500); // about 3 ms on a laptop; a quadratic parser takes seconds
  });
});

describe('foldMemberName', () => {
  it.each([
    // .NET OrdinalIgnoreCase pairs (Unicode simple uppercase mappings), which must fold together.
    ['\u0131', 'I'],
    ['\u017F', 'S'],
    ['\u00B5', '\u039C'],
    ['\u03C2', '\u03A3'],
    ['\u03D0', '\u0392'],
    ['\u03D1', '\u0398'],
    ['\u1E9B', '\u1E60'],
    ['\u1FBE', '\u0399'],
    ['\u0345', '\u0399'],
    ['\u01C5', '\u01C4'],
    ['\u1C80', '\u0412'],
    ['\u{10428}', '\u{10400}'],
    // Over-approximations: compatibility forms .NET would not equate, refused anyway.
    ['\u212A', 'k'],
    ['\uFF50', 'P'],
    ['\u210C', 'h'],
    ['\u03D2', '\u03C5'],
    ['\uD800', '\uFFFD'],
  ])('folds %s together with %s', (a, b) => {
    expect(foldMemberName(a)).toBe(foldMemberName(b));
    expect(foldMemberName(`x${a}y`)).toBe(foldMemberName(`X${b}Y`));
  });

  it('keeps different names apart', () => {
    expect(foldMemberName('name')).not.toBe(foldMemberName('names'));
    expect(foldMemberName('a')).not.toBe(foldMemberName('b'));
    expect(foldMemberName('\uD800\uDC00')).not.toBe(foldMemberName('\uFFFD\uFFFD'));
  });

  it('is case-blind and idempotent on random names (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (name) => {
        const folded = foldMemberName(name);
        expect(foldMemberName(name.toUpperCase())).toBe(folded);
        expect(foldMemberName(folded)).toBe(folded);
      }),
      { numRuns: 2000 },
    );
  });
});
