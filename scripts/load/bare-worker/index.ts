/**
 * The baseline for load tests and benchmarks: a bare pass-through Worker on the same runtime and
 * the same local upstream as the gateway, with no authentication, policy, audit or masking.
 */
interface BareEnv {
  UPSTREAM: string;
}

export default {
  async fetch(request: Request, env: BareEnv): Promise<Response> {
    const url = new URL(request.url);
    const slash = url.pathname.indexOf('/', 1);
    const path = slash === -1 ? '/' : url.pathname.slice(slash);
    const upstream = await fetch(`${env.UPSTREAM}${path}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    });
    return new Response(upstream.body, upstream);
  },
};
