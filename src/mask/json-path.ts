/**
 * The JSONPath subset that mask obligations use, compiled to a tiny automaton the streaming masker
 * advances one member name or array index at a time.
 *
 * Supported (RFC 9535 syntax, a subset): `$` root; `.name`; `['name']` / `["name"]` (names with
 * dots, spaces or quotes; `\\` and `\'`/`\"` escapes); `.*` and `[*]` (any member or element);
 * `[n]` (array index); `..name`, `..*`, `..['name']` (descendant). Names compare exactly
 * (JSONPath is case-sensitive; case-insensitive matching is what `keys` patterns are for).
 * Contract: `parseJsonPath` returns a result, never throws; the automaton holds no per-document
 * state beyond the small arrays of live positions the masker keeps per open container.
 */

export type Segment =
  | { kind: 'name'; name: string; descendant: boolean }
  | { kind: 'wildcard'; descendant: boolean }
  | { kind: 'index'; index: number; descendant: boolean };

export type PathResult = { ok: true; segments: Segment[] } | { ok: false; reason: string };

const NAME_START = /[A-Za-z_$@\u0080-\uffff-]/;
const NAME_CHAR = /[A-Za-z0-9_$@\u0080-\uffff-]/;

export function parseJsonPath(path: string): PathResult {
  if (!path.startsWith('$')) return { ok: false, reason: `path must start with $: ${path}` };
  const segments: Segment[] = [];
  let i = 1;
  const fail = (why: string): PathResult => ({ ok: false, reason: `${why} at offset ${i} in ${path}` });
  while (i < path.length) {
    let descendant = false;
    if (path.startsWith('..', i)) {
      descendant = true;
      i += 2;
    } else if (path[i] === '.') {
      i += 1;
    } else if (path[i] !== '[') {
      return fail('expected . or [');
    }
    if (path[i] === '*') {
      segments.push({ kind: 'wildcard', descendant });
      i++;
      continue;
    }
    if (path[i] === '[') {
      i++;
      const c = path[i];
      if (c === '*') {
        if (path[i + 1] !== ']') return fail('expected ]');
        segments.push({ kind: 'wildcard', descendant });
        i += 2;
        continue;
      }
      if (c === "'" || c === '"') {
        let name = '';
        i++;
        while (i < path.length && path[i] !== c) {
          if (path[i] === '\\') {
            i++;
            if (i >= path.length) return fail('dangling escape');
          }
          name += path[i];
          i++;
        }
        if (path[i] !== c || path[i + 1] !== ']') return fail('unterminated bracketed name');
        segments.push({ kind: 'name', name, descendant });
        i += 2;
        continue;
      }
      const digits = /^(0|[1-9][0-9]{0,8})\]/.exec(path.slice(i));
      if (!digits) return fail('expected a quoted name, * or an index');
      segments.push({ kind: 'index', index: Number(digits[1]), descendant });
      i += (digits[1] as string).length + 1;
      continue;
    }
    if (descendant && path[i] === undefined) return fail('expected a name after ..');
    if (!NAME_START.test(path[i] ?? '')) return fail('expected a member name');
    const start = i;
    while (i < path.length && NAME_CHAR.test(path[i] as string)) i++;
    segments.push({ kind: 'name', name: path.slice(start, i), descendant });
  }
  if (segments.length === 0) return { ok: false, reason: 'the whole document ($) cannot be masked' };
  if (segments.length > 255) return { ok: false, reason: 'path too long' };
  return { ok: true, segments };
}

/**
 * Live positions are numbers `pattern << 8 | segment`: "the path so far matched the first
 * `segment` segments of `pattern`". An empty array means no pattern can match below here.
 */
export class PathAutomaton {
  readonly #patterns: Segment[][];
  readonly root: readonly number[];
  /** Set by `step`: the child itself is matched by some pattern (mask it whole). */
  matched = false;

  constructor(patterns: Segment[][]) {
    this.#patterns = patterns;
    this.root = patterns.map((_, p) => p << 8);
  }

  /** Positions after descending into a child named `name` (object) or at `index` (array). */
  step(states: readonly number[], name: string | undefined, index: number): readonly number[] {
    this.matched = false;
    let next: number[] | undefined;
    let unchanged = true;
    for (let k = 0; k < states.length; k++) {
      const state = states[k] as number;
      const pattern = this.#patterns[state >> 8] as Segment[];
      const position = state & 0xff;
      const segment = pattern[position] as Segment;
      const hit =
        segment.kind === 'wildcard' ||
        (segment.kind === 'name' ? name === segment.name : name === undefined && index === segment.index);
      if (segment.descendant) {
        // A descendant segment may match here and also further down: keep it live either way.
        if (!hit) {
          if (next && !next.includes(state)) next.push(state);
          continue;
        }
        if (!next) next = states.slice(0, k) as number[];
        if (!next.includes(state)) next.push(state);
      } else if (!next) {
        next = states.slice(0, k) as number[];
      }
      unchanged = false;
      if (!hit) continue;
      if (position + 1 === pattern.length) this.matched = true;
      else if (!next.includes(state + 1)) next.push(state + 1);
    }
    if (unchanged) return states;
    return next ?? [];
  }
}
