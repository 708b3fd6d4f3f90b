/**
 * Applying `rewrite` obligations to the request that goes upstream.
 *
 * Contract: pure functions over Web types, no I/O. Headers and query parameters are set/removed as
 * the policy says (the compiler already refused protected headers such as `authorization`); JSON
 * Patch (RFC 6902) applies to a JSON body held in memory under a size cap, atomically: if any
 * operation fails (a `test` that does not hold, a path that does not exist) nothing is applied and
 * the caller refuses the request — a rewrite obligation is never silently skipped. Member names in
 * a pointer match as Azure binds them: an exact member first, else the one member whose name folds
 * equal (`Properties` for `/properties`), and `add` replaces that member rather than adding a
 * second; a body that repeats a member name, exactly or case-insensitively, is refused
 * (`ambiguous`) before any patch, because the upstream would bind the last one.
 */
import type { JsonPatchOp, RewriteSpec } from '../policy/index.ts';
import { memberNamed, parseStrictJsonBytes } from '../util/strict-json.ts';
import { isJsonContentType } from './judged-body.ts';

/** Request bodies larger than this are not patched (the request is refused instead). */
export const REWRITE_BODY_LIMIT = 256 * 1024;

export function applyHeaderRewrite(headers: Headers, spec: RewriteSpec): Headers {
  for (const name of spec.removeHeaders) headers.delete(name);
  for (const [name, value] of Object.entries(spec.setHeaders)) headers.set(name, value);
  return headers;
}

/** `search` is a raw query string with or without `?`; returns one with `?`, or ''. */
export function applyQueryRewrite(search: string, spec: RewriteSpec): string {
  if (spec.removeQuery.length === 0 && Object.keys(spec.setQuery).length === 0) return search;
  const params = new URLSearchParams(search);
  for (const name of spec.removeQuery) params.delete(name);
  for (const [name, value] of Object.entries(spec.setQuery)) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export type PatchResult = { ok: true; value: unknown } | { ok: false; error: string };

const unescapeToken = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');
const pointer = (path: string) => (path === '' ? [] : path.slice(1).split('/').map(unescapeToken));
const clone = (value: unknown): unknown => (value === undefined ? undefined : structuredClone(value));

type Container = Record<string, unknown> | unknown[];

/** The member `token` names in `object` as Azure binds it, or `token` itself when none does. */
const memberName = (object: Record<string, unknown>, token: string): string => memberNamed(object, token) ?? token;

function parentOf(root: unknown, tokens: string[]): { parent: Container; key: string } | string {
  let node = root;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length - 1) ?? -1];
    else if (node && typeof node === 'object') {
      const object = node as Record<string, unknown>;
      const name = memberName(object, token);
      node = Object.hasOwn(object, name) ? object[name] : undefined;
    } else return `path segment ${token} does not exist`;
    if (node === undefined) return `path segment ${token} does not exist`;
  }
  if (!node || typeof node !== 'object') return 'parent is not an object or array';
  return { parent: node as Container, key: tokens.at(-1) as string };
}

function arrayIndex(token: string, max: number): number | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
  const n = Number(token);
  return n <= max ? n : undefined;
}

function get(root: unknown, path: string): { found: boolean; value?: unknown } {
  let node = root;
  for (const token of pointer(path)) {
    if (Array.isArray(node)) {
      const i = arrayIndex(token, node.length - 1);
      if (i === undefined) return { found: false };
      node = node[i];
    } else if (
      node &&
      typeof node === 'object' &&
      Object.hasOwn(node, memberName(node as Record<string, unknown>, token))
    ) {
      node = (node as Record<string, unknown>)[memberName(node as Record<string, unknown>, token)];
    } else return { found: false };
  }
  return { found: true, value: node };
}

