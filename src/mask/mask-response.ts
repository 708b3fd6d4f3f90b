/**
 * Apply a mask obligation to an upstream response: choose the framing from the content type,
 * undo a content coding the gateway can read, and stream the body through the masker.
 *
 * Contract: given the upstream Response, the client-bound headers and a MaskSpec, returns either
 * the masked body with adjusted headers and a live report (complete once the body has been fully
 * read), or a refusal: `unmaskable` (not JSON, unknown or stacked content coding) → the caller
 * answers 502; `misconfigured` (bad path, hmac style without a key) → 500. It never passes a body
 * that must be masked through unmasked. Header changes: Content-Length, Content-Encoding (the body
 * is sent decoded; the edge may re-compress it for the client), Content-MD5 and Content-Digest
 * dropped; a strong ETag weakened (the bytes changed, the representation did not); Content-Type
 * kept. Nothing here reads `env` or the clock.
 */
import {
  type CompileResult,
  compileMask,
  type Framing,
  type MaskOptions,
  type MaskReport,
} from './json-mask-stream.ts';
import { maskBody } from './mask-body.ts';
import { isEmptyMask, type MaskSpec } from './spec.ts';

/** What to ask the upstream for when its response will be masked (RFC 9110 §12.5.3). */
export const MASKABLE_ACCEPT_ENCODING = 'gzip, deflate';

export interface MaskResponseOptions extends Omit<MaskOptions, 'framing'> {
  /** The request URL: a Kubernetes `?watch=1` stream is NDJSON under `application/json`. */
  requestUrl?: string;
  /** The request method: a HEAD response has no body to mask. */
  method?: string;
}

export type MaskResponseResult =
  | { ok: true; body: ReadableStream<Uint8Array> | null; headers: Headers; report: MaskReport }
  | { ok: false; kind: 'unmaskable' | 'misconfigured'; reason: string };

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);

/** The framing for a content type (and request), or undefined when it is not JSON. */
export function framingFor(contentType: string | null, requestUrl?: string): Framing | undefined {
  const [rawType = '', ...params] = (contentType ?? '').split(';');
  const type = rawType.trim().toLowerCase();
  if (type === 'application/json-seq') return 'json-seq';
  if (NDJSON_TYPES.has(type)) return 'ndjson';
  if (type !== 'application/json' && !(type.startsWith('application/') && type.endsWith('+json'))) return undefined;
  const watchParam = params.some((p) => p.trim().toLowerCase().replace(/\s/g, '') === 'stream=watch');
  return watchParam || isWatchRequest(requestUrl) ? 'ndjson' : 'json';
}

function isWatchRequest(requestUrl: string | undefined): boolean {
  if (!requestUrl) return false;
  const watch = new URL(requestUrl).searchParams.get('watch');
  return watch !== null && watch !== '0' && watch.toLowerCase() !== 'false';
}

/** The decoder for a Content-Encoding header, `identity` for none, or undefined when unsupported. */
export function decodingFor(contentEncoding: string | null): 'identity' | 'gzip' | 'deflate' | undefined {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length > 1) return undefined;
  const [coding] = codings;
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  return undefined;
}

/**
 * Compiled masks by spec and options, per isolate: the same few rule combinations mask most
 * responses, and compiling (JSONPath parsing, the path automaton, key patterns) is per spec, not
 * per response. A compiled mask is immutable and shared by every stream (see `compileMask`).
 * Policy hands out one frozen mask object per rule combination, so the first lookup is by that
 * object's identity (no per-response serialising); a spec built per request (a batch, a bound
 * follow-up) falls back to the lookup by value.
 */
const compiledByIdentity = new WeakMap<MaskSpec, Map<string, CompileResult>>();
const compiledMasks = new Map<string, CompileResult>();
const COMPILED_MASKS_MAX = 64;

function compiledMaskFor(spec: MaskSpec, options: MaskOptions): CompileResult {
  // The hmac key only matters to the hmac style; other options are a few scalars.
  const optionsKey =
    spec.style === 'hmac'
      ? JSON.stringify(options)
      : `${options.framing}|${options.maxValueBytes ?? ''}|${options.maxDepth ?? ''}|${options.maxReportedPaths ?? ''}`;
  let perSpec = compiledByIdentity.get(spec);
  const known = perSpec?.get(optionsKey);
  if (known) return known;
  const key = `${JSON.stringify(spec)}|${optionsKey}`;
  let compiled = compiledMasks.get(key);
  if (!compiled) {
    compiled = compileMask(spec, options);
    if (compiledMasks.size >= COMPILED_MASKS_MAX) compiledMasks.delete(compiledMasks.keys().next().value as string);
    compiledMasks.set(key, compiled);
  }
  if (Object.isFrozen(spec)) {
    if (!perSpec) {
      perSpec = new Map();
      compiledByIdentity.set(spec, perSpec);
    }
    perSpec.set(optionsKey, compiled);
  }
  return compiled;
}

export function maskResponse(
  upstream: Response,
  headers: Headers,
  spec: MaskSpec,
  options: MaskResponseOptions = {},
): MaskResponseResult {
  const report: MaskReport = { maskedCount: 0, maskedPaths: [] };
  const noBody =
    upstream.body === null || upstream.status === 204 || upstream.status === 304 || options.method === 'HEAD';
  if (isEmptyMask(spec) || noBody) return { ok: true, body: upstream.body, headers, report };
  if (upstream.status === 206) {
    // A byte range takes values out of the context their paths describe: it cannot be masked.
    return { ok: false, kind: 'unmaskable', reason: 'a partial (206) response cannot be masked' };
  }

  const framing = framingFor(upstream.headers.get('content-type'), options.requestUrl);
  if (!framing) {
    return {
      ok: false,
      kind: 'unmaskable',
      reason: `content-type ${upstream.headers.get('content-type') ?? '(none)'} is not JSON`,
    };
  }
  const decoding = decodingFor(upstream.headers.get('content-encoding'));
  if (!decoding) {
    return {
      ok: false,
      kind: 'unmaskable',
      reason: `content-encoding ${upstream.headers.get('content-encoding')} cannot be decoded`,
    };
  }
  const { requestUrl: _url, method: _method, ...maskOptions } = options;
  const compiled = compiledMaskFor(spec, { ...maskOptions, framing });
  if (!compiled.ok) return { ok: false, kind: 'misconfigured', reason: compiled.reason };

  let body = upstream.body as ReadableStream<Uint8Array>;
  if (decoding !== 'identity') {
    body = body.pipeThrough(new DecompressionStream(decoding) as unknown as TransformStream<Uint8Array, Uint8Array>);
  }
  const masked = maskBody(body, compiled.mask);
  const out = new Headers(headers);
  out.delete('content-length');
  out.delete('content-md5');
  out.delete('content-digest');
  out.delete('repr-digest');
  if (decoding !== 'identity') out.delete('content-encoding');
  const etag = out.get('etag');
  if (etag && !etag.startsWith('W/')) out.set('etag', `W/${etag}`);
  return { ok: true, body: masked.body, headers: out, report: masked.report };
}
