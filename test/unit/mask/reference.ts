/**
 * A deliberately simple reference masker for property tests: parse the whole text, walk the
 * value, replace what the spec selects, re-serialise. It shares no code with the streaming
 * masker except the detector predicates (tested on their own in detectors.test.ts).
 */
import { detect, selectDetectors } from '../../../src/mask/detectors.ts';
import type { MaskSpec } from '../../../src/mask/spec.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Step = string | number;
type Seg = { name?: string; index?: number; wildcard?: boolean; descendant: boolean };

/** A small independent JSONPath parser for the subset (no escapes inside bracketed names). */
export function parsePath(path: string): Seg[] {
  const segs: Seg[] = [];
  const re = /(\.\.|\.)?(?:\[(?:'([^']*)'|"([^"]*)"|(\*)|(\d+))\]|(\*)|([^.[\]]+))/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`bad path ${path}`);
    const descendant = m[1] === '..';
    if (m[2] !== undefined || m[3] !== undefined) segs.push({ name: m[2] ?? m[3], descendant });
    else if (m[4] || m[6]) segs.push({ wildcard: true, descendant });
    else if (m[5] !== undefined) segs.push({ index: Number(m[5]), descendant });
    else segs.push({ name: m[7], descendant });
  }
  return segs;
}

function segMatches(seg: Seg, step: Step): boolean {
  if (seg.wildcard) return true;
  if (typeof step === 'number') return seg.index === step;
  return seg.name === step;
}

export function pathMatches(segs: readonly Seg[], steps: readonly Step[]): boolean {
  if (segs.length === 0) return steps.length === 0;
  if (steps.length === 0) return false;
  const [seg, ...rest] = segs as [Seg, ...Seg[]];
  if (seg.descendant) {
    // Match seg at some depth k ≥ 0 below here.
    for (let k = 0; k < steps.length; k++) {
      if (segMatches(seg, steps[k] as Step) && pathMatches(rest, steps.slice(k + 1))) return true;
    }
    return false;
  }
  return segMatches(seg, steps[0] as Step) && pathMatches(rest, steps.slice(1));
}

function keyMatches(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => {
    const re = new RegExp(
      `^${p
        .toLowerCase()
        .split('*')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    );
    return re.test(name.toLowerCase());
  });
}

export function formatPath(steps: readonly Step[]): string {
  let out = '$';
  for (const step of steps) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(step)) out += `.${step}`;
    else out += `['${step.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return out;
}

export interface ReferenceOptions {
  maxValueBytes?: number;
  marker?: (value: string) => string;
}

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

export function referenceMask(
  value: Json,
  spec: MaskSpec,
  options: ReferenceOptions = {},
): { value: Json; paths: string[] } {
  const paths: string[] = [];
  const segs = spec.paths.map(parsePath);
  const detectors = selectDetectors(spec.detectors);
  const cap = options.maxValueBytes ?? 64 * 1024;
  const holdsStrings = detectors.detectors.length > 0;
  const redact = (steps: Step[], v: Json): Json => {
    paths.push(formatPath(steps));
    if (typeof v === 'string' && options.marker && utf8Length(JSON.stringify(v)) - 2 <= cap) return options.marker(v);
    return '***';
  };
  const walk = (v: Json, steps: Step[], parentKey: string | undefined): Json => {
    const last = steps[steps.length - 1];
    const selected =
      steps.length > 0 &&
      ((typeof last === 'string' && parentKey !== undefined && keyMatches(spec.keys, parentKey)) ||
        segs.some((s) => pathMatches(s, steps)));
    if (selected) return redact(steps, v);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...steps, i], undefined));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...steps, k], k)]));
    }
    if (typeof v === 'string' && holdsStrings) {
      if (utf8Length(JSON.stringify(v)) - 2 > cap) {
        paths.push(formatPath(steps));
        return '***';
      }
      if (detect(detectors, v) !== undefined) return redact(steps, v);
    }
    return v;
  };
  return { value: walk(value, [], undefined), paths };
}
