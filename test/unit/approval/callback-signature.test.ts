import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, verifyCallback } from '../../../src/approval/callback-signature.ts';
import { signedHeaders } from '../../../src/approval/webhook-sign.ts';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const NOW = Date.parse('2026-06-01T12:00:00Z');
const BODY = '{"approvalId":"x","decision":"approve"}';

function headers(overrides: Record<string, string | null> = {}, at = NOW, secret = SECRET, body = BODY) {
  const h = new Headers({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(Math.floor(at / 1000)),
    'webhook-signature': new Webhook(secret).sign('msg_1', new Date(at), body),
  });
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) h.delete(name);
    else h.set(name, value);
  }
  return h;
}

describe('verifyCallback (Standard Webhooks)', () => {
  it('accepts a signature made by the standardwebhooks library (control)', async () => {
    expect(await verifyCallback(SECRET, BODY, headers(), NOW)).toEqual({
      ok: true,
      msgId: 'msg_1',
      timestamp: NOW / 1000,
    });
  });

  it('accepts when one of several space-separated signatures matches', async () => {
    const good = headers().get('webhook-signature');
    expect((await verifyCallback(SECRET, BODY, headers({ 'webhook-signature': `v1,AAAA ${good}` }), NOW)).ok).toBe(
      true,
    );
  });

  it.each([
    ['missing id', { 'webhook-id': null }, 'missing_headers'],
    ['missing timestamp', { 'webhook-timestamp': null }, 'missing_headers'],
    ['missing signature', { 'webhook-signature': null }, 'missing_headers'],
    ['non-numeric timestamp', { 'webhook-timestamp': '12e9' }, 'bad_timestamp'],
    ['other version', { 'webhook-signature': 'v1a,abc' }, 'bad_signature'],
    ['garbage signature', { 'webhook-signature': 'v1,!!!' }, 'bad_signature'],
  ])('refuses %s', async (_name, overrides, reason) => {
    expect(await verifyCallback(SECRET, BODY, headers(overrides), NOW)).toEqual({ ok: false, reason });
  });

  it('refuses another secret, a changed body and a changed id', async () => {
    const other = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(await verifyCallback(SECRET, BODY, headers({}, NOW, other), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(await verifyCallback(SECRET, `${BODY} `, headers(), NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyCallback(SECRET, BODY, headers({ 'webhook-id': 'msg_2' }), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses stale and future timestamps beyond the tolerance, accepts at the edge', async () => {
    expect(await verifyCallback(SECRET, BODY, headers({}, NOW - 301_000), NOW)).toEqual({ ok: false, reason: 'stale' });
    expect(await verifyCallback(SECRET, BODY, headers({}, NOW + 301_000), NOW)).toEqual({
      ok: false,
      reason: 'future',
    });
    expect((await verifyCallback(SECRET, BODY, headers({}, NOW - 300_000), NOW)).ok).toBe(true);
  });

  it('refuses a short or malformed secret', async () => {
    expect(await verifyCallback('whsec_AAAA', BODY, headers(), NOW)).toEqual({ ok: false, reason: 'bad_secret' });
  });

  it('compares in constant time over equal lengths only', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });

  it('signs outbound webhooks that the library and this verifier both accept', async () => {
    // The library checks its tolerance against the real clock, so sign at the real time here.
    const now = Date.now();
    const h = signedHeaders(SECRET, 'msg_out', now, BODY);
    expect(new Webhook(SECRET).verify(BODY, h)).toEqual(JSON.parse(BODY));
    expect((await verifyCallback(SECRET, BODY, new Headers(h), now)).ok).toBe(true);
  });
});
