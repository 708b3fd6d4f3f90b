/**
 * Masking through the whole gateway in workerd: compressed and chunked upstream answers, a
 * non-JSON answer refused with 502, and a truncated answer that errors the stream and is audited.
 */
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from '../../src/mask/hmac-sha256.ts';
import { auditRow, gateway, mintToken, SUB } from './helpers.ts';

const LIST_KEYS = `/arm/subscriptions/${SUB}/resourceGroups/demo-rg/providers/Microsoft.Storage/storageAccounts/demo/listKeys?api-version=2023-05-01`;

async function listKeys(variant: string): Promise<Response> {
  const token = await mintToken({ user: 'alice@contoso.com', groups: ['writers'] });
  return gateway(LIST_KEYS, { token, method: 'POST', headers: { 'x-demo-response': variant } });
}

describe('masking through the gateway (workerd)', () => {
  it('asks the upstream for gzip, decodes it, masks it and sends it decoded', async () => {
    const response = await listKeys('gzip');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-demo-accept-encoding')).toMatch(/gzip/);
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('etag')).toBe('W/"demo-etag"');
    const body = (await response.json()) as { keys: { keyName: string; value: string }[] };
    expect(body.keys).toMatchObject([
      { keyName: 'key1', value: '***' },
      { keyName: 'key2', value: '***' },
    ]);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ outcome: 'completed', masked_count: 2 });
  });

  it('masks an answer that arrives a few bytes at a time', async () => {
    const response = await listKeys('chunked');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ keys: [{ value: '***' }, { value: '***' }] });
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(JSON.parse(String(row?.masked_paths))).toEqual(['$.keys[0].value', '$.keys[1].value']);
  });

  it('refuses a non-JSON answer that must be masked with a 502 problem', async () => {
    const response = await listKeys('xml');
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const text = await response.text();
    expect((JSON.parse(text) as { code: string }).code).toBe('EDGEWARD_UPSTREAM_UNMASKABLE');
    expect(text).not.toContain('<key');
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ outcome: 'mask_error', status: 502 });
  });

  it('errors the body of a truncated answer, leaks no key, and audits a mask error', async () => {
    const response = await listKeys('truncated');
    expect(response.status).toBe(200);
    let text = '';
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
    expect(text).toContain('"keyName":"key1","value":"***"');
    expect(text).not.toMatch(/"value":"[A-Za-z0-9+/]{8,}/);
    const row = await auditRow(response.headers.get('x-edgeward-request-id') ?? '');
    expect(row).toMatchObject({ outcome: 'mask_error' });
    expect(String(row?.detail)).toMatch(/truncated JSON/);
  });

  it('computes the hmac style synchronously inside workerd, equal to WebCrypto', async () => {
    const key = new TextEncoder().encode('mask-hmac-key');
    const message = new TextEncoder().encode('DefaultEndpointsProtocol=https;AccountKey=abc');
    const subtleKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const expected = new Uint8Array(await crypto.subtle.sign('HMAC', subtleKey, message));
    expect(hmacSha256(key, message)).toEqual(expected);
  });
});
