import { describe, expect, it } from 'vitest';
import { DETECTORS, luhnValid } from '../../../src/mask/detectors.ts';
import { DETECTOR_NAMES, type DetectorName } from '../../../src/mask/spec.ts';
import { maskText, spec } from './helpers.ts';

const STORAGE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const cases: Record<DetectorName, { hits: string[]; misses: string[] }> = {
  jwt: {
    hits: [
      'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz',
      'Bearer eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.',
    ],
    misses: ['eyJhbGciOiJIUzI1NiJ9 only one part', 'not.a.jwt.at.all', 'xeyJhbGciOiJ9.eyJzdWIiOiJ9.sig'],
  },
  azure_storage_key: {
    hits: [STORAGE_KEY, `DefaultKey ${STORAGE_KEY}`],
    misses: [STORAGE_KEY.slice(1), `${STORAGE_KEY.slice(0, 86)}=`, `x${STORAGE_KEY}`, 'a'.repeat(88)],
  },
  sas_token: {
    hits: [
      'https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-01-01&sp=r&sig=abcDEF123%2B%3D',
      'sv=2022-11-02&ss=b&sig=ZmFrZXNpZ25hdHVyZQ%3D%3D',
      '?sig=abcdefgh12',
    ],
    misses: ['https://example.com/?signature=abc', 'sig=short', 'design=abcdefghijklmnop'],
  },
  connection_string: {
    hits: [
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==;EndpointSuffix=core.windows.net',
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=abc=',
      'Server=tcp:x.database.windows.net;Database=d;User ID=u;Password=p@ss;',
      'host:6380,password=abc,ssl=True',
      'Endpoint=https://x.azconfig.io;Id=abc;Secret=xyz',
    ],
    misses: [
      'AccountName=a;EndpointSuffix=core.windows.net',
      'PasswordPolicy=strict',
      'Password=',
      'the password is hidden',
    ],
  },
  pem_private_key: {
    hits: [
      '-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIE',
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      '-----BEGIN ENCRYPTED PRIVATE KEY-----',
    ],
    misses: ['-----BEGIN PUBLIC KEY-----\nMIIB', '-----BEGIN CERTIFICATE-----\nMIIB'],
  },
  github_token: {
    hits: [`ghp_${'a1B2'.repeat(9)}`, `token gho_${'Z'.repeat(36)}`, `github_pat_${'A1_b'.repeat(20)}`],
    misses: [`ghp_${'a'.repeat(20)}`, `xghp_${'a'.repeat(36)}`, 'github_pat_short'],
  },
  slack_token: {
    hits: ['xoxb-1234567890-abcdefghij', 'xoxp-123-456-789-abcdef0123', 'xapp-1-A0123-456-abc'],
    misses: ['xoxb-short', 'xoxz-1234567890-abcdefghij', 'maxoxb-1234567890-abcdefghij'],
  },
  aws_access_key_id: {
    hits: ['AKIAIOSFODNN7EXAMPLE', 'key=ASIAY34FZKBOKMUTVV7A;'],
    misses: ['AKIAIOSFODNN7EXAMPL', 'AKIAIOSFODNN7EXAMPLEX', 'akiaiosfodnn7example'],
  },
  payment_card: {
    hits: [
      '4111111111111111',
      '4111 1111 1111 1111',
      'card: 5500-0000-0000-0004',
      '378282246310005',
      '6011111111111117',
    ],
    misses: ['4111111111111112', '1234567812345670', '1700000000000', 'order 4111111111111111234'],
  },
};

describe('value detectors', () => {
  it('every registered name has a detector and test cases', () => {
    expect(Object.keys(DETECTORS).sort()).toEqual([...DETECTOR_NAMES].sort());
    expect(Object.keys(cases).sort()).toEqual([...DETECTOR_NAMES].sort());
  });

  for (const name of DETECTOR_NAMES) {
    describe(name, () => {
      it.each(cases[name].hits)('detects %s', (value) => {
        expect(DETECTORS[name].test(value)).toBe(true);
        expect(DETECTORS[name].quick(value)).toBe(true);
        expect(value.length).toBeGreaterThanOrEqual(DETECTORS[name].minLength);
        expect(maskText(JSON.stringify({ v: value }), spec({ detectors: [name] }))).toBe('{"v":"***"}');
      });
      it.each(cases[name].misses)('ignores %s', (value) => {
        expect(DETECTORS[name].test(value)).toBe(false);
        const text = JSON.stringify({ v: value });
        expect(maskText(text, spec({ detectors: [name] }))).toBe(text);
      });
    });
  }

  it('run on decoded values: escapes cannot hide a secret', () => {
    const escaped = '{"v":"\\u0041KIAIOSFODNN7EXAMPLE","w":"AccountKey\\u003dabc"}';
    expect(maskText(escaped, spec({ detectors: ['aws_access_key_id', 'connection_string'] }))).toBe(
      '{"v":"***","w":"***"}',
    );
  });

  it('apply to string values only, not to member names or numbers', () => {
    const text = '{"AKIAIOSFODNN7EXAMPLE":4111111111111111}';
    expect(maskText(text, spec({ detectors: ['aws_access_key_id', 'payment_card'] }))).toBe(text);
  });

  it('luhn', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});
