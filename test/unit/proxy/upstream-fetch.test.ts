import { describe, expect, it } from 'vitest';
import { metadataEndpointsDocument, metadataRequestConnection } from '../../../src/proxy/metadata-endpoints.ts';
import { fetchUpstream, limitBody, mayRetry, traceparent } from '../../../src/proxy/upstream-fetch.ts';

const noSleep = async () => {};

describe('fetchUpstream', () => {
  it('retries an idempotent bodiless request after a connection failure, then succeeds', async () => {
    let calls = 0;
    const result = await fetchUpstream(
      'http://up/x',
      { method: 'GET' },
      {
        timeoutMs: 1000,
        retries: 2,
        sleep: noSleep,
        fetch: async () => {
          calls++;
          if (calls < 2) throw new TypeError('ECONNRESET');
          return new Response('ok');
        },
      },
    );
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it('never retries a POST, a request with a body, or after an upstream answered', async () => {
    expect(mayRetry('POST', false)).toBe(false);
    expect(mayRetry('PUT', true)).toBe(false);
    expect(mayRetry('DELETE', false)).toBe(true);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new TypeError('refused');
    };
    const post = await fetchUpstream(
      'http://up',
      { method: 'POST', body: 'x' },
      { timeoutMs: 1000, retries: 3, sleep: noSleep, fetch: failing },
    );
    expect(post).toMatchObject({ ok: false, reason: 'unreachable', attempts: 1 });
    expect(calls).toBe(1);
    let answered = 0;
    const status = await fetchUpstream(
      'http://up',
      { method: 'GET' },
      {
        timeoutMs: 1000,
        retries: 3,
        sleep: noSleep,
        fetch: async () => {
          answered++;
          return new Response('busy', { status: 503 });
        },
      },
    );
    expect(status).toMatchObject({ ok: true, attempts: 1 });
    expect(answered).toBe(1);
  });

  it('reports a timeout when no response head arrives before the deadline', async () => {
    const hanging = (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    const result = await fetchUpstream('http://up', { method: 'POST' }, { timeoutMs: 5, retries: 0, fetch: hanging });
    expect(result).toMatchObject({ ok: false, reason: 'timeout', attempts: 1 });
  });
});

describe('limitBody', () => {
  it('errors the stream past the limit and says so', async () => {
    const source = new Response('x'.repeat(100)).body as ReadableStream<Uint8Array>;
    const limited = limitBody(source, 10);
    await expect(new Response(limited.body).text()).rejects.toThrow();
    expect(limited.exceeded()).toBe(true);
    const small = limitBody(new Response('ok').body as ReadableStream<Uint8Array>, 10);
    expect(await new Response(small.body).text()).toBe('ok');
    expect(small.exceeded()).toBe(false);
  });
});

describe('traceparent', () => {
  it('keeps a valid caller traceparent and starts one from the request id otherwise', () => {
    const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(traceparent(valid, 'r')).toBe(valid);
    expect(traceparent('garbage', '123e4567-e89b-12d3-a456-426614174000')).toBe(
      '00-123e4567e89b12d3a456426614174000-123e4567e89b12d3-00',
    );
  });
});

describe('metadata endpoints', () => {
  it('matches the path az builds (with or without a doubled slash) and fills what az reads', () => {
    expect(metadataRequestConnection('GET', new URL('https://gw/arm/metadata/endpoints?api-version=2015-01-01'))).toBe(
      'arm',
    );
    expect(metadataRequestConnection('GET', new URL('https://gw/arm//metadata/endpoints'))).toBe('arm');
    expect(metadataRequestConnection('POST', new URL('https://gw/arm/metadata/endpoints'))).toBeUndefined();
    const doc = metadataEndpointsDocument({
      resourceManager: 'https://gw/arm',
      authority: 'https://login.microsoftonline.com',
      audiences: ['api://edgeward'],
    });
    expect(doc).toMatchObject({
      resourceManager: 'https://gw/arm/',
      authentication: { loginEndpoint: 'https://login.microsoftonline.com/', audiences: ['api://edgeward'] },
    });
  });
});
