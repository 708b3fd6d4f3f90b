/**
 * The approver's view of a held request: hostile input first (padding, duplicates, hidden
 * characters, credentials in headers, secrets in the body, oversized and deeply nested bodies),
 * then the shapes of what is shown.
 */
import { describe, expect, it } from 'vitest';
import { approvalIdFor, boundHeaders } from '../../../src/approval/gate.ts';
import {
  APPROVAL_BODY_LIMIT,
  CHAT_BODY_LIMIT,
  canonicalJson,
  headersView,
  type RequestView,
  requestView,
  type ViewInput,
} from '../../../src/approval/request-view.ts';

const encode = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
const READER = '/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7';
const OWNER = '/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
/** 64 bytes, base64: the shape of a storage account key (86 characters and `==`). */
const STORAGE_KEY = btoa(String.fromCharCode(...Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)));
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

function build(body: string | ArrayBuffer, overrides: Partial<ViewInput> = {}) {
  return requestView({
    method: 'PUT',
    connection: 'arm',
    path: '/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r1',
    search: '?api-version=2022-04-01',
    headers: new Headers({ 'content-type': 'application/json' }),
    body: typeof body === 'string' ? encode(body) : body,
    bodySha256: 'f'.repeat(64),
    maskKeys: [],
    ...overrides,
  });
}

function viewOf(body: string | ArrayBuffer, overrides: Partial<ViewInput> = {}): RequestView {
  const result = build(body, overrides);
  if (!result.ok) throw new Error(result.detail);
  return result.view;
}

const bodyText = (view: RequestView) => (view.body && 'text' in view.body ? view.body.text : '');

describe('request view: the decisive part is never cut off', () => {
  it('shows a member that comes after 2,000+ characters of padding', () => {
    const raw = JSON.stringify({
      properties: { description: 'x'.repeat(3000), principalId: 'p-1', roleDefinitionId: OWNER },
    });
    const view = viewOf(raw);
    expect(bodyText(view)).toContain(OWNER);
    expect(bodyText(view)).toContain('x'.repeat(3000));
    // Too long for a chat card: no preview at all rather than a prefix.
    expect(build(raw).ok && (build(raw) as { preview?: string }).preview).toBeUndefined();
  });

  it('shows both occurrences of a duplicate member, in order, and names it', () => {
    const raw = `{"properties":{"roleDefinitionId":"${READER}","description":"${'x'.repeat(2500)}","roleDefinitionId":"${OWNER}"}}`;
    const view = viewOf(raw);
    const text = bodyText(view);
    expect(text.indexOf(READER)).toBeGreaterThan(0);
    expect(text.indexOf(OWNER)).toBeGreaterThan(text.indexOf(READER));
    expect(view.body).toMatchObject({ kind: 'json', duplicateMembers: ['$.properties.roleDefinitionId'] });
  });

  it('decodes escapes and exposes invisible and bidirectional characters', () => {
    const raw = '{"role":"\\u004fwner","note":"abc\u202edcba","zw":"Re\u200bader","\\u0061dmin":true}';
    const text = bodyText(viewOf(raw));
    expect(text).toContain('"role": "Owner"');
    expect(text).toContain('"note": "abc\\u202edcba"');
    expect(text).toContain('"zw": "Re\\u200bader"');
    expect(text).toContain('"admin": true');
    expect(text).not.toMatch(/[\u200b\u202e]/);
  });

  it('keeps numbers exactly as written', () => {
    expect(bodyText(viewOf('{"big":12345678901234567890123,"exp":1E400,"neg":-0.10}'))).toBe(
      '{\n  "big": 12345678901234567890123,\n  "exp": 1E400,\n  "neg": -0.10\n}',
    );
  });

  it('re-serialises with a 2-space indent, like JSON.stringify for plain bodies', () => {
    const value = { a: [1, { b: null, c: [] }, 'x'], d: {}, e: { f: [true, false] }, 'g h': 'é' };
    expect(bodyText(viewOf(JSON.stringify(value)))).toBe(JSON.stringify(value, null, 2));
    expect(bodyText(viewOf(' [ ] '))).toBe('[]');
    expect(bodyText(viewOf('"just a string"'))).toBe('"just a string"');
  });
});

