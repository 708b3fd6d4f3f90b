// What the mock upstreams that execute whatever they are given (demo-arm.mjs, mock-graph.mjs)
// share: method overrides, the request log behind `GET /_received`, the test hooks, and the
// header / URL helpers their routers and batches use. Development and tests only.

const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'];
const OVERRIDE_PARAMETERS = ['_method', 'x-http-method'];

/** Requests per batch (ARM `/batch` and Graph `$batch` both allow 20). */
export const BATCH_LIMIT = 20;

/** The method a mock executes: an override header or query parameter wins over the transport. */
export function effectiveMethod(method, url, headers) {
  for (const name of OVERRIDE_HEADERS) {
    const value = header(headers, name);
    if (value?.trim()) return value.trim().toUpperCase();
  }
  for (const [name, value] of url.searchParams) {
    if (OVERRIDE_PARAMETERS.includes(name.toLowerCase()) && value.trim()) return value.trim().toUpperCase();
  }
  return method;
}

/** A header of a Node request (or of a plain lower-cased object): its first value, as a string. */
export function header(headers, name) {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value);
}

/** An embedded request's own headers (batch entries name them in any case), lower-cased. */
export const lowerCaseKeys = (object) =>
  object && typeof object === 'object'
    ? Object.fromEntries(Object.entries(object).map(([key, value]) => [key.toLowerCase(), String(value)]))
    : {};

/** A batch entry's body as the text the router reads: a string as is, anything else as JSON. */
export const bodyText = (content) =>
  content === undefined ? '' : typeof content === 'string' ? content : JSON.stringify(content);

/** A path (+ query) on the mock's own origin; an absolute URL keeps only its path and query. */
export function resolveOn(base, target) {
  let parsed = target;
  if (typeof target === 'string') {
    try {
      parsed = new URL(target, 'http://localhost');
    } catch {
      parsed = new URL('http://localhost/');
    }
  }
  let url;
  try {
    url = new URL(base);
  } catch {
    url = new URL('http://localhost');
  }
  url.pathname = parsed.pathname;
  url.search = parsed.search;
  return url;
}

/**
 * The last 1000 requests a mock received, direct or embedded in a batch: `received` holds
 * { method, path, search, headers, body, executedMethod? } (`executedMethod` when an override
 * changed it); `query` answers `GET /_received?clientRequestId=&marker=` — `clientRequestId`
 * matches any of `idHeaders`, `marker` a substring of path, search (raw or decoded) or body.
 */
export function requestLog(idHeaders) {
  const received = [];
  return {
    received,
    record(method, url, headers, body) {
      const executed = effectiveMethod(method, url, headers);
      received.push({
        method,
        path: url.pathname,
        search: url.search,
        headers,
        body,
        ...(executed !== method ? { executedMethod: executed } : {}),
      });
      if (received.length > 1000) received.shift();
    },
    query(params) {
      const id = params.get('clientRequestId');
      const marker = params.get('marker');
      return received.filter((r) => {
        if (id !== null && !idHeaders.some((name) => header(r.headers, name) === id)) return false;
        if (marker !== null) {
          let decoded = r.search;
          try {
            decoded = decodeURIComponent(r.search);
          } catch {}
          return [r.path, r.search, decoded, r.body ?? ''].some((text) => text.includes(marker));
        }
        return true;
      });
    },
  };
}

/**
 * Answers a test hook and returns true — `GET /_received` (the log, filtered) or `GET /_secrets`
 * ({ secrets: secrets() }) — or returns false for any other path. Hooks need no token, are never
 * recorded, and answer whatever fault or outage the mock simulates.
 */
export async function answerTestHook(req, res, url, log, secrets) {
  if (url.pathname !== '/_received' && url.pathname !== '/_secrets') return false;
  for await (const _ of req);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(
    JSON.stringify(url.pathname === '/_secrets' ? { secrets: secrets() } : { requests: log.query(url.searchParams) }),
  );
  return true;
}
