export { type AuthenticateContext, Authenticator, type AuthenticatorOptions } from './authenticate.ts';
export { bearerToken } from './bearer.ts';
export {
  EntraKeySource,
  type FetchLike,
  type KeyDocument,
  type KeyDocumentStore,
  KeysUnavailableError,
} from './entra-keys.ts';
export { GraphGroupResolver, type GroupLookup, type GroupResolver } from './group-resolver.ts';
export { CacheApiKeyStore } from './key-store-cache-api.ts';
export type { Actor, ActorMode, CredentialType, Principal, Subject } from './principal.ts';
export { VerifiedTokenCache } from './token-cache.ts';
export {
  type TokenFailure,
  type VerifiedToken,
  type VerifyOptions,
  type VerifyResult,
  verifyAccessToken,
} from './verify-token.ts';
export { createWorkerAuthenticator } from './worker-adapter.ts';
