/**
 * The Hono app: the control plane under `/_gateway/`, everything else through the proxy pipeline.
 */
import { Hono } from 'hono';
import { controlPlane } from './control/control-plane.ts';
import { loadGateway } from './gateway.ts';
import { proxyRequest } from './pipeline.ts';

export const app = new Hono<{ Bindings: Env }>().route('/_gateway', controlPlane).all('*', (c) =>
  proxyRequest(
    c.req.raw,
    loadGateway(c.env, (promise) => c.executionCtx.waitUntil(promise)),
    {
      env: c.env,
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
      now: Date.now,
    },
  ),
);
