/**
 * What an approver sees: the whole request as it will reach the upstream (pure, no I/O).
 *
 * Contract: the view holds the method, connection, full upstream path, the query (redacted by the
 * audit's `redactQuery`), every header the gateway's header hygiene (src/proxy/headers.ts) lets
 * through except credentials, and the COMPLETE body — never a prefix:
 * - JSON: masked by the same masker and rules as the audit row's copy of a body
 *   (src/audit/body-capture.ts: the rule's mask keys, credential-like member names whatever their
 *   value's type, every value detector), then re-serialised canonically with a 2-space indent.
 *   Masking replaces values (`"***"`); no member, element or duplicate is dropped, reordered or
 *   merged; strings are re-escaped so that `\u004fwner` reads `"Owner"`, and invisible or
 *   bidirectional control characters are shown as `\uXXXX` escapes.
 * - Other text (valid UTF-8 without control characters): the text, with form fields, `name: value`
 *   / `name=value` lines under credential-like names and lines a value detector fires on masked
 *   (best effort, so it is shown on the page and in the API only, never as a chat preview).
 * - Anything else: its size and SHA-256 only, and the view says so.
 * A body larger than APPROVAL_BODY_LIMIT — as sent, or as shown — has no view: such a request
 * cannot be approved (the gate refuses it before any approval exists). The view holds no token
 * and no unmasked secret: it is stored in the approval's Durable Object and returned by the API.
 */
import { BODY_SECRET_KEYS, capturedFromBytes, maskedJsonPrefix } from '../audit/body-capture.ts';
import { redactQuery } from '../audit/record.ts';
import { detect, selectDetectors } from '../mask/detectors.ts';
import { DETECTOR_NAMES } from '../mask/index.ts';
import { compileKeyPatterns } from '../mask/key-patterns.ts';
import type { TemplateResources } from '../policy/template-facts.ts';
import { upstreamRequestHeaders } from '../proxy/headers.ts';

export type { TemplateResources };

/**
 * The largest body a request held for approval may have: 64 KiB, both as sent (bytes read) and
 * as shown to approvers (UTF-8 bytes of the canonical, masked rendering). Above it the request is
 * refused (413) before an approval is created — a request is never approved from a partial view.
 */
export const APPROVAL_BODY_LIMIT = 64 * 1024;

/**
 * The whole view (body, headers, embedded requests, template resources) as stored and returned:
 * a bound on what one approval keeps in its Durable Object. Above it, too, the request is refused.
 */
export const APPROVAL_VIEW_LIMIT = 8 * APPROVAL_BODY_LIMIT;

/** Chat cards and webhook events carry the body only when all of it fits in this many characters. */
export const CHAT_BODY_LIMIT = 2000;

/** One request embedded in an ARM `/batch` or Graph `$batch`, as policy judged it. */
export interface EmbeddedRequest {
  name: string;
  method: string;
  url: string;
  operation: string;
  resourceId: string;
  decision: string;
  ruleIds: readonly string[];
}

export type BodyView =
  | { kind: 'json'; bytes: number; sha256: string; text: string; duplicateMembers: string[] }
  | { kind: 'text'; bytes: number; sha256: string; text: string }
  | {
      kind: 'opaque';
      bytes: number;
      sha256: string;
      /** `unmaskable`: it looks like JSON but the masker refused it (malformed, or nested too deep). */
      reason: 'binary' | 'not_utf8' | 'unmaskable' | 'unrenderable';
    };

export interface RequestView {
  method: string;
  connection: string;
  /** The path on the upstream (after the connection prefix), as policy judged it. */
  path: string;
  /** Redacted query string, without `?` ('' when none). */
  query: string;
  /** The headers the upstream receives from the client (lower-case names, sorted), credentials withheld. */
  headers: { name: string; value: string }[];
  body: BodyView | null;
  embedded?: EmbeddedRequest[];
  templateResources?: TemplateResources;
}

export interface ViewInput {
  method: string;
  connection: string;
  path: string;
  /** The query string as sent (`?…` or ''); redacted here. */
  search: string;
  headers: Headers;
  body: ArrayBuffer;
  bodySha256: string;
  maskKeys: readonly string[];
  embedded?: readonly EmbeddedRequest[] | undefined;
  templateResources?: TemplateResources | undefined;
}

