/**
 * Extract the bearer token from a request (RFC 6750 §2.1).
 *
 * Contract: exactly one `Authorization: Bearer <token>` header with a token68 value; anything else
 * (another scheme, an empty value, several tokens) yields undefined — the token is never
 * taken from the query string or a cookie.
 */
export function bearerToken(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  if (!value) return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(value);
  return match?.[1];
}
