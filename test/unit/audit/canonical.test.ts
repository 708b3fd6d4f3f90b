import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalRow, rowHash } from '../../../src/audit/canonical.ts';
import { redactQuery } from '../../../src/audit/record.ts';

describe('canonical form (RFC 8785 subset)', () => {
  it('sorts members, drops whitespace and escapes strings the JCS way', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x"\u2028\n'], é: 'é' })).toBe(
      '{"a":[true,null,"x\\"\u2028\\n"],"b":1,"é":"é"}',
    );
  });

  it('refuses numbers that would need float formatting', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/safe integers/);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson({ a: 2 ** 60 })).toThrow();
  });

  it('leaves out NULL columns, the hash and the seal stamp, so a new nullable column keeps old hashes', async () => {
    const row = { request_id: 'r1', status: 200, detail: null, row_hash: 'x', sealed_seq: 3 };
    expect(canonicalRow(row)).toBe('{"request_id":"r1","status":200}');
    expect(await rowHash({ ...row, added_later: null })).toBe(await rowHash(row));
    expect(await rowHash({ ...row, status: 201 })).not.toBe(await rowHash(row));
    expect(await rowHash({ request_id: 'r1', status: '200' })).not.toBe(await rowHash(row));
  });
});

describe('redactQuery', () => {
  it('redacts credential parameters and keeps the rest', () => {
    expect(redactQuery('?api-version=1&sig=abc&code=xyz&SIG=q&other=1')).toBe(
      'api-version=1&sig=REDACTED&code=REDACTED&SIG=REDACTED&other=1',
    );
    expect(redactQuery('')).toBe('');
  });

  it('redacts credentials by name pattern and by value, wherever they hide', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
    const redacted = redactQuery(
      `?subscription-key=k1&client_assertion=${jwt}&refresh_token=r1&source=${encodeURIComponent(
        'https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=SECRETSIG',
      )}&monkey=banana&$top=5`,
    );
    for (const secret of ['k1', jwt, 'r1', 'SECRETSIG']) expect(redacted).not.toContain(secret);
    expect(redacted).toContain('monkey=banana');
    expect(redacted).toContain('%24top=5');
  });
});
