export { authenticate } from './authenticate.ts';
export { bearerToken } from './bearer.ts';
export { EntraKeySource, type FetchLike, KeysUnavailableError } from './entra-keys.ts';
export type { Actor, CredentialType, Principal, Subject } from './principal.ts';
export { type TokenFailure, type VerifyOptions, type VerifyResult, verifyAccessToken } from './verify-token.ts';
