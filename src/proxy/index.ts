export { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
export { type BodyEnd, observeBody } from './observe-body.ts';
export { type Route, type RouteResult, routeRequest } from './route.ts';
