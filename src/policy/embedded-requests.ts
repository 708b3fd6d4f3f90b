/**
 * Requests that carry other requests: Resource Manager `POST /batch` and Microsoft Graph
 * `POST /{version}/$batch`. The upstream executes every embedded request, so each one is read out
 * of the body here, to be judged exactly as a direct request would be.
 *
 * Contract: pure. Input is the body already parsed by `parseStrictJson` (so no member name repeats,
 * exactly or case-insensitively). Member names are looked up the way Azure binds them (ASCII
 * case-insensitively), and a member this module does not know is refused — an unknown member
 * might mean something to the upstream that nobody judged. Each embedded URL is resolved against
 * the connection (relative, or absolute on the connection's own upstream origin; anything else is
 * refused), checked for ambiguous spellings before resolution (dot segments, encoded slashes), and
 * normalised as a direct request's path is. At most `BATCH_MAX_REQUESTS` entries; names/ids must
 * be present and unique (responses are matched by them, never by position); an embedded request
 * that is itself a batch is refused. Returns a result, never throws.
 */
import { foldMemberName } from '../util/strict-json.ts';

export type BatchDialect = 'arm' | 'graph';

/** Resource Manager and Graph both cap a batch at 20 requests. */
export const BATCH_MAX_REQUESTS = 20;

export interface EmbeddedRequest {
  /** ARM `name` / Graph `id`: how the response entry is matched. */
  key: string;
  method: string;
  /** Upstream path, normalised like a direct request's (no connection prefix, no query). */
  path: string;
  /** Raw query with `?`, or ''. */
  search: string;
  /** Headers the upstream will apply to the embedded request (names as sent). */
  headers: Readonly<Record<string, string>>;
  /** The embedded body (ARM `content`, Graph `body`), undefined when absent. */
  body: unknown;
}

export type BatchParse = { ok: true; requests: EmbeddedRequest[] } | { ok: false; detail: string };

const ARM_BATCH = /^\/batch\/?$/i;
const GRAPH_BATCH = /^\/(v1\.0|beta)\/(?:\$|%24)batch\/?$/i;

/** The batch dialect of a request, or undefined. Only POST executes a batch. */
export function batchDialect(kind: string, method: string, path: string): BatchDialect | undefined {
  if (method !== 'POST') return undefined;
  if (kind === 'azure_resource_manager' && ARM_BATCH.test(path)) return 'arm';
  if (kind === 'microsoft_graph' && GRAPH_BATCH.test(path)) return 'graph';
  return undefined;
}

const isBatchPath = (path: string) => ARM_BATCH.test(path) || GRAPH_BATCH.test(path);

const FIELDS: Record<
  BatchDialect,
  { key: string; method: string; url: string; body: string; headers: string; other: readonly string[] }
> = {
  arm: { key: 'name', method: 'httpMethod', url: 'url', body: 'content', headers: 'requestHeaderDetails', other: [] },
  graph: { key: 'id', method: 'method', url: 'url', body: 'body', headers: 'headers', other: ['dependsOn'] },
};

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The members of `object` by folded name; refuses members outside `known`. */
function membersOf(object: JsonObject, known: readonly string[], where: string): Map<string, unknown> | string {
  const wanted = new Map(known.map((name) => [foldMemberName(name), name]));
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(object)) {
    const canonical = wanted.get(foldMemberName(name));
    if (!canonical) return `${where} has a member the gateway does not judge: ${JSON.stringify(name.slice(0, 64))}`;
    out.set(canonical, value);
  }
  return out;
}

