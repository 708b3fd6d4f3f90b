import { describe, expect, it } from 'vitest';
import { decodingFor, framingFor, maskResponse } from '../../../src/mask/mask-response.ts';
import { EMPTY_MASK } from '../../../src/mask/spec.ts';
import { encoder, spec } from './helpers.ts';

const MASK = spec({ keys: ['value'] });

function streamOf(bytes: Uint8Array, chunk = 7): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

async function compress(bytes: Uint8Array, format: 'gzip' | 'deflate'): Promise<Uint8Array> {
  const stream = streamOf(bytes, 1000).pipeThrough(
    new CompressionStream(format) as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function upstream(body: Uint8Array | null, headers: Record<string, string>, status = 200): Response {
  return new Response(body === null ? null : streamOf(body), { status, headers });
}

describe('framingFor', () => {
  it.each([
    ['application/json', undefined, 'json'],
    ['application/json; charset=utf-8', undefined, 'json'],
    ['Application/JSON', undefined, 'json'],
    ['application/problem+json', undefined, 'json'],
    ['application/vnd.api+json', undefined, 'json'],
    ['application/x-ndjson', undefined, 'ndjson'],
    ['application/jsonl', undefined, 'ndjson'],
    ['application/json-seq', undefined, 'json-seq'],
    ['application/json;stream=watch', undefined, 'ndjson'],
    ['application/json', 'https://gw/k8s/api/v1/secrets?watch=1', 'ndjson'],
    ['application/json', 'https://gw/k8s/api/v1/secrets?watch=true', 'ndjson'],
    ['application/json', 'https://gw/k8s/api/v1/secrets?watch=false', 'json'],
    ['text/xml', undefined, undefined],
    ['application/xml', undefined, undefined],
    ['text/plain', undefined, undefined],
    ['text/json', undefined, undefined],
    [null, undefined, undefined],
  ])('%s %s → %s', (type, url, framing) => {
    expect(framingFor(type, url)).toBe(framing);
  });
});

describe('decodingFor', () => {
  it.each([
    [null, 'identity'],
    ['identity', 'identity'],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['deflate', 'deflate'],
    ['br', undefined],
    ['zstd', undefined],
    ['gzip, gzip', undefined],
    ['compress', undefined],
  ])('%s → %s', (encoding, decoding) => {
    expect(decodingFor(encoding)).toBe(decoding);
  });
});

describe('maskResponse', () => {
  const body = encoder.encode('{"keys":[{"keyName":"key1","value":"SECRET"}]}');

  it('masks a JSON body, drops Content-Length and digests, weakens a strong ETag, keeps Content-Type', async () => {
    const headers = new Headers({
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(body.length),
      etag: '"abc"',
      'content-md5': 'xyz',
    });
    const result = maskResponse(upstream(body, Object.fromEntries(headers)), headers, MASK);
    if (!result.ok) throw new Error(result.reason);
    expect(await new Response(result.body).text()).toBe('{"keys":[{"keyName":"key1","value":"***"}]}');
    expect(result.headers.get('content-length')).toBeNull();
    expect(result.headers.get('content-md5')).toBeNull();
    expect(result.headers.get('etag')).toBe('W/"abc"');
    expect(result.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(result.report).toEqual({ maskedCount: 1, maskedPaths: ['$.keys[0].value'] });
  });

  it('refuses a partial (206) response: a byte range takes values out of their context', () => {
    const partial = encoder.encode('{"keyName":"key1","value":"SECRET1"}');
    const headers = new Headers({ 'content-type': 'application/json', 'content-range': 'bytes 9-44/60' });
    const result = maskResponse(upstream(partial, Object.fromEntries(headers), 206), headers, MASK);
    expect(result).toMatchObject({ ok: false, kind: 'unmaskable' });
  });

  it('keeps a weak ETag as it is', () => {
    const headers = new Headers({ 'content-type': 'application/json', etag: 'W/"abc"' });
    const result = maskResponse(upstream(body, Object.fromEntries(headers)), headers, MASK);
    expect(result.ok && result.headers.get('etag')).toBe('W/"abc"');
  });

  it.each(['gzip', 'deflate'] as const)('decodes %s, masks, and sends the body decoded', async (format) => {
    const compressed = await compress(body, format);
    const headers = new Headers({ 'content-type': 'application/json', 'content-encoding': format });
    const result = maskResponse(upstream(compressed, Object.fromEntries(headers)), headers, MASK);
    if (!result.ok) throw new Error(result.reason);
    expect(result.headers.get('content-encoding')).toBeNull();
    expect(await new Response(result.body).text()).toBe('{"keys":[{"keyName":"key1","value":"***"}]}');
  });

  it('errors the stream when a gzip body is corrupt, without emitting a secret', async () => {
    const compressed = await compress(body, 'gzip');
    const corrupt = compressed.slice(0, compressed.length - 12);
    const headers = new Headers({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const result = maskResponse(upstream(corrupt, Object.fromEntries(headers)), headers, MASK);
    if (!result.ok) throw new Error(result.reason);
    const reader = (result.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += new TextDecoder().decode(value);
        }
      })(),
    ).rejects.toThrow();
    expect(text).not.toContain('SECRET');
  });

  it.each([
    [{ 'content-type': 'application/xml' }, /not JSON/],
    [{ 'content-type': 'text/html' }, /not JSON/],
    [{}, /not JSON/],
    [{ 'content-type': 'application/json', 'content-encoding': 'br' }, /cannot be decoded/],
    [{ 'content-type': 'application/json', 'content-encoding': 'gzip, deflate' }, /cannot be decoded/],
  ])('refuses %j as unmaskable', (h, reason) => {
    const headers = new Headers(h);
    const result = maskResponse(upstream(body, h), headers, MASK);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.kind).toBe('unmaskable');
      expect(result.reason).toMatch(reason);
    }
  });

  it('refuses an hmac mask without a key as a misconfiguration', () => {
    const headers = new Headers({ 'content-type': 'application/json' });
    const result = maskResponse(upstream(body, Object.fromEntries(headers)), headers, { ...MASK, style: 'hmac' });
    expect(result.ok || result.kind).toBe('misconfigured');
  });

  it('errors the body of a lying content type (JSON declared, something else sent)', async () => {
    const headers = new Headers({ 'content-type': 'application/json' });
    const result = maskResponse(
      upstream(encoder.encode('<xml value="SECRET"/>'), Object.fromEntries(headers)),
      headers,
      MASK,
    );
    if (!result.ok) throw new Error(result.reason);
    await expect(new Response(result.body).text()).rejects.toThrow(/malformed JSON/);
  });

  it('masks a Kubernetes watch stream (application/json with ?watch=1) event by event', async () => {
    const events = encoder.encode(
      '{"type":"ADDED","object":{"data":{"value":"SECRET1"}}}\n{"type":"MODIFIED","object":{"data":{"value":"SECRET2"}}}\n',
    );
    const headers = new Headers({ 'content-type': 'application/json' });
    const result = maskResponse(upstream(events, Object.fromEntries(headers)), headers, MASK, {
      requestUrl: 'https://gw/k8s/api/v1/secrets?watch=1',
    });
    if (!result.ok) throw new Error(result.reason);
    expect(await new Response(result.body).text()).toBe(
      '{"type":"ADDED","object":{"data":{"value":"***"}}}\n{"type":"MODIFIED","object":{"data":{"value":"***"}}}\n',
    );
    expect(result.report).toEqual({
      maskedCount: 2,
      maskedPaths: ['$[0].object.data.value', '$[1].object.data.value'],
    });
  });

  it('masks RFC 7464 JSON text sequences', async () => {
    const seq = encoder.encode('\x1e{"value":"SECRET1"}\n\x1e{"value":"SECRET2"}\n');
    const headers = new Headers({ 'content-type': 'application/json-seq' });
    const result = maskResponse(upstream(seq, Object.fromEntries(headers)), headers, MASK);
    if (!result.ok) throw new Error(result.reason);
    expect(await new Response(result.body).text()).toBe('\x1e{"value":"***"}\n\x1e{"value":"***"}\n');
  });

  it('passes bodiless responses and empty masks through untouched', () => {
    const headers = new Headers({ 'content-type': 'text/xml', 'content-length': '3' });
    const noContent = maskResponse(upstream(null, {}, 204), headers, MASK);
    expect(noContent.ok && noContent.body).toBeNull();
    const head = maskResponse(upstream(body, {}), headers, MASK, { method: 'HEAD' });
    expect(head.ok && head.headers.get('content-length')).toBe('3');
    const empty = maskResponse(upstream(body, {}), headers, EMPTY_MASK);
    expect(empty.ok && empty.headers.get('content-length')).toBe('3');
  });
});

