/**
 * Send one request upstream with a deadline for the response headers, and retry only what is safe
 * to retry.
 *
 * Contract: the deadline covers connecting and waiting for the response head — never the body, so
 * a Kubernetes watch or a long download streams for as long as it lasts. A retry happens only for
 * a method that is idempotent and carries no body (so nothing unrepeatable was consumed), only
 * after a connection failure or a timeout — i.e. always before any response byte reached the
 * client — and never after an upstream answered (any status). Injected `fetch` and `sleep`.
 */

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface UpstreamFetchOptions {
  timeoutMs: number;
  retries: number;
  fetch: FetchLike;
  sleep?: (ms: number) => Promise<void>;
}

export type UpstreamResult =
  | { ok: true; response: Response; attempts: number }
  | { ok: false; reason: 'timeout' | 'unreachable'; detail: string; attempts: number };

const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export function mayRetry(method: string, hasBody: boolean): boolean {
  return RETRYABLE_METHODS.has(method) && !hasBody;
}

export async function fetchUpstream(
  url: string,
  init: RequestInit,
  options: UpstreamFetchOptions,
): Promise<UpstreamResult> {
  const method = (init.method ?? 'GET').toUpperCase();
  const attemptsAllowed = mayRetry(method, init.body !== null && init.body !== undefined) ? 1 + options.retries : 1;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let last: UpstreamResult = { ok: false, reason: 'unreachable', detail: 'not attempted', attempts: 0 };
  for (let attempt = 1; attempt <= attemptsAllowed; attempt++) {
    if (attempt > 1) await sleep(100 * 2 ** (attempt - 2));
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    try {
      const response = await options.fetch(url, { ...init, signal: controller.signal });
      return { ok: true, response, attempts: attempt };
    } catch (error) {
      last = timedOut
        ? { ok: false, reason: 'timeout', detail: `no response head within ${options.timeoutMs} ms`, attempts: attempt }
        : { ok: false, reason: 'unreachable', detail: String(error).slice(0, 200), attempts: attempt };
    } finally {
      clearTimeout(timer);
    }
  }
  return last;
}

/**
 * Count request body bytes on their way upstream and stop at `limit`: the stream errors and
 * `exceeded()` turns true, so the caller can answer 413 rather than 502.
 */
export function limitBody(
  body: ReadableStream<Uint8Array>,
  limit: number,
): { body: ReadableStream<Uint8Array>; exceeded: () => boolean; bytes: () => number } {
  let total = 0;
  let over = false;
  const reader = body.getReader();
  // A pull-based wrapper rather than pipeThrough: erroring it leaves no rejected pipe promise behind.
  const limited = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      total += value.byteLength;
      if (total > limit) {
        over = true;
        controller.error(new Error('request body over limit'));
        await reader.cancel('request body over limit').catch(() => undefined);
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body: limited, exceeded: () => over, bytes: () => total };
}

/** W3C Trace Context: keep a valid caller `traceparent`, else start a trace from the request id. */
export function traceparent(incoming: string | null, requestId: string): string {
  if (incoming && /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(incoming)) return incoming;
  const hex = requestId.replaceAll('-', '').padEnd(32, '0').slice(0, 32);
  return `00-${hex}-${hex.slice(0, 16)}-00`;
}
