import { describe, expect, it } from 'vitest';
import { EMPTY_REWRITE, type RewriteSpec } from '../../../src/policy/obligations.ts';
import {
  applyHeaderRewrite,
  applyJsonPatch,
  applyQueryRewrite,
  patchJsonBody,
  REWRITE_BODY_LIMIT,
} from '../../../src/proxy/rewrite.ts';

const spec = (partial: Partial<RewriteSpec>): RewriteSpec => ({ ...EMPTY_REWRITE, ...partial });
const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;

describe('header and query rewrites', () => {
  it('sets and removes headers', () => {
    const headers = applyHeaderRewrite(
      new Headers({ 'x-debug': '1', 'x-team': 'a' }),
      spec({ removeHeaders: ['x-debug'], setHeaders: { 'x-team': 'b', 'x-new': 'c' } }),
    );
    expect([...headers]).toEqual([
      ['x-new', 'c'],
      ['x-team', 'b'],
    ]);
  });

  it('sets and removes query parameters, leaving an untouched query as it was', () => {
    expect(applyQueryRewrite('?a=1&debug=x', spec({ removeQuery: ['debug'], setQuery: { b: '2' } }))).toBe('?a=1&b=2');
    expect(applyQueryRewrite('?debug=x', spec({ removeQuery: ['debug'] }))).toBe('');
    expect(applyQueryRewrite('?keep=%2F', EMPTY_REWRITE)).toBe('?keep=%2F');
  });
});

describe('JSON Patch (RFC 6902)', () => {
  const doc = { properties: { publicNetworkAccess: 'Enabled', tags: ['a'] }, name: 'x' };

  it('applies add, replace, remove, copy, move and test in order, without touching the input', () => {
    const result = applyJsonPatch(doc, [
      { op: 'test', path: '/name', value: 'x' },
      { op: 'add', path: '/properties/publicNetworkAccess', value: 'Disabled' },
      { op: 'add', path: '/properties/tags/-', value: 'b' },
      { op: 'copy', from: '/name', path: '/properties/copy' },
      { op: 'move', from: '/properties/copy', path: '/moved' },
      { op: 'replace', path: '/name', value: 'y' },
      { op: 'remove', path: '/properties/tags/0' },
    ]);
    expect(result).toEqual({
      ok: true,
      value: { properties: { publicNetworkAccess: 'Disabled', tags: ['b'] }, name: 'y', moved: 'x' },
    });
    expect(doc.properties.publicNetworkAccess).toBe('Enabled');
  });

  it.each([
    ['a failing test', { op: 'test', path: '/name', value: 'z' }],
    ['a missing parent', { op: 'add', path: '/nope/deeper', value: 1 }],
    ['removing a missing member', { op: 'remove', path: '/missing' }],
    ['replacing a missing member', { op: 'replace', path: '/missing', value: 1 }],
    ['an index out of range', { op: 'add', path: '/properties/tags/5', value: 1 }],
  ] as const)('fails as a whole on %s', (_name, op) => {
    expect(applyJsonPatch(doc, [{ op: 'add', path: '/ok', value: 1 }, op]).ok).toBe(false);
  });

  it('patches a JSON body and refuses what it cannot patch', () => {
    const ops = [{ op: 'add' as const, path: '/properties/publicNetworkAccess', value: 'Disabled' }];
    const ok = patchJsonBody('application/json; charset=utf-8', bytes('{"properties":{}}'), ops);
    expect(ok.ok && new TextDecoder().decode(ok.body)).toBe('{"properties":{"publicNetworkAccess":"Disabled"}}');
    expect(patchJsonBody('text/plain', bytes('{}'), ops)).toMatchObject({ ok: false, reason: 'not_json' });
    expect(patchJsonBody('application/json', bytes('{oops'), ops)).toMatchObject({ ok: false, reason: 'not_json' });
    expect(patchJsonBody('application/json', bytes('{}'), ops)).toMatchObject({ ok: false, reason: 'patch_failed' });
    const big = bytes(`{"a":"${'x'.repeat(REWRITE_BODY_LIMIT)}"}`);
    expect(patchJsonBody('application/json', big, ops)).toMatchObject({ ok: false, reason: 'too_large' });
  });
});