/**
 * Raw spellings whose meaning could differ between the gateway and the upstream: encoded slashes,
 * backslashes, double encoding, NUL, dot segments plain or encoded (`%2e` — the URL parser folds
 * `%2e%2e` into `..` and removes it, an upstream may not), fragments, and control characters
 * such as tab and newline (which the URL parser silently strips).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const AMBIGUOUS_URL = /%2f|%5c|%25|%00|%2e|\\|(^|\/)\.\.?(\/|\?|#|$)|#|[\x00-\x1f\x7f]/i;

export function parseBatch(
  dialect: BatchDialect,
  document: unknown,
  connection: { upstreamBase: string; upstream: string; normalisePath(path: string): string | undefined },
  /** The batch's own path: Graph resolves embedded URLs against its version (`/v1.0/$batch`). */
  batchPath = '/batch',
): BatchParse {
  if (!isObject(document)) return { ok: false, detail: 'the batch body is not a JSON object' };
  const top = membersOf(document, ['requests'], 'the batch');
  if (typeof top === 'string') return { ok: false, detail: top };
  const list = top.get('requests');
  if (!Array.isArray(list)) return { ok: false, detail: 'the batch has no requests array' };
  if (list.length === 0) return { ok: false, detail: 'the batch has no requests' };
  if (list.length > BATCH_MAX_REQUESTS) {
    return { ok: false, detail: `the batch has ${list.length} requests; at most ${BATCH_MAX_REQUESTS} are accepted` };
  }
  const fields = FIELDS[dialect];
  const known = [fields.key, fields.method, fields.url, fields.body, fields.headers, ...fields.other];
  const origins = new Set([originOf(connection.upstreamBase), originOf(connection.upstream)]);
  const base = new URL(`${connection.upstreamBase}/`);
  const version = dialect === 'graph' ? (GRAPH_BATCH.exec(batchPath)?.[1] ?? 'v1.0') : '';
  const relativeBase = dialect === 'graph' ? new URL(`.${base.pathname.replace(/\/$/, '')}/${version}/`, base) : base;
  const requests: EmbeddedRequest[] = [];
  const keys = new Set<string>();
  for (const [index, entry] of list.entries()) {
    const where = `requests[${index}]`;
    if (!isObject(entry)) return { ok: false, detail: `${where} is not an object` };
    const members = membersOf(entry, known, where);
    if (typeof members === 'string') return { ok: false, detail: members };
    const key = members.get(fields.key);
    if (typeof key !== 'string' || key === '') return { ok: false, detail: `${where} has no ${fields.key}` };
    if (keys.has(key))
      return { ok: false, detail: `${where}: ${fields.key} ${JSON.stringify(key.slice(0, 64))} repeats` };
    keys.add(key);
    const method = members.get(fields.method);
    if (typeof method !== 'string' || method === '') return { ok: false, detail: `${where} has no ${fields.method}` };
    const rawUrl = members.get(fields.url);
    if (typeof rawUrl !== 'string' || rawUrl === '') return { ok: false, detail: `${where} has no ${fields.url}` };
    if (AMBIGUOUS_URL.test(rawUrl)) {
      return {
        ok: false,
        detail: `${where}: the url has dot segments, encoded slashes or a fragment; send it normalised`,
      };
    }
    let resolved: URL;
    try {
      // Graph URLs are relative to the version root (`/users/x` means `/v1.0/users/x`).
      const relative = dialect === 'graph' && !/^[a-z][a-z0-9+.-]*:/i.test(rawUrl) ? graphRelative(rawUrl) : rawUrl;
      resolved = new URL(relative, relativeBase);
    } catch {
      return { ok: false, detail: `${where}: the url is not a URL` };
    }
    if (!origins.has(resolved.origin) || resolved.username || resolved.password) {
      return { ok: false, detail: `${where}: the url points outside this connection's upstream` };
    }
    const basePath = base.pathname.replace(/\/$/, '');
    if (basePath && !resolved.pathname.startsWith(`${basePath}/`)) {
      return { ok: false, detail: `${where}: the url points outside this connection's upstream` };
    }
    const path = connection.normalisePath(resolved.pathname.slice(basePath.length) || '/');
    if (path === undefined) return { ok: false, detail: `${where}: the url path is ambiguous; send it normalised` };
    if (isBatchPath(path)) return { ok: false, detail: `${where} is itself a batch; batches do not nest` };
    const headers = members.get(fields.headers);
    if (headers !== undefined && !isObject(headers))
      return { ok: false, detail: `${where}: ${fields.headers} is not an object` };
    const flatHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (typeof value !== 'string')
        return { ok: false, detail: `${where}: header ${name.slice(0, 64)} is not a string` };
      flatHeaders[name] = value;
    }
    requests.push({
      key,
      method: method.toUpperCase(),
      path,
      search: resolved.search,
      headers: flatHeaders,
      body: members.get(fields.body),
    });
  }
  return { ok: true, requests };
}

/** Where a batch response entry's body lives, for rebasing mask paths. */
export const RESPONSE_BODY_MEMBER: Record<BatchDialect, string> = { arm: 'content', graph: 'body' };

/** A mask path written for one response, rebased onto every entry of a batch response. */
export function rebaseMaskPath(path: string, dialect: BatchDialect): string {
  return `$.responses[*].${RESPONSE_BODY_MEMBER[dialect]}${path.slice(1)}`;
}

function graphRelative(url: string): string {
  return url.startsWith('/') ? `.${url}` : url;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
