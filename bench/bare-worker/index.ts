/**
 * The bare pass-through Worker the proxy benchmark compares Edgeward against: same runtime, same
 * upstream, no authentication, policy, audit or masking — `/{anything}/rest` → UPSTREAM + `/rest`.
 */
export default {
  async fetch(request: Request, env: { UPSTREAM: string }): Promise<Response> {
    const url = new URL(request.url);
    const slash = url.pathname.indexOf('/', 1);
    const path = slash === -1 ? '/' : url.pathname.slice(slash);
    const upstream = await fetch(`${env.UPSTREAM}${path}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
    return new Response(upstream.body, upstream);
  },
};
