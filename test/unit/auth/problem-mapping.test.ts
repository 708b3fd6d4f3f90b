/** Auth refusals on the wire: RFC 6750 challenges, RFC 9457 bodies with stable codes, no reasons. */
import { describe, expect, it } from 'vitest';
import { actorTokenError, subjectTokenInvalid } from '../../../src/auth/auth-errors.ts';
import { tokenMissing } from '../../../src/errors.ts';
import { problemResponse } from '../../../src/problem.ts';

describe('auth refusals on the wire', () => {
  it('invalid bearer token: 401, invalid_token challenge, code, no reason', async () => {
    const response = problemResponse(actorTokenError('bad_signature', 'signature invalid', false), 'req-1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ status: 401, code: 'EDGEWARD_TOKEN_INVALID' });
    expect(body).not.toContain('bad_signature');
  });

  it('invalid subject token: 401 with the same challenge and its own code', async () => {
    const response = problemResponse(subjectTokenInvalid('x-edgeward-subject-token', 'expired: exp'), 'req-2');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const body = await response.text();
    expect(JSON.parse(body).code).toBe('EDGEWARD_SUBJECT_TOKEN_INVALID');
    expect(body).not.toContain('expired');
  });

  it('no token: 401 challenge without an error attribute (RFC 6750 §3.1)', () => {
    const response = problemResponse(tokenMissing(), 'req-3');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edgeward"');
  });

  it('no signing keys: 503 with Retry-After and no challenge', async () => {
    const response = problemResponse(actorTokenError('keys_unavailable', 'Entra down', false), 'req-4');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(response.headers.has('www-authenticate')).toBe(false);
    expect(((await response.json()) as { code: string }).code).toBe('EDGEWARD_KEYS_UNAVAILABLE');
  });
});
