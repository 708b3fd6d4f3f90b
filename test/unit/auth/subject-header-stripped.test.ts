/** The human's token never goes upstream, whatever the connection's credential mode. */
import { describe, expect, it } from 'vitest';
import { upstreamRequestHeaders } from '../../../src/proxy/headers.ts';

describe('subject-token header hygiene', () => {
  it.each([true, false])('strips x-edgeward-subject-token (forwardAuthorization %s)', (forwardAuthorization) => {
    const incoming = new Headers({
      authorization: 'Bearer agent',
      'x-edgeward-subject-token': 'human',
      'X-Edgeward-Human': 'custom-name',
    });
    const out = upstreamRequestHeaders(incoming, { requestId: 'r', forwardAuthorization, identityEncoding: false });
    expect(out.has('x-edgeward-subject-token')).toBe(false);
    expect(out.has('x-edgeward-human')).toBe(false);
    expect(out.has('authorization')).toBe(forwardAuthorization);
  });
});
