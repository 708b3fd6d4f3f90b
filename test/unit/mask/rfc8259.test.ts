/**
 * RFC 8259 corner cases: what the masker accepts (copied byte for byte at every split point)
 * and what it refuses (MaskError, with no masked byte emitted).
 */
import { describe, expect, it } from 'vitest';
import { MaskError } from '../../../src/mask/json-mask-stream.ts';
import { allSplits, concat, decoder, emittedBeforeError, encoder, maskBytes, maskText, spec } from './helpers.ts';

const MASK = spec({ keys: ['secret'] });

/** Every split point, and 1-byte chunks, must give the same output as one chunk. */
function expectStable(input: Uint8Array, maskSpec = MASK): Uint8Array {
  const whole = maskBytes(input, maskSpec).bytes;
  for (let at = 1; at < input.length; at++) expect(maskBytes(input, maskSpec, [at]).bytes).toEqual(whole);
  expect(maskBytes(input, maskSpec, allSplits(input.length)).bytes).toEqual(whole);
  return whole;
}

describe('RFC 8259: accepted and copied exactly', () => {
  it.each([
    ['every simple escape', '{"e":"\\" \\\\ \\/ \\b \\f \\n \\r \\t","secret":"\\"\\\\\\/\\b\\f\\n\\r\\t"}'],
    ['\\u escapes, upper and lower hex', '{"u":"\\u0041\\u00e9\\u00E9\\u20AC","secret":"\\u0041"}'],
    ['a valid surrogate pair escape', '{"p":"\\ud83d\\ude00","secret":"\\uD83D\\uDE00"}'],
    ['lone surrogate escapes (grammatical; passed through)', '{"l":"\\ud800 \\udfff x\\uDBFF","secret":"\\udc00"}'],
    ['multi-byte UTF-8 (2, 3, 4 bytes)', '{"m":"é € 😀 𐍈","secret":"é€😀"}'],
    [
      'huge and odd numbers',
      '{"n":[0,-0,1e400,-1E-400,123456789012345678901234567890,0.0e+0,1.5E+308],"secret":1e999}',
    ],
    ['empty key and empty string', '{"":"","secret":""}'],
    ['duplicate keys (each one masked)', '{"secret":1,"secret":"two","a":{"secret":[3]}}'],
    ['all whitespace kinds', ' \t\r\n{ \t\r\n"secret" \t\r\n: \t\r\n"x" \t\r\n, "a" : [ ] } \n'],
    ['scalar top-level texts', '"just a string"'],
    ['literals', '[true,false,null,{"secret":null}]'],
    ['key that is a masked name only after unescaping', '{"s\\u0065cr\\u0065t":"v","\\u0073ecret":"w"}'],
  ])('%s', (_name, text) => {
    const input = encoder.encode(text);
    const out = decoder.decode(expectStable(input));
    // Unmasked bytes are unchanged: removing the masked values from both sides gives equal JSON.
    const expected = JSON.stringify(maskParsed(JSON.parse(text)));
    expect(JSON.stringify(JSON.parse(out))).toBe(expected);
    if (!text.includes('secret') && !text.includes('\\u0073') && !text.includes('s\\u0065')) expect(out).toBe(text);
  });

  it('copies unmasked spelling verbatim (escapes, number forms, whitespace, key order)', () => {
    const text = '{ "z" : 1.50E+02 , "a":"\\u0041\\/", "secret" : {"x":1} ,"m":-0.0}';
    expect(maskText(text, MASK)).toBe('{ "z" : 1.50E+02 , "a":"\\u0041\\/", "secret" : "***" ,"m":-0.0}');
  });

  it('accepts deep nesting up to the limit and refuses one level more', () => {
    const ok = `${'['.repeat(512)}${']'.repeat(512)}`;
    expect(maskText(ok, MASK)).toBe(ok);
    const deep = `${'['.repeat(513)}${']'.repeat(513)}`;
    expect(() => maskText(deep, MASK)).toThrow(/nesting too deep/);
    const objects = `${'{"a":'.repeat(300)}{"secret":"x"}${'}'.repeat(300)}`;
    expect(maskText(objects, MASK)).toBe(`${'{"a":'.repeat(300)}{"secret":"***"}${'}'.repeat(300)}`);
  });

  it('BOM: a leading UTF-8 byte order mark is tolerated and copied (RFC 8259 §8.1); anywhere else it is refused', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    const input = concat([bom, encoder.encode('{"secret":"x"}')]);
    const out = expectStable(input);
    expect([...out.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(decoder.decode(out.subarray(3))).toBe('{"secret":"***"}');
    expect(() => maskBytes(concat([encoder.encode(' '), input]), MASK)).toThrow(MaskError);
    expect(() => maskBytes(concat([encoder.encode('[1]'), bom]), MASK)).toThrow(MaskError);
    expect(() => maskBytes(new Uint8Array([0xef, 0xbb, 0x7b, 0x7d]), MASK)).toThrow(MaskError);
  });
});

describe('RFC 8259: refused', () => {
  const bad: [string, Uint8Array][] = [
    ['invalid escape \\x', encoder.encode('{"secret":"\\x"}')],
    ['short \\u escape', encoder.encode('{"a":"\\u12G4"}')],
    ['raw newline in string', encoder.encode('{"a":"line\nbreak"}')],
    ['raw tab in string', encoder.encode('{"a":"\t"}')],
    ['invalid UTF-8 continuation', new Uint8Array([0x22, 0xc3, 0x28, 0x22])],
    ['overlong UTF-8', new Uint8Array([0x22, 0xc0, 0xaf, 0x22])],
    ['UTF-8 encoded surrogate', new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['UTF-8 beyond U+10FFFF', new Uint8Array([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22])],
    ['stray continuation byte', new Uint8Array([0x22, 0x80, 0x22])],
    ['non-ASCII outside strings', new Uint8Array([0x5b, 0xc3, 0xa9, 0x5d])],
    ['leading plus', encoder.encode('[+1]')],
    ['bare dot', encoder.encode('[.5]')],
    ['trailing dot', encoder.encode('[1.]')],
    ['empty exponent', encoder.encode('[1e]')],
    ['hex number', encoder.encode('[0x1]')],
    ['NaN', encoder.encode('[NaN]')],
    ['Infinity', encoder.encode('[Infinity]')],
    ['comment', encoder.encode('{/*c*/}')],
    ['unquoted key', encoder.encode('{a:1}')],
    ['missing colon', encoder.encode('{"a" 1}')],
    ['missing comma', encoder.encode('[1 2]')],
    ['truncated literal', encoder.encode('[nul')],
    ['truncated number at top level', encoder.encode('-')],
    ['truncated escape', encoder.encode('"\\')],
    ['truncated \\u', encoder.encode('"\\u00')],
    ['truncated UTF-8', new Uint8Array([0x22, 0xe2, 0x82])],
    ['whitespace only', encoder.encode(' \n ')],
  ];
  it.each(bad)('%s', (_name, input) => {
    expect(() => maskBytes(input, MASK)).toThrow(MaskError);
    for (let at = 1; at < input.length; at++) expect(() => maskBytes(input, MASK, [at])).toThrow(MaskError);
  });

  it('emits nothing from the failing chunk on, and never a byte of a held or masked value', () => {
    const secret = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
    const cases = [
      `{"secret":"${secret}`,
      `{"secret":"${secret}"`,
      `{"token":"${secret}`,
      `{"token":"${secret}\\x"}`,
      `{"secret":{"a":"${secret}","b":[1,2,`,
      `{"secret":"${secret}" "next":1}`,
      `{"token":"${secret}" x`,
    ];
    const detectSpec = spec({ keys: ['secret'], detectors: ['jwt'] });
    for (const text of cases) {
      const input = encoder.encode(text);
      for (const size of [1, 2, 3, 7, 16, input.length]) {
        const { emitted, error } = emittedBeforeError(input, detectSpec, size);
        expect(error).toBeInstanceOf(MaskError);
        expect(decoder.decode(emitted)).not.toContain('eyJ');
      }
    }
  });
});

function maskParsed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskParsed);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k.toLowerCase() === 'secret' ? '***' : maskParsed(v)]),
    );
  }
  return value;
}
