import { describe, expect, it } from 'vitest';
import { captureBody, capturedFromBytes, maskedBody } from '../../../src/audit/body-capture.ts';

describe('maskedBody: secret-bearing names in real Azure and Kubernetes bodies', () => {
  it.each([
    ['an Azure SQL server', { properties: { administratorLoginPassword: 'Hunter2-Pa55word!' } }, 'Hunter2-Pa55word!'],
    [
      'a VM extension',
      { properties: { protectedSettings: { storageAccountKey: 'c3RvcmFnZQ==', commandToExecute: 'run.sh s3cret' } } },
      's3cret',
    ],
    ['a VPN connection', { properties: { sharedKey: 'MyVpnSharedKey123' } }, 'MyVpnSharedKey123'],
    [
      'a Kubernetes Secret',
      { kind: 'Secret', stringData: { token: 'abc123' }, data: { pw: 'aHVudGVyMg==' } },
      'aHVudGVyMg==',
    ],
  ])('keeps no secret of %s', (_name, body, secret) => {
    const text = maskedBody(capturedFromBytes(new TextEncoder().encode(JSON.stringify(body)), 8192)) ?? '';
    expect(text).not.toContain(secret);
    expect(text).toContain('***');
  });
});

const enc = new TextEncoder();
function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(enc.encode(chunk));
      controller.close();
    },
  });
}

describe('request body capture', () => {
  it('passes the body through unchanged, counts it and keeps only the capped prefix', async () => {
    const chunks = [
      '{"location":"westeurope",',
      '"properties":{"adminPassword":"hunter2"},',
      `"tags":{"n":"${'x'.repeat(100)}"}}`,
    ];
    const { stream, captured } = captureBody(streamOf(chunks), 40);
    const passed = await new Response(stream).text();
    expect(passed).toBe(chunks.join(''));
    const result = captured();
    expect(result.bytes).toBe(passed.length);
    expect(result.truncated).toBe(true);
    expect(result.prefix.byteLength).toBe(40);
  });

  it('masks secret members of complete and truncated JSON', () => {
    const body = '{"location":"x","properties":{"adminPassword":"hunter2","keys":["k1","k2"]},"name":"n"}';
    expect(JSON.parse(maskedBody(capturedFromBytes(enc.encode(body), 1024)) ?? '')).toEqual({
      location: 'x',
      properties: { adminPassword: '***', keys: '***' },
      name: 'n',
    });
    // Cut in the middle of a secret value: nothing of the value is kept.
    const cut = body.indexOf('hunter2') + 3;
    const truncated = maskedBody(capturedFromBytes(enc.encode(body), cut)) ?? '';
    expect(truncated).not.toContain('hun');
    expect(truncated).toBe('{"location":"x","properties":{"adminPassword":"***"');
  });

  it('keeps no content of a body that is not JSON, and nothing for an empty body', () => {
    expect(maskedBody(capturedFromBytes(enc.encode('password=hunter2'), 1024))).toBe(
      '[body not kept: not JSON, 16 bytes]',
    );
    expect(maskedBody(capturedFromBytes(new Uint8Array(0), 1024))).toBeUndefined();
  });

  it('masks extra keys that policy names', () => {
    const text = maskedBody(capturedFromBytes(enc.encode('{"apiSecretThing":"s","ok":1}'), 1024), ['apiSecretThing']);
    expect(JSON.parse(text ?? '')).toEqual({ apiSecretThing: '***', ok: 1 });
  });
});
