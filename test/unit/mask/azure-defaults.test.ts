/**
 * Every Azure default mask masks every secret in its recorded response shape: fixture secrets all
 * contain the marker text SECRET; after masking none may remain, the output must still be valid
 * JSON, everything else must be unchanged, and the reported paths must be exactly what changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AZURE_MASK_DEFAULTS } from '../../../src/mask/azure-defaults.ts';
import { compileMask } from '../../../src/mask/json-mask-stream.ts';
import { compilePathPattern } from '../../../src/policy/compile.ts';
import { decoder, encoder, maskBytes } from './helpers.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/azure', name), 'utf8');

/** Set the value at a reported path (`$.a[0]['b.c']`) in a parsed document. */
function setAt(doc: unknown, path: string, value: unknown): void {
  const steps: (string | number)[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`bad reported path ${path}`);
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] as string).replace(/\\(.)/g, '$1')));
  }
  let node = doc as Record<string | number, unknown>;
  for (const step of steps.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  node[steps[steps.length - 1] as string | number] = value;
}

describe('Azure default masks', () => {
  for (const entry of AZURE_MASK_DEFAULTS) {
    describe(entry.id, () => {
      it('compiles, and its request paths are valid policy patterns', () => {
        expect(compileMask(entry.mask).ok).toBe(true);
        for (const path of entry.paths) expect(() => compilePathPattern(path)).not.toThrow();
      });

      for (const file of entry.fixtures) {
        it(`fully masks ${file} at every split point`, () => {
          const text = fixture(file);
          expect(text).toContain('SECRET');
          const input = encoder.encode(text);
          const framing = file.endsWith('.ndjson') ? 'ndjson' : 'json';
          const whole = maskBytes(input, entry.mask, [], { framing });
          const out = decoder.decode(whole.bytes);
          expect(out).not.toContain('SECRET');
          for (let at = 1; at < input.length; at += 1) {
            expect(maskBytes(input, entry.mask, [at], { framing }).bytes).toEqual(whole.bytes);
          }
          if (framing === 'ndjson') {
            // A watch stream masks each event exactly as the same text on its own would be.
            const lines = text.split('\n').filter(Boolean);
            const each = lines.map((l) => decoder.decode(maskBytes(encoder.encode(l), entry.mask).bytes));
            expect(out).toBe(`${each.join('\n')}\n`);
          } else {
            // Replace exactly the reported paths; the rest must be untouched.
            const expected = JSON.parse(text) as unknown;
            for (const path of whole.masker.report.maskedPaths) setAt(expected, path, '***');
            expect(JSON.parse(out)).toEqual(expected);
          }
          expect(whole.masker.report.maskedCount).toBeGreaterThan(0);
        });
      }
    });
  }
});
