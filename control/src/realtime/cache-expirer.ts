import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';

const log = logger('realtime.cache');

export type SorceryObjectType = 'endpoint' | 'aor' | 'auth';

/**
 * Expires one object from Asterisk's sorcery memory cache (the AMI helper
 * implements it over `SorceryMemoryCacheExpireObject`). Without a memory cache in
 * sorcery.conf, realtime rows are read live and the no-op default is right.
 */
export interface CacheExpirer {
  expire(objectType: SorceryObjectType, id: string): Promise<void>;
}

export const noopCacheExpirer: CacheExpirer = Object.freeze({
  expire: async (): Promise<void> => undefined,
});

/**
 * Expires endpoint, aor and auth of each number after a committed write. A
 * failure is logged, not thrown: the database is already right, and the cache
 * entry still expires on its own timer.
 */
export async function expireExtensions(expirer: CacheExpirer, numbers: readonly string[]): Promise<number> {
  let failures = 0;
  for (const number of numbers) {
    for (const type of ['endpoint', 'aor', 'auth'] as const) {
      try {
        await expirer.expire(type, number);
      } catch (err) {
        failures++;
        log.warn({ type, id: number, err: errorMessage(err) }, 'sorcery cache expiry failed');
      }
    }
  }
  return failures;
}
