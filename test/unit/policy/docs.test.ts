// Every YAML example in docs/policy.md compiles, and every example test file passes against the
// policy example just above it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CompiledPolicy, compilePolicy } from '../../../src/policy/compile.ts';
import { parsePolicyTests, runPolicyTests } from '../../../src/policy/policy-tests.ts';

const markdown = readFileSync('docs/policy.md', 'utf8');
const blocks = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('docs/policy.md examples', () => {
  it('has policy examples and test examples', () => {
    expect(blocks.filter((b) => b.startsWith('version: 1')).length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((b) => b.includes('\ncases:')).length).toBeGreaterThanOrEqual(4);
  });

  it('compiles every policy and passes every test case', async () => {
    let policy: CompiledPolicy | undefined;
    let cases = 0;
    for (const [i, block] of blocks.entries()) {
      if (block.startsWith('version: 1')) {
        const result = await compilePolicy(block, { file: `docs/policy.md#${i}` });
        expect(result.ok ? [] : result.errors).toEqual([]);
        if (result.ok) policy = result.policy;
      } else if (block.includes('\ncases:')) {
        const parsed = parsePolicyTests(block, `docs/policy.md#${i}`);
        expect(parsed.ok ? [] : parsed.errors).toEqual([]);
        if (!parsed.ok || !policy) throw new Error(`example ${i} has no policy above it`);
        const failures = runPolicyTests(policy, parsed.tests).flatMap((r) => r.failures.map((f) => `${r.name}: ${f}`));
        expect(failures).toEqual([]);
        cases += parsed.tests.cases.length;
      }
    }
    expect(cases).toBeGreaterThanOrEqual(10);
  });
});
