import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded synchronously the first time it is called for, so a CLI start that never
 * uses it does not pay for it (piscina, cli-progress and the CSV packages: about 30 ms of each start).
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
