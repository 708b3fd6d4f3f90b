import { describe, expect, it } from 'vitest';
import { parseJsonPath } from '../../../src/mask/json-path.ts';
import { maskText, spec } from './helpers.ts';

const paths = (...p: string[]) => spec({ paths: p });

describe('JSONPath subset', () => {
  it.each([
    [
      '$.keys[*].value',
      '{"keys":[{"value":"a","n":1},{"value":"b"}],"value":"top"}',
      '{"keys":[{"value":"***","n":1},{"value":"***"}],"value":"top"}',
    ],
    [
      '$.properties.*.value',
      '{"properties":{"A":{"value":"x","type":"t"},"B":{"value":{"deep":1}}},"value":1}',
      '{"properties":{"A":{"value":"***","type":"t"},"B":{"value":"***"}},"value":1}',
    ],
    [
      '$..connectionString',
      '{"a":{"connectionString":"x","b":[{"connectionString":"y"}]},"connectionString":"z"}',
      '{"a":{"connectionString":"***","b":[{"connectionString":"***"}]},"connectionString":"***"}',
    ],
    [
      "$['a.b']['c d']",
      '{"a.b":{"c d":"x","c":"y"},"a":{"b":{"c d":"z"}}}',
      '{"a.b":{"c d":"***","c":"y"},"a":{"b":{"c d":"z"}}}',
    ],
    ['$["it\'s"]', '{"it\'s":1,"its":2}', '{"it\'s":"***","its":2}'],
    ['$.list[1]', '{"list":["a","b","c"]}', '{"list":["a","***","c"]}'],
    ['$[*]', '[1,{"a":2}]', '["***","***"]'],
    ['$.*', '{"a":1,"b":[2]}', '{"a":"***","b":"***"}'],
    ['$..*', '{"a":1}', '{"a":"***"}'],
    [
      '$..items[*].secret',
      '{"x":{"items":[{"secret":1},{"other":2}]}}',
      '{"x":{"items":[{"secret":"***"},{"other":2}]}}',
    ],
    ['$.Value', '{"value":1,"Value":2}', '{"value":1,"Value":"***"}'],
  ])('%s', (path, input, output) => {
    expect(maskText(input, paths(path))).toBe(output);
  });

  it('matches names after unescaping', () => {
    expect(maskText('{"v\\u0061lue":"x"}', paths('$.value'))).toBe('{"v\\u0061lue":"***"}');
  });

  it('does not mask an index path inside an object or a name path inside an array', () => {
    expect(maskText('{"0":"x","a":["y"]}', paths('$[0]', "$.a['0']"))).toBe('{"0":"x","a":["y"]}');
  });

  it.each(['keys', '$', '$.', '$..', '$[', "$['unterminated", '$[abc]', '$.a b', '$[01]'])('rejects %s', (path) => {
    expect(parseJsonPath(path).ok).toBe(false);
  });

  it('parses a bracketed name with escaped quotes', () => {
    expect(parseJsonPath("$['a\\'b']")).toEqual({
      ok: true,
      segments: [{ kind: 'name', name: "a'b", descendant: false }],
    });
  });
});

describe('key-name patterns', () => {
  it('match case-insensitively at any depth, with * wildcards', () => {
    const input =
      '{"Password":"a","nested":{"PASSWORD":"b","dbConnectionString":"c","connectionstring":"d","sharedKey":"e","shared":"f"}}';
    expect(maskText(input, spec({ keys: ['password', '*ConnectionString', 'shared*key'] }))).toBe(
      '{"Password":"***","nested":{"PASSWORD":"***","dbConnectionString":"***","connectionstring":"***","sharedKey":"***","shared":"f"}}',
    );
  });

  it('treat regex characters in patterns literally', () => {
    expect(maskText('{"a.b":1,"axb":2}', spec({ keys: ['a.b'] }))).toBe('{"a.b":"***","axb":2}');
  });

  it('mask the value of a member whose name is too long to check (fail closed)', () => {
    const long = 'n'.repeat(5000);
    expect(maskText(`{"${long}":"v","ok":"w"}`, spec({ keys: ['password'] }))).toBe(`{"${long}":"***","ok":"w"}`);
  });
});
