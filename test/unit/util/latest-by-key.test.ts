import { describe, expect, it } from 'vitest';
import { latestByKey } from '../../../src/util/latest-by-key.ts';

describe('latestByKey', () => {
  it('builds once per key and rebuilds when the key changes', async () => {
    const get = latestByKey<number>();
    let builds = 0;
    const build = () => Promise.resolve(++builds);
    expect(await get('a', build)).toBe(1);
    expect(await get('a', build)).toBe(1);
    expect(await get('b', build)).toBe(2);
    expect(await get('a', build)).toBe(3);
  });

  it('forgets a failed build, so the next call tries again', async () => {
    const get = latestByKey<string>();
    await expect(get('k', () => Promise.reject(new Error('bad config')))).rejects.toThrow('bad config');
    await Promise.resolve();
    expect(await get('k', () => Promise.resolve('fixed'))).toBe('fixed');
  });
});