describe('framings in the core', () => {
  it('NDJSON needs a newline between texts; JSON text sequences need RS before each', async () => {
    const { maskText } = await import('./helpers.ts');
    expect(maskText('{"value":1}\r\n\n{"value":2}', MASK, [], { framing: 'ndjson' })).toBe(
      '{"value":"***"}\r\n\n{"value":"***"}',
    );
    expect(maskText('', MASK, [], { framing: 'ndjson' })).toBe('');
    expect(() => maskText('{"a":1} {"b":2}', MASK, [], { framing: 'ndjson' })).toThrow(/data after/);
    expect(() => maskText('{"a":1}\n{"b":', MASK, [], { framing: 'ndjson' })).toThrow(/truncated/);
    expect(maskText('\x1e1\n\x1e\x1e"x"\n', MASK, [], { framing: 'json-seq' })).toBe('\x1e1\n\x1e\x1e"x"\n');
    expect(() => maskText('{"a":1}', MASK, [], { framing: 'json-seq' })).toThrow(/data after/);
    expect(() => maskText('\x1e{"a":1}{"b":2}', MASK, [], { framing: 'json-seq' })).toThrow(/data after/);
  });
});

describe('maskBody', () => {
  it('cancels the source and errors when masking fails, and passes cancellation upstream', async () => {
    const { maskBody } = await import('../../../src/mask/mask-body.ts');
    const { compileMask } = await import('../../../src/mask/json-mask-stream.ts');
    const compiled = compileMask(MASK);
    if (!compiled.ok) throw new Error(compiled.reason);
    let cancelled: unknown;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"value":"SECRET" oops'));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const masked = maskBody(source, compiled.mask);
    await expect(new Response(masked.body).text()).rejects.toThrow(/malformed JSON/);
    expect(String(cancelled)).toMatch(/malformed JSON/);

    let cancelledByClient = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(encoder.encode('['));
      },
      cancel() {
        cancelledByClient = true;
      },
    });
    const reader = maskBody(endless, compiled.mask).body.getReader();
    await reader.read();
    await reader.cancel('client went away');
    expect(cancelledByClient).toBe(true);
  });
});
