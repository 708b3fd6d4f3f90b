export {
  type ClientAuthentication,
  certificateAssertion,
  EntraTokenClient,
  type EntraTokenClientOptions,
  type FetchLike,
  type IssuedToken,
  type TokenResult,
} from './entra-token-client.ts';
export { TokenCache } from './token-cache.ts';
export {
  type CredentialContext,
  type CredentialDeps,
  type CredentialMode,
  credentialMode,
  type UpstreamAuth,
  upstreamCredential,
} from './upstream-credential.ts';