describe('request view: the size cap', () => {
  it(`refuses a body over ${APPROVAL_BODY_LIMIT} bytes as sent`, () => {
    const result = build(JSON.stringify({ pad: 'x'.repeat(APPROVAL_BODY_LIMIT) }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.detail).toContain(String(APPROVAL_BODY_LIMIT));
  });

  it('refuses a body under the cap whose rendering is over it (deep nesting, indentation)', () => {
    const depth = 500; // the masker's nesting limit is 512
    const result = build(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(result.ok).toBe(false);
    const wide = build(JSON.stringify(Array.from({ length: 9000 }, () => [0])));
    expect(wide.ok).toBe(false);
  });

  it('accepts a body just under the cap', () => {
    const raw = JSON.stringify({ pad: 'x'.repeat(APPROVAL_BODY_LIMIT - 100) });
    expect(build(raw).ok).toBe(true);
  });

  it('renders without recursion: deep nesting within the limit works', () => {
    const rendered = canonicalJson(`${'['.repeat(100)}${']'.repeat(100)}`, 2, APPROVAL_BODY_LIMIT);
    expect(typeof rendered).toBe('object');
  });

  it('says undefined for anything that is not exactly one JSON value', () => {
    for (const bad of ['', '{', '{"a":1,}', '[1 2]', '{"a" 1}', '{}{}', 'tru', '01', '{"a":1}x', '"\u0001"']) {
      expect(canonicalJson(bad, 2, 1000), bad).toBeUndefined();
    }
  });
});

describe('request view: no credential, no secret', () => {
  it('withholds authorization, cookies, the subject token and credential-like headers; redacts secret values', () => {
    const headers = new Headers({
      authorization: `Bearer ${JWT}`,
      cookie: 'edgeward_session=abc',
      'x-edgeward-subject-token': JWT,
      'x-ms-authorization-auxiliary': `Bearer ${JWT}`,
      'ocp-apim-subscription-key': 'k-123',
      'x-api-key': 'k-456',
      'x-functions-key': 'k-789',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'x-custom-trace': JWT,
      'x-edgeward-approval-id': 'a'.repeat(32),
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'if-match': '"etag-1"',
      'content-type': 'application/json',
      'user-agent': 'AZURECLI/2.70',
    });
    const shown = headersView(headers);
    const names = shown.map((h) => h.name);
    expect(names).toEqual(['content-type', 'if-match', 'user-agent', 'x-custom-trace']);
    expect(shown.find((h) => h.name === 'x-custom-trace')?.value).toBe('REDACTED');
    const all = JSON.stringify(shown);
    for (const secret of ['eyJ', 'abc', 'k-123', 'k-456', 'k-789', 'Zm9v']) expect(all).not.toContain(secret);
  });

  it('masks secrets in the body: credential names, rule mask keys, every value detector', () => {
    const raw = JSON.stringify({
      properties: {
        password: 'hunter2-xyz',
        settings: { storage: STORAGE_KEY, note: 'AccountName=a;AccountKey=abc123;EndpointSuffix=x' },
        protectedSettings: { commandToExecute: 'rm -rf /' },
        ticket: 'T-1',
        tags: [JWT],
      },
    });
    const view = viewOf(raw, { maskKeys: ['ticket'] });
    const text = bodyText(view);
    for (const secret of ['hunter2-xyz', STORAGE_KEY, 'abc123', 'rm -rf', 'T-1', 'eyJ'])
      expect(text).not.toContain(secret);
    // Values are masked; members stay.
    for (const name of ['password', 'storage', 'note', 'protectedSettings', 'ticket', 'tags'])
      expect(text).toContain(`"${name}":`);
    expect(text).toContain('"password": "***"');
    expect(JSON.stringify(view)).not.toContain('hunter2-xyz');
  });

  it('redacts the query like the audit does', () => {
    const view = viewOf('', { search: "?api-version=1&sig=abcdefghijkl&code=xyz&$filter=name eq 'a'" });
    expect(view.query).toBe('api-version=1&sig=REDACTED&code=REDACTED&%24filter=name+eq+%27a%27');
  });
});

describe('request view: bodies that are not JSON', () => {
  it('shows UTF-8 text with secret lines masked', () => {
    const text = bodyText(
      viewOf(
        'apiVersion: v1\nkind: Secret\nstringData:\n  user: admin\n  pass: hunter2-xyz\nmetadata:\n  name: s1\npassword=hunter2-abc\n',
        {
          headers: new Headers({ 'content-type': 'application/yaml' }),
        },
      ),
    );
    expect(text).toContain('kind: Secret');
    expect(text).toContain('name: s1');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('admin');
  });

  it('masks form fields by name and value', () => {
    const view = viewOf(`grant_type=client_credentials&client_secret=s3cr3t&scope=x&note=${JWT}`, {
      headers: new Headers({ 'content-type': 'application/x-www-form-urlencoded' }),
    });
    const text = bodyText(view);
    expect(text).toContain('grant_type=client_credentials');
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('eyJ');
  });

  it('shows binary and invalid UTF-8 bodies by size and SHA-256 only', () => {
    const binary = viewOf(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x01]).buffer as ArrayBuffer);
    expect(binary.body).toEqual({ kind: 'opaque', bytes: 6, sha256: 'f'.repeat(64), reason: 'binary' });
    const invalid = viewOf(new Uint8Array([0x68, 0xff, 0xfe, 0x69]).buffer as ArrayBuffer);
    expect(invalid.body).toMatchObject({ kind: 'opaque', reason: 'not_utf8' });
  });

  it('never shows JSON the masker refused as text (malformed, or nested too deep)', () => {
    for (const raw of [
      '{"adminPassword":"hunter2-xyz"} trailing',
      `${'['.repeat(20_000)}"hunter2-xyz"${']'.repeat(20_000)}`,
    ]) {
      const view = viewOf(raw);
      expect(view.body).toMatchObject({ kind: 'opaque', reason: 'unmaskable' });
      expect(JSON.stringify(view)).not.toContain('hunter2');
    }
    const typed = viewOf('not json at all', {
      headers: new Headers({ 'content-type': 'application/merge-patch+json' }),
    });
    expect(typed.body).toMatchObject({ kind: 'opaque', reason: 'unmaskable' });
  });

  it('masks quoted credential members inside text lines', () => {
    const text = bodyText(
      viewOf(`config: {"clientSecret": "s3cr3t-1", 'apiKey': k2, "name": "ok"}`, {
        headers: new Headers({ 'content-type': 'text/plain' }),
      }),
    );
    expect(text).not.toContain('s3cr3t-1');
    expect(text).not.toContain('k2');
    expect(text).toContain('"name": "ok"');
  });

  it('has no body section for an empty body', () => {
    expect(viewOf('').body).toBeNull();
  });
});

