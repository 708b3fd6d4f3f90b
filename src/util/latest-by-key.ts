/**
 * A per-isolate cache of one asynchronously built value for the latest key (e.g. a hash of the
 * Worker's vars): `get(key, build)` builds once per key and shares the promise; a new key replaces
 * the old value; a build that fails is forgotten, so the next call tries again (and fails the
 * same way) instead of serving a cached failure forever.
 */
export function latestByKey<T>(): (key: string, build: () => Promise<T>) => Promise<T> {
  let cached: { key: string; value: Promise<T> } | undefined;
  return (key, build) => {
    if (cached?.key !== key) {
      const value = build();
      cached = { key, value };
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}
