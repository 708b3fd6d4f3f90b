import { describe, expect, it } from 'vitest';
import { createMasker, MaskError } from '../../../src/mask/json-mask-stream.ts';
import { allSplits, decoder, encoder, maskText, spec } from './helpers.ts';

const keys = (...names: string[]) => spec({ keys: names });

const LIST_KEYS =
  '{"keys":[{"keyName":"key1","value":"c2VjcmV0MQ==","permissions":"FULL"},{"keyName":"key2","value":"c2VjcmV0Mg==","permissions":"FULL"}]}';

describe('JsonMasker', () => {
  it('masks values of the named members and copies everything else byte for byte', () => {
    expect(maskText(LIST_KEYS, keys('value'))).toBe(
      '{"keys":[{"keyName":"key1","value":"***","permissions":"FULL"},{"keyName":"key2","value":"***","permissions":"FULL"}]}',
    );
  });

  it('gives identical output for every split point, including 1-byte chunks', () => {
    const text =
      '{ "a" : [1, -2.5e+3, true, null], "Secret": {"x": [1, {"y": "z"}]}, "s\\u0065cret": "\\"q\\" é 😀", "n": 0 }';
    const expected = maskText(text, keys('secret'));
    expect(expected).toBe('{ "a" : [1, -2.5e+3, true, null], "Secret": "***", "s\\u0065cret": "***", "n": 0 }');
    const length = encoder.encode(text).length;
    for (let at = 1; at < length; at++) expect(maskText(text, keys('secret'), [at])).toBe(expected);
    expect(maskText(text, keys('secret'), allSplits(length))).toBe(expected);
  });

  it('masks numbers, objects, arrays and literals whole', () => {
    expect(maskText('{"p":123,"q":{"r":[1,2]},"s":[],"t":false}', keys('p', 'q', 's', 't'))).toBe(
      '{"p":"***","q":"***","s":"***","t":"***"}',
    );
  });

  it('reports the paths and count of masked values, never the values', () => {
    const masker = createMasker(keys('value'));
    masker.push(encoder.encode(LIST_KEYS));
    masker.end();
    expect(masker.report).toEqual({ maskedCount: 2, maskedPaths: ['$.keys[0].value', '$.keys[1].value'] });
  });

  it.each([
    ['truncated object', '{"value":"abc'],
    ['truncated after colon', '{"a":'],
    ['trailing comma in array', '[1,]'],
    ['trailing comma after object in array', '[{},]'],
    ['trailing comma in object', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['bad literal', '{"a":tru}'],
    ['leading zero', '{"a":01}'],
    ['bad escape', '{"a":"\\x"}'],
    ['raw control character', '{"a":"\u0001"}'],
    ['two texts', '{} {}'],
    ['unclosed array', '[1,2'],
    ['mismatched bracket', '{"a":[1}'],
    ['whitespace only', ' \n'],
  ])('rejects malformed JSON: %s', (_name, text) => {
    expect(() => maskText(text, keys('value'))).toThrow(MaskError);
  });

  it('passes a body of zero bytes (the 202 that starts an LRO) as empty: there is nothing to mask', () => {
    expect(maskText('', keys('value'))).toBe('');
  });

  it('never emits any byte of a masked value that was cut off', () => {
    const masker = createMasker(keys('value'));
    const out = masker.push(encoder.encode('{"keyName":"k","value":"TOPSECRETVALUE'));
    const emitted = out.map((p) => decoder.decode(p)).join('');
    expect(emitted).toBe('{"keyName":"k","value":"***"');
    expect(() => masker.end()).toThrow(MaskError);
    expect(() => masker.push(encoder.encode('"}'))).toThrow(MaskError);
  });
});
