import { logger } from '../../../../common/src/logger.js';
import { AmiConnection, SorceryCacheExpirer } from '../../ami/index.js';
import { noopCacheExpirer, type CacheExpirer } from '../../realtime/index.js';

/**
 * Where Asterisk caches PJSIP objects in memory (sorcery.conf memory_cache), a
 * realtime write is invisible until the cache expires: with AMI credentials in
 * the environment, write commands expire each changed object right away.
 * Without them, writes are live at once on a cache-less setup (docs/asterisk-facts.md).
 */
export async function withCacheExpirer<T>(run: (expirer: CacheExpirer) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const username = env['AMI_USERNAME'];
  const secret = env['AMI_SECRET'];
  if (!username || !secret) return await run(noopCacheExpirer);
  const connection = new AmiConnection({ host: env['AMI_HOST'] ?? '127.0.0.1', port: Number(env['AMI_PORT'] ?? 5038), username, secret, heartbeatIntervalMs: 0 });
  try {
    await connection.connect();
  } catch (err) {
    // The write itself must not fail because AMI is away; the cache then expires on its own schedule.
    logger('cli.sorcery').warn({ err: err instanceof Error ? err.message : String(err) }, 'AMI unreachable: sorcery caches not expired');
    await connection.close();
    return await run(noopCacheExpirer);
  }
  try {
    return await run(new SorceryCacheExpirer(connection));
  } finally {
    await connection.close();
  }
}
