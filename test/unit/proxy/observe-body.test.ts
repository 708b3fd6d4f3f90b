import { describe, expect, it } from 'vitest';
import { linkRewriteTransform } from '../../../src/proxy/azure-links.ts';
import { type BodyEnd, observeBody } from '../../../src/proxy/observe-body.ts';

const rewrite = { from: ['https://management.azure.com'], to: 'https://gw.example/arm' };

function chunked(text: string, chunkSize: number, error?: Error): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += chunkSize) controller.enqueue(bytes.slice(i, i + chunkSize));
      if (error) controller.error(error);
      else controller.close();
    },
  });
}

describe('observeBody', () => {
  it('passes bytes through and reports completion with the byte count', async () => {
    const ends: BodyEnd[] = [];
    const text = await new Response(observeBody(chunked('{"a":1}', 3), (end) => ends.push(end))).text();
    expect(text).toBe('{"a":1}');
    expect(ends).toEqual([{ kind: 'completed', bytes: 7 }]);
  });

  it('runs a transform inline, even one that holds chunks back, and counts the bytes sent', async () => {
    const body = '{"value":[],"nextLink":"https://management.azure.com/subscriptions?$skiptoken=x"}';
    const expected = '{"value":[],"nextLink":"https://gw.example/arm/subscriptions?$skiptoken=x"}';
    for (const size of [1, 5, 64]) {
      const ends: BodyEnd[] = [];
      const out = observeBody(chunked(body, size), (end) => ends.push(end), linkRewriteTransform(rewrite));
      expect(await new Response(out).text()).toBe(expected);
      expect(ends).toEqual([{ kind: 'completed', bytes: new TextEncoder().encode(expected).byteLength }]);
    }
  });

  it('reports an upstream error once, and a client that went away', async () => {
    const errored: BodyEnd[] = [];
    const failing = observeBody(chunked('{"a":', 2, new Error('boom')), (end) => errored.push(end));
    await expect(new Response(failing).text()).rejects.toThrow('boom');
    expect(errored).toMatchObject([{ kind: 'errored' }]);

    const aborted: BodyEnd[] = [];
    const stream = observeBody(chunked('{"a":1}', 1), (end) => aborted.push(end));
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel('gone');
    expect(aborted).toEqual([{ kind: 'client_aborted', bytes: 1 }]);
  });
});