describe('request view: embedded requests and template resources', () => {
  it('keeps them, with their queries redacted', () => {
    const view = viewOf('{}', {
      embedded: [
        {
          name: '<script>alert(1)</script>',
          method: 'DELETE',
          url: '/subscriptions/s/resourceGroups/rg?api-version=1&sig=abcdefghijkl',
          operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
          resourceId: '/subscriptions/s/resourceGroups/rg',
          decision: 'require_approval',
          ruleIds: ['rg-delete'],
        },
      ],
      templateResources: {
        resources: [{ type: 'Microsoft.Storage/storageAccounts', name: 'st1' }],
        truncated: true,
        linked: 'https://st.blob.core.windows.net/t/main.json?sv=2022&sig=abcdefghijklmnop',
      },
    });
    expect(view.embedded?.[0]).toMatchObject({
      name: '<script>alert(1)</script>',
      url: '/subscriptions/s/resourceGroups/rg?api-version=1&sig=REDACTED',
    });
    expect(view.templateResources).toEqual({
      resources: [{ type: 'Microsoft.Storage/storageAccounts', name: 'st1' }],
      truncated: true,
      linked: 'https://st.blob.core.windows.net/t/main.json?sv=2022&sig=REDACTED',
    });
  });
});

describe('request view: chat preview', () => {
  it('is the whole compact body when it fits, else absent', () => {
    const short = build('{ "a" : 1 ,"password":"p"}');
    expect(short.ok && short.preview).toBe('{"a":1,"password":"***"}');
    const long = build(JSON.stringify({ a: 'x'.repeat(CHAT_BODY_LIMIT) }));
    expect(long.ok && long.preview).toBeUndefined();
  });

  it('is absent for a text body, however short (its masking is best effort)', () => {
    const text = build('user: admin\nnote: hello\n', { headers: new Headers({ 'content-type': 'application/yaml' }) });
    expect(text.ok && text.view.body?.kind).toBe('text');
    expect(text.ok && text.preview).toBeUndefined();
  });
});

describe('approval binding: headers that change what runs', () => {
  const base = {
    connection: 'k8s',
    method: 'DELETE',
    path: '/api/v1/namespaces/prod',
    query: '',
    bodySha256: 'e'.repeat(64),
    subjectOid: 'oid',
    actorAppId: 'app',
    contentType: null,
    ruleId: 'r',
    approval: { count: 1 },
  };

  it('binds impersonation and preconditions, not per-attempt headers', async () => {
    const plain = await approvalIdFor(base);
    expect(await approvalIdFor({ ...base, headers: [] })).toBe(plain);
    const noise = new Headers({
      'x-ms-client-request-id': crypto.randomUUID(),
      'user-agent': 'kubectl',
      prefer: 'wait=5',
    });
    expect(await approvalIdFor({ ...base, headers: boundHeaders(noise) })).toBe(plain);
    const impersonating = boundHeaders(new Headers({ 'Impersonate-User': 'system:admin' }));
    expect(impersonating).toEqual([['impersonate-user', 'system:admin']]);
    expect(await approvalIdFor({ ...base, headers: impersonating })).not.toBe(plain);
    expect(await approvalIdFor({ ...base, headers: boundHeaders(new Headers({ 'if-match': '*' })) })).not.toBe(plain);
  });
});

describe('request view: the whole view is bounded', () => {
  it('refuses a request whose embedded list is too large to keep', () => {
    const embedded = Array.from({ length: 3000 }, (_, n) => ({
      name: String(n),
      method: 'DELETE',
      url: `/subscriptions/s/resourceGroups/${'r'.repeat(200)}${n}`,
      operation: 'Microsoft.Resources/subscriptions/resourceGroups/delete',
      resourceId: `/subscriptions/s/resourceGroups/${n}`,
      decision: 'require_approval',
      ruleIds: ['rg-delete'],
    }));
    const result = build('{}', { embedded });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.detail).toContain('too large to show');
  });
});
