/**
 * Keep long-running operations and paging on the gateway: absolute URLs that point at the
 * upstream are rewritten to the gateway's own URL for this connection, so the next poll or page
 * is authenticated, authorised and audited like the first call.
 *
 * Contract: only URLs that start with one of the connection's upstream bases (configured, or its
 * per-environment override) are rewritten; any other URL (another host, a SAS link) passes
 * unchanged. Headers: `Location`, `Azure-AsyncOperation`, `Operation-Location`. Bodies: the string
 * values of JSON members named in `LINK_MEMBERS` (paging links; `BATCH_LINK_MEMBERS` adds a batch
 * entry's LRO headers),
 * rewritten by a streaming transform that holds at most one such value (capped) and passes every
 * other byte through unchanged — it never parses or buffers the document. With `bind`, every
 * rewritten link carries the binding of the call that produced it (continuation.ts). (It is a
 * small JSON string lexer; it could share the masker's tokenizer later.)
 */

import { stripContinuation as stripContinuationParam } from './continuation.ts';
import { normaliseUpstreamPath } from './route.ts';

export const LINK_HEADERS = ['location', 'azure-asyncoperation', 'operation-location'] as const;
/** JSON members whose string values are paging links (compared case-insensitively). */
export const LINK_MEMBERS = ['nextLink', '@odata.nextLink'] as const;
/**
 * In a batch response, each entry carries its own LRO headers as JSON members
 * (`responses[i].headers.Location`): a follow-up found inside a batch is rewritten and bound too.
 * Only there — every resource has a `location` member, and holding each one would cost every
 * response.
 */
export const BATCH_LINK_MEMBERS = [...LINK_MEMBERS, ...LINK_HEADERS] as const;

export interface LinkRewrite {
  /** Upstream bases without trailing slash, e.g. https://management.azure.com. */
  from: readonly string[];
  /** Gateway base for this connection without trailing slash, e.g. https://gw.example/arm. */
  to: string;
  /**
   * Binds a rewritten link to the call that produced it (src/proxy/continuation.ts): given the
   * upstream-relative path and query (without any earlier binding), returns the query parameter
   * (`name=value`) to append.
   */
  bind?: (link: string) => string;
  /** Members whose values are links (default `LINK_MEMBERS`). */
  members?: readonly string[];
}

export function rewriteLink(value: string, rewrite: LinkRewrite): string {
  for (const base of rewrite.from) {
    if (value === base || value.startsWith(base)) {
      const next = value.charAt(base.length);
      if (value !== base && next !== '/' && next !== '?') continue;
      if (!rewrite.bind) return rewrite.to + value.slice(base.length);
      // An upstream cannot hand out a binding of its own: any it sent is dropped before binding.
      const rest = stripContinuation(value.slice(base.length));
      const query = rest.search;
      const link = `${rest.path}${query}`;
      return `${rewrite.to}${link}${query ? '&' : '?'}${rewrite.bind(link)}`;
    }
  }
  return value;
}

/** Split an upstream-relative link into path and query, without any continuation parameter. */
function stripContinuation(rest: string): { path: string; search: string } {
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const search = q === -1 ? '' : stripContinuationParam(rest.slice(q)).search;
  const plain = path === '' ? '/' : path;
  return { path: normaliseUpstreamPath(plain) ?? plain, search };
}