function add(root: unknown, path: string, value: unknown): PatchResult {
  const tokens = pointer(path);
  if (tokens.length === 0) return { ok: true, value };
  const at = parentOf(root, tokens);
  if (typeof at === 'string') return { ok: false, error: `${path}: ${at}` };
  if (Array.isArray(at.parent)) {
    const i = at.key === '-' ? at.parent.length : arrayIndex(at.key, at.parent.length);
    if (i === undefined) return { ok: false, error: `${path}: bad array index` };
    at.parent.splice(i, 0, value);
  } else {
    // One member per folded name: a case variant is replaced, never left beside the new member.
    const existing = memberName(at.parent, at.key);
    if (existing !== at.key) delete at.parent[existing];
    Object.defineProperty(at.parent, at.key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, value: root };
}

function remove(root: unknown, path: string): PatchResult {
  const tokens = pointer(path);
  if (tokens.length === 0) return { ok: false, error: 'cannot remove the whole document' };
  const at = parentOf(root, tokens);
  if (typeof at === 'string') return { ok: false, error: `${path}: ${at}` };
  if (Array.isArray(at.parent)) {
    const i = arrayIndex(at.key, at.parent.length - 1);
    if (i === undefined) return { ok: false, error: `${path}: no such element` };
    at.parent.splice(i, 1);
  } else {
    const name = memberName(at.parent, at.key);
    if (!Object.hasOwn(at.parent, name)) return { ok: false, error: `${path}: no such member` };
    delete at.parent[name];
  }
  return { ok: true, value: root };
}

/** Apply RFC 6902 operations in order to a copy of `document`; all or nothing. */
export function applyJsonPatch(document: unknown, ops: readonly JsonPatchOp[]): PatchResult {
  let doc = clone(document);
  for (const op of ops) {
    let result: PatchResult;
    switch (op.op) {
      case 'add':
        result = add(doc, op.path, clone(op.value));
        break;
      case 'remove':
        result = remove(doc, op.path);
        break;
      case 'replace': {
        if (!get(doc, op.path).found) return { ok: false, error: `replace ${op.path}: no such member` };
        const removed = op.path === '' ? { ok: true as const, value: doc } : remove(doc, op.path);
        result = removed.ok ? add(removed.value, op.path, clone(op.value)) : removed;
        break;
      }
      case 'move': {
        if (op.path.startsWith(`${op.from}/`)) return { ok: false, error: `move ${op.from}: into its own child` };
        const source = get(doc, op.from);
        if (!source.found) return { ok: false, error: `move ${op.from}: no such member` };
        const removed = remove(doc, op.from);
        result = removed.ok ? add(removed.value, op.path, source.value) : removed;
        break;
      }
      case 'copy': {
        const source = get(doc, op.from);
        if (!source.found) return { ok: false, error: `copy ${op.from}: no such member` };
        result = add(doc, op.path, clone(source.value));
        break;
      }
      case 'test': {
        const target = get(doc, op.path);
        if (!target.found || JSON.stringify(target.value) !== JSON.stringify(op.value)) {
          return { ok: false, error: `test ${op.path} failed` };
        }
        result = { ok: true, value: doc };
        break;
      }
    }
    if (!result.ok) return result;
    doc = result.value;
  }
  return { ok: true, value: doc };
}

export type BodyPatchResult =
  | { ok: true; body: Uint8Array<ArrayBuffer> }
  | { ok: false; reason: 'not_json' | 'too_large' | 'patch_failed'; detail: string }
  | { ok: false; reason: 'ambiguous'; detail: string; pointer: string };

/** Patch a JSON request body (bytes already read, at most `REWRITE_BODY_LIMIT`). */
export function patchJsonBody(
  contentType: string | null,
  bytes: ArrayBuffer,
  ops: readonly JsonPatchOp[],
): BodyPatchResult {
  if (!isJsonContentType(contentType)) {
    const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    return { ok: false, reason: 'not_json', detail: `content-type ${type || '(none)'} is not JSON` };
  }
  if (bytes.byteLength > REWRITE_BODY_LIMIT) {
    return { ok: false, reason: 'too_large', detail: `body over ${REWRITE_BODY_LIMIT} bytes` };
  }
  const parsed = parseStrictJsonBytes(bytes);
  if (!parsed.ok) {
    return parsed.reason === 'invalid_json'
      ? { ok: false, reason: 'not_json', detail: 'the body is not valid JSON' }
      : {
          ok: false,
          reason: 'ambiguous',
          pointer: parsed.path.slice(0, 512),
          detail:
            parsed.reason === 'duplicate_member'
              ? `The body repeats a member name at ${parsed.path.slice(0, 512)}`
              : `The body nests too deeply at ${parsed.path.slice(0, 512)}`,
        };
  }
  const patched = applyJsonPatch(parsed.value, ops);
  if (!patched.ok) return { ok: false, reason: 'patch_failed', detail: patched.error };
  return { ok: true, body: new TextEncoder().encode(JSON.stringify(patched.value)) as Uint8Array<ArrayBuffer> };
}