export type ViewResult =
  | {
      ok: true;
      view: RequestView;
      /** The whole masked JSON body in compact form when it fits a chat card; else undefined. */
      preview: string | undefined;
    }
  | { ok: false; detail: string };

// ---------------------------------------------------------------------------------------------

/**
 * Headers whose names say credential: never shown (the gateway sends its own credential). It also
 * covers what the hygiene already strips (`authorization`, `proxy-authorization`, `cookie`,
 * `x-edgeward-subject-token`), should the hygiene ever let one through.
 */
const CREDENTIAL_HEADER =
  /auth|cookie|token|secret|passw|pwd|credential|signature|session-?key|(^|[-_])(api|access|account|subscription|functions|shared|master|private)?[-_]?key$|apikey/i;
/** Set (or replaced) by the gateway on every upstream call: not the client's to show. */
const GATEWAY_SET = new Set(['x-ms-client-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'traceparent']);

const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each listed character is matched on its own, on purpose
  /[\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\u{e0000}-\u{e007f}]/gu;

/** Invisible and bidirectional control characters as `\uXXXX` (UTF-16 units), so none can hide text. */
const visible = (text: string) =>
  text.replace(INVISIBLE, (ch) => {
    let out = '';
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });

/** Every value detector, as the masker runs them (cheap pre-checks first). */
const ALL_DETECTORS = selectDetectors(DETECTOR_NAMES);
const detected = (value: string) => detect(ALL_DETECTORS, value);

/** The client's headers as the upstream will receive them, without credentials. */
export function headersView(incoming: Headers): { name: string; value: string }[] {
  const upstream = upstreamRequestHeaders(incoming, {
    requestId: '',
    forwardAuthorization: false,
    identityEncoding: false,
  });
  const shown: { name: string; value: string }[] = [];
  for (const [name, value] of upstream) {
    if (GATEWAY_SET.has(name) || CREDENTIAL_HEADER.test(name)) continue;
    shown.push({ name, value: detected(value) ? 'REDACTED' : visible(value) });
  }
  return shown;
}

/** A URL with its query redacted like the audit's (SAS `sig`, tokens, keys …). */
function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return visible(url);
  const query = redactQuery(url.slice(q));
  return visible(query ? `${url.slice(0, q)}?${query}` : url.slice(0, q));
}

/** Build the approver's view, or say why the request is too large to be shown (and approved). */
export function requestView(input: ViewInput): ViewResult {
  const tooLarge = (what: string): ViewResult => ({
    ok: false,
    detail: `the body is ${what}; the limit is ${APPROVAL_BODY_LIMIT} bytes`,
  });
  if (input.body.byteLength > APPROVAL_BODY_LIMIT) return tooLarge(`${input.body.byteLength} bytes`);
  const body = bodyView(input.body, input.bodySha256, input.headers.get('content-type'), input.maskKeys);
  if (body === 'too_large') return tooLarge(`longer than the limit once shown to approvers`);
  const view: RequestView = {
    method: input.method,
    connection: input.connection,
    path: input.path,
    query: redactQuery(input.search),
    headers: headersView(input.headers),
    body: body?.view ?? null,
  };
  if (input.embedded) {
    view.embedded = input.embedded.map((e) => ({
      name: visible(e.name),
      method: visible(e.method),
      url: redactUrl(e.url),
      operation: visible(e.operation),
      resourceId: visible(e.resourceId),
      decision: visible(e.decision),
      ruleIds: e.ruleIds.map(visible),
    }));
  }
  if (input.templateResources) {
    const t = input.templateResources;
    view.templateResources = {
      resources: t.resources.map((r) => ({ type: visible(r.type), name: visible(r.name) })),
      truncated: t.truncated,
      ...(t.linked !== undefined ? { linked: redactUrl(t.linked) } : {}),
    };
  }
  if (JSON.stringify(view).length > APPROVAL_VIEW_LIMIT)
    return { ok: false, detail: `the request (headers, embedded requests, template resources) is too large to show` };
  return { ok: true, view, preview: body?.preview };
}

// --- body ------------------------------------------------------------------------------------

const utf8Length = (text: string) => new TextEncoder().encode(text).byteLength;
/** C0 controls other than tab, LF and CR (and DEL): a body with any of these is not shown as text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

function bodyView(
  bytes: ArrayBuffer,
  sha256: string,
  contentType: string | null,
  maskKeys: readonly string[],
): { view: BodyView; preview: string | undefined } | 'too_large' | undefined {
  const size = bytes.byteLength;
  if (size === 0) return undefined;
  const masked = maskedJsonPrefix(capturedFromBytes(bytes, size), maskKeys);
  if (masked !== undefined) {
    const pretty = canonicalJson(masked, 2, APPROVAL_BODY_LIMIT);
    if (pretty === 'too_large') return 'too_large';
    // The masker accepted it as JSON; if the renderer does not, show nothing rather than guess.
    if (pretty === undefined)
      return { view: { kind: 'opaque', bytes: size, sha256, reason: 'unrenderable' }, preview: undefined };
    if (utf8Length(pretty.text) > APPROVAL_BODY_LIMIT) return 'too_large';
    const compact = canonicalJson(masked, 0, CHAT_BODY_LIMIT);
    return {
      view: { kind: 'json', bytes: size, sha256, text: pretty.text, duplicateMembers: pretty.duplicates },
      preview: typeof compact === 'object' ? compact.text : undefined,
    };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { view: { kind: 'opaque', bytes: size, sha256, reason: 'not_utf8' }, preview: undefined };
  }
  if (BINARY.test(text)) return { view: { kind: 'opaque', bytes: size, sha256, reason: 'binary' }, preview: undefined };
  // JSON the masker refused (malformed, too deep) is not shown as text: its secrets could not be
  // found member by member, and line-wise masking is no substitute.
  if (LOOKS_LIKE_JSON.test(text) || JSON_TYPE.test(contentType ?? ''))
    return { view: { kind: 'opaque', bytes: size, sha256, reason: 'unmaskable' }, preview: undefined };
  const shown = visible(maskText(text, contentType, maskKeys));
  if (utf8Length(shown) > APPROVAL_BODY_LIMIT) return 'too_large';
  // Text masking is best effort: such a body stays on the page and in the API, never in chat.
  return { view: { kind: 'text', bytes: size, sha256, text: shown }, preview: undefined };
}

const LOOKS_LIKE_JSON = /^[\s\ufeff]*[[{"]/;
const JSON_TYPE = /^\s*application\/(?:[\w.+-]*\+)?json\b|^\s*[\w.+-]+\/[\w.+-]*\+json\b/i;
/** A quoted member anywhere in a line (flow-style YAML, JSON fragments): `"name": value`. */
const QUOTED_MEMBER = /(["'])([^"'\\]{1,200})\1(\s*:\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^,}\]\s]+)/g;
const NAME_VALUE = /^(\s*(?:-\s+)?["']?)([^\s"':=]+)(["']?\s*[:=])(.*)$/;
const BLOCK_START = /^\s*(?:[|>][+-]?\d*)?\s*$/;
const indentOf = (line: string) => line.length - line.trimStart().length;

/**
 * Mask secrets in a text body (best effort; JSON is masked exactly): form fields by the audit's
 * query redaction and credential-like names; `name: value` / `name=value` lines and quoted
 * `"name": value` members under a credential-like name (and, for `name:` starting a block, every
 * more-indented line after it); any line a value detector fires on.
 */
function maskText(text: string, contentType: string | null, maskKeys: readonly string[]): string {
  const secretName = compileKeyPatterns([...BODY_SECRET_KEYS, ...maskKeys]) ?? (() => false);
  if (/^\s*application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) {
    const fields = new URLSearchParams(redactQuery(text.trim()));
    for (const [name] of fields) if (secretName(name)) fields.set(name, '***');
    return fields.toString();
  }
  let blockIndent: number | undefined;
  return text
    .split(/(\r\n|\n|\r)/)
    .map((line, index) => {
      if (index % 2 === 1) return line;
      if (blockIndent !== undefined) {
        if (line.trim() === '' || indentOf(line) > blockIndent)
          return line.trim() === '' ? line : `${' '.repeat(indentOf(line))}***`;
        blockIndent = undefined;
      }
      const match = NAME_VALUE.exec(line);
      if (match && secretName(match[2] ?? '')) {
        const value = match[4] ?? '';
        if (BLOCK_START.test(value)) blockIndent = indentOf(line);
        return `${match[1]}${match[2]}${match[3]}${value.trim() === '' ? value : ' ***'}`;
      }
      const hit = detected(line);
      if (hit) return `${' '.repeat(indentOf(line))}*** (line masked: ${hit})`;
      return line.replace(QUOTED_MEMBER, (all, q: string, name: string, colon: string) =>
        secretName(name) ? `${q}${name}${q}${colon}"***"` : all,
      );
    })
    .join('');
}

// --- canonical JSON --------------------------------------------------------------------------

const TOO_LARGE = Symbol('too large');
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not hold raw control characters
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

const quote = (value: string) => visible(JSON.stringify(value));

interface Frame {
  close: '}' | ']';
  count: number;
  keys: Set<string>;
  path: string;
  member: string;
}

/**
 * Re-serialise JSON text with `indent` spaces (0: compact), keeping every member in order —
 * duplicates included, and reported by path — and numbers as written. Iterative (no recursion, so
 * no nesting depth can overflow the stack); stops as soon as the output passes `limit` characters.
 * Undefined when the text is not exactly one JSON value.
 */
export function canonicalJson(
  source: string,
  indent: number,
  limit: number,
): { text: string; duplicates: string[] } | 'too_large' | undefined {
  const out: string[] = [];
  let size = 0;
  const emit = (text: string) => {
    size += text.length;
    if (size > limit) throw TOO_LARGE;
    out.push(text);
  };
  let i = 0;
  const skip = () => {
    for (;;) {
      const c = source.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else return;
    }
  };
  const token = (pattern: RegExp) => {
    pattern.lastIndex = i;
    const match = pattern.exec(source);
    if (!match) return undefined;
    i = pattern.lastIndex;
    return match[0];
  };
  const stack: Frame[] = [];
  const duplicates: string[] = [];
  const newline = (depth: number) => (indent > 0 ? `\n${' '.repeat(indent * depth)}` : '');
  const memberPath = (base: string, name: string) =>
    IDENTIFIER.test(name) ? `${base}.${name}` : `${base}[${JSON.stringify(name)}]`;
  /** A member name and its colon; false on a syntax error. */
  const member = (frame: Frame): boolean => {
    skip();
    const raw = token(STRING);
    if (raw === undefined) return false;
    const name = JSON.parse(raw) as string;
    frame.member = memberPath(frame.path, name);
    if (frame.keys.has(name)) {
      if (duplicates.length < 50) duplicates.push(visible(frame.member));
    } else frame.keys.add(name);
    emit(`${newline(stack.length)}${quote(name)}${indent > 0 ? ': ' : ':'}`);
    skip();
    if (source[i] !== ':') return false;
    i++;
    return true;
  };

  try {
    for (;;) {
      // One value.
      skip();
      const c = source[i];
      const parent = stack.at(-1);
      const path = parent ? (parent.close === ']' ? `${parent.path}[${parent.count}]` : parent.member) : '$';
      if (c === '{' || c === '[') {
        i++;
        skip();
        const close = c === '{' ? '}' : ']';
        if (source[i] === close) {
          i++;
          emit(`${c}${close}`);
        } else {
          emit(c);
          const frame: Frame = { close, count: 0, keys: new Set(), path, member: path };
          stack.push(frame);
          if (close === '}') {
            if (!member(frame)) return undefined;
          } else emit(newline(stack.length));
          continue;
        }
      } else if (c === '"') {
        const raw = token(STRING);
        if (raw === undefined) return undefined;
        emit(quote(JSON.parse(raw) as string));
      } else {
        const raw = token(NUMBER) ?? token(LITERAL);
        if (raw === undefined) return undefined;
        emit(raw);
      }
      // After a value: the next element or member, or close containers.
      for (;;) {
        skip();
        const top = stack.at(-1);
        if (!top) return i === source.length ? { text: out.join(''), duplicates } : undefined;
        if (source[i] === ',') {
          i++;
          top.count++;
          emit(',');
          if (top.close === '}') {
            if (!member(top)) return undefined;
          } else emit(newline(stack.length));
          break;
        }
        if (source[i] !== top.close) return undefined;
        i++;
        stack.pop();
        emit(`${newline(stack.length)}${top.close}`);
      }
    }
  } catch (error) {
    if (error === TOO_LARGE) return 'too_large';
    throw error;
  }
}