/** Rewrite LRO headers in place; returns the names that changed (for tests and audit). */
export function rewriteLinkHeaders(headers: Headers, rewrite: LinkRewrite): string[] {
  const changed: string[] = [];
  for (const name of LINK_HEADERS) {
    const value = headers.get(name);
    if (value === null) continue;
    const next = rewriteLink(value, rewrite);
    if (next !== value) {
      headers.set(name, next);
      changed.push(name);
    }
  }
  return changed;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const MAX_NAME = 32;
const MAX_VALUE = 16 * 1024;
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * A streaming byte transform: `transform` is called per input chunk and `flush` once at the end;
 * each emits zero or more output chunks. It can run inside a TransformStream or inline in another
 * stream's pull (src/proxy/observe-body.ts), which saves a stream layer per response.
 */
export interface ChunkTransform {
  transform(chunk: Uint8Array, emit: (out: Uint8Array) => void): void;
  flush(emit: (out: Uint8Array) => void): void;
}

/** A TransformStream that rewrites `nextLink`-style string values (see module contract). */
export function createLinkRewriteStream(rewrite: LinkRewrite): TransformStream<Uint8Array, Uint8Array> {
  const links = linkRewriteTransform(rewrite);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform: (chunk, controller) => links.transform(chunk, (out) => controller.enqueue(out)),
    flush: (controller) => links.flush((out) => controller.enqueue(out)),
  });
}

/** The same rewrite as a `ChunkTransform` (one instance per response body: it is stateful). */
export function linkRewriteTransform(rewrite: LinkRewrite): ChunkTransform {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const names = new Set((rewrite.members ?? LINK_MEMBERS).map((name) => name.toLowerCase()));
  let inString = false;
  let escaped = false;
  let name: number[] | null = []; // bytes of the current string while it may still be a member name
  let lastString: string | null = null; // a string just closed, waiting to see whether `:` follows
  let armed = false; // a link member's colon was seen: the next value may be captured
  let capture: Uint8Array[] | null = null; // bytes of a link value being held (incl. quotes)
  let captured = 0;

  const finishCapture = (emit: (out: Uint8Array) => void) => {
    const parts = capture ?? [];
    capture = null;
    const all = new Uint8Array(captured);
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.byteLength;
    }
    captured = 0;
    const raw = decoder.decode(all.subarray(1, all.byteLength - 1));
    // `\/` is a legal escape for `/`; URLs need no other escape, so anything else stays as it was.
    const plain = raw.replaceAll('\\/', '/');
    if (plain.includes('\\')) {
      emit(all);
      return;
    }
    const next = rewriteLink(plain, rewrite);
    emit(next === plain ? all : encoder.encode(JSON.stringify(next)));
  };

  return {
    transform(chunk, emit) {
      let emitFrom = 0;
      for (let i = 0; i < chunk.byteLength; i++) {
        const b = chunk[i] as number;
        if (inString) {
          if (escaped) {
            escaped = false;
            if (name) name = null; // member names we care about contain no escapes
          } else if (b === BACKSLASH) {
            escaped = true;
          } else if (b === QUOTE) {
            inString = false;
            if (capture) {
              capture.push(chunk.subarray(emitFrom, i + 1));
              captured += i + 1 - emitFrom;
              emitFrom = i + 1;
              finishCapture(emit);
            } else {
              lastString = name ? String.fromCharCode(...name) : null;
            }
            name = [];
          } else if (name) {
            if (name.length < MAX_NAME) name.push(b);
            else name = null;
          }
          if (capture && captured + (i + 1 - emitFrom) > MAX_VALUE) {
            // Too long to be a link we rewrite: release it unchanged and stop holding.
            for (const part of capture) emit(part);
            capture = null;
            captured = 0;
          }
          continue;
        }
        if (isSpace(b)) continue;
        if (b === QUOTE) {
          inString = true;
          escaped = false;
          name = [];
          if (armed) {
            armed = false;
            lastString = null;
            if (i > emitFrom) emit(chunk.slice(emitFrom, i));
            emitFrom = i;
            capture = [];
            captured = 0;
          } else {
            lastString = null;
          }
          continue;
        }
        armed = b === COLON && lastString !== null && names.has(lastString.toLowerCase());
        lastString = null;
      }
      if (capture) {
        if (chunk.byteLength > emitFrom) {
          capture.push(chunk.slice(emitFrom));
          captured += chunk.byteLength - emitFrom;
        }
      } else if (chunk.byteLength > emitFrom) {
        emit(emitFrom === 0 ? chunk : chunk.slice(emitFrom));
      }
    },
    flush(emit) {
      if (capture) for (const part of capture) emit(part);
    },
  };
}
