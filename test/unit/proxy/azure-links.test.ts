import { describe, expect, it } from 'vitest';
import { createLinkRewriteStream, rewriteLink, rewriteLinkHeaders } from '../../../src/proxy/azure-links.ts';

const rewrite = { from: ['https://management.azure.com', 'http://127.0.0.1:8790'], to: 'https://gw.example/arm' };

async function run(text: string, chunkSize: number): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += chunkSize) controller.enqueue(bytes.slice(i, i + chunkSize));
      controller.close();
    },
  });
  return new Response(source.pipeThrough(createLinkRewriteStream(rewrite))).text();
}

describe('rewriteLink', () => {
  it('rewrites only URLs under an upstream base, on a path or query boundary', () => {
    expect(rewriteLink('https://management.azure.com/subscriptions/x?api-version=1', rewrite)).toBe(
      'https://gw.example/arm/subscriptions/x?api-version=1',
    );
    expect(rewriteLink('http://127.0.0.1:8790/op/1', rewrite)).toBe('https://gw.example/arm/op/1');
    expect(rewriteLink('https://management.azure.com.evil.example/x', rewrite)).toBe(
      'https://management.azure.com.evil.example/x',
    );
    expect(rewriteLink('https://storage.example/blob?sig=abc', rewrite)).toBe('https://storage.example/blob?sig=abc');
  });

  it('rewrites Location, Azure-AsyncOperation and Operation-Location headers', () => {
    const headers = new Headers({
      location: 'https://management.azure.com/subscriptions/s/operationresults/1',
      'azure-asyncoperation': 'https://management.azure.com/subscriptions/s/operations/1',
      'retry-after': '10',
    });
    expect(rewriteLinkHeaders(headers, rewrite)).toEqual(['location', 'azure-asyncoperation']);
    expect(headers.get('location')).toBe('https://gw.example/arm/subscriptions/s/operationresults/1');
    expect(headers.get('azure-asyncoperation')).toBe('https://gw.example/arm/subscriptions/s/operations/1');
  });
});

describe('createLinkRewriteStream', () => {
  const page = JSON.stringify({
    value: [{ id: '/subscriptions/s', nextLink: 'not a member we touch inside strings' }, { note: '"nextLink":"x' }],
    nextLink: 'https://management.azure.com/subscriptions?api-version=1&%24skiptoken=abc',
    '@odata.nextLink': 'http://127.0.0.1:8790/v1.0/users?$skiptoken=z',
    other: 'https://management.azure.com/keep',
  });
  const expected = page
    .replace('https://management.azure.com/subscriptions?', 'https://gw.example/arm/subscriptions?')
    .replace('http://127.0.0.1:8790/v1.0', 'https://gw.example/arm/v1.0');

  it.each([1, 2, 3, 7, 64, 100_000])('rewrites nextLink values identically for chunks of %i bytes', async (size) => {
    expect(await run(page, size)).toBe(expected);
  });

  it('leaves foreign links, escaped and non-string values, and non-link members alone', async () => {
    const text =
      '{"nextLink":"https://other.example/x","a":{"nextLink":null},"nextLink" : "https:\\/\\/management.azure.com\\/p","b":"https://management.azure.com/q","c":"\\u0041"}';
    expect(JSON.parse(await run(text, 5))).toEqual({
      nextLink: 'https://gw.example/arm/p',
      a: { nextLink: null },
      b: 'https://management.azure.com/q',
      c: 'A',
    });
  });

  it('passes a value too long to be a link through unchanged', async () => {
    const long = `https://management.azure.com/${'x'.repeat(20_000)}`;
    const text = JSON.stringify({ nextLink: long, after: 1 });
    expect(await run(text, 1000)).toBe(text);
  });
});
