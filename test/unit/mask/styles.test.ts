import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256, sha256 } from '../../../src/mask/hmac-sha256.ts';
import { compileMask, createMasker, MaskError } from '../../../src/mask/json-mask-stream.ts';
import { allSplits, encoder, maskText, spec } from './helpers.ts';

const KEY = encoder.encode('test-mask-key');

async function subtleHmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const k = await webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await webcrypto.subtle.sign('HMAC', k, message));
}

describe('sync SHA-256 / HMAC-SHA-256', () => {
  it('matches crypto.subtle for assorted lengths and keys', async () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const message = new Uint8Array(length).map((_, i) => (i * 37 + 11) & 0xff);
      expect(sha256(message)).toEqual(new Uint8Array(await webcrypto.subtle.digest('SHA-256', message)));
      for (const key of [KEY, new Uint8Array(64).fill(7), new Uint8Array(100).fill(9)]) {
        expect(hmacSha256(key, message)).toEqual(await subtleHmac(key, message));
      }
    }
  });
});

describe('mask styles', () => {
  const value = 'abcdefghijklWXYZ';
  it('redact replaces the value with "***"', () => {
    expect(maskText(`{"k":"${value}"}`, spec({ keys: ['k'] }))).toBe('{"k":"***"}');
  });

  it('last4 keeps the last 4 characters of strings of 12+ characters, counted in code points', () => {
    const s = spec({ keys: ['k'], style: 'last4' });
    expect(maskText(`{"k":"${value}"}`, s)).toBe('{"k":"***WXYZ"}');
    expect(maskText('{"k":"short value"}', s)).toBe('{"k":"***"}');
    expect(maskText('{"k":"0123456789ab😀\\"\\u00e9x"}', s)).toBe('{"k":"***😀\\"éx"}');
    expect(maskText('{"k":{"nested":"abcdefghijklmnop"}}', s)).toBe('{"k":"***"}');
  });

  it('hmac gives a keyed hash of the decoded value: equal values match, whatever their escaping', async () => {
    const s = spec({ keys: ['a', 'b', 'c'], style: 'hmac' });
    const text = '{"a":"s3cr3t","b":"s3\\u0063r3t","c":"other"}';
    const out = JSON.parse(maskText(text, s, allSplits(text.length), { hmacKey: KEY })) as Record<string, string>;
    const expected = Buffer.from(await subtleHmac(KEY, encoder.encode('s3cr3t'))).toString('base64url');
    expect(out.a).toBe(`hmac:${expected}`);
    expect(out.b).toBe(out.a);
    expect(out.c).not.toBe(out.a);
    expect(out.c).toMatch(/^hmac:[A-Za-z0-9_-]{43}$/);
  });

  it('hmac without a key fails closed when the mask is compiled', () => {
    const result = compileMask(spec({ keys: ['a'], style: 'hmac' }));
    expect(result.ok).toBe(false);
    expect(() => createMasker(spec({ keys: ['a'], style: 'hmac' }))).toThrow(MaskError);
  });

  it('values over the hold cap are redacted, never passed through or hashed', () => {
    const long = 'x'.repeat(100);
    const text = `{"k":"${long}","d":"${long}","ok":"short"}`;
    for (const splits of [[], [10], [50], allSplits(text.length)]) {
      expect(
        maskText(text, spec({ keys: ['k'], detectors: ['jwt'], style: 'hmac' }), splits, {
          hmacKey: KEY,
          maxValueBytes: 64,
        }),
      ).toBe('{"k":"***","d":"***","ok":"short"}');
    }
  });

  it('styles apply to detector hits too', () => {
    const out = maskText('{"v":"AKIAIOSFODNN7EXAMPLE"}', spec({ detectors: ['aws_access_key_id'], style: 'last4' }));
    expect(out).toBe('{"v":"***MPLE"}');
  });
});
