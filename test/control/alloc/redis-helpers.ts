import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix of this test's own: `tandem:test:<random>:`. */
export function testPrefix(): string {
  return `tandem:test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` and closes the admin connection. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { commandTimeout: 5000, maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function keysUnder(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL, { commandTimeout: 5000, maxRetriesPerRequest: 1 });
  try {
    return (await redis.keys(`${prefix}*`)).sort();
  } finally {
    redis.disconnect();
  }
}

export { closedPort } from '../../support/ports.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
