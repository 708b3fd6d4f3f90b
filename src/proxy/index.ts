export {
  type ChunkTransform,
  createLinkRewriteStream,
  type LinkRewrite,
  linkRewriteTransform,
  rewriteLink,
  rewriteLinkHeaders,
} from './azure-links.ts';
export * from './credentials/index.ts';
export {
  claimsChallenge,
  credentialUnavailable,
  requestTooLarge,
  upstreamTimeout,
} from './errors.ts';
export {
  checkDeclaredLength,
  decorateClientResponse,
  isEndlessStream,
  linkRewriteFor,
  openWebSocket,
  type Sent,
  sendUpstream,
} from './forward.ts';
export { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
export { kubernetesStatusResponse } from './kubernetes-status.ts';
export { metadataEndpointsDocument, metadataRequestConnection, metadataResponse } from './metadata-endpoints.ts';
export { type BodyEnd, observeBody } from './observe-body.ts';
export { loadProxyRuntime, type ProxyRuntime } from './proxy-runtime.ts';
export {
  allowedMethods,
  headerLookup,
  methodOverride,
  requestShapeProblem,
  type ShapeProblem,
} from './request-shape.ts';
export { type Route, type RouteResult, routeRequest } from './route.ts';
export { fetchUpstream, limitBody, mayRetry, traceparent } from './upstream-fetch.ts';
export { isWebSocketUpgrade, relayWebSocket, type WebSocketSessionEnd } from './websocket.ts';
