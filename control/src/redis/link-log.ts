import { errorMessage } from '../../../common/src/errors.js';
import { LogLimiter } from '../../../common/src/log-limiter.js';
import type { Logger } from '../../../common/src/logger.js';
import { redactUrlPassword } from '../../../common/src/redact-url.js';

/** The events of an ioredis client this watches. */
export interface RedisLinkEvents {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

export interface RedisLinkLogOptions {
  log: Logger;
  /** What the connection is for, e.g. "presence and transcript publisher". */
  role: string;
  /** Shown with its password replaced. */
  url: string;
  /** While an outage lasts, a reminder at most this often (default 5 min). */
  reminderIntervalMs?: number;
}

/**
 * Every ioredis client needs an `error` listener: without one, ioredis prints
 * `[ioredis] Unhandled error event` with a stack to stderr on every reconnect
 * attempt (10 a second at its default backoff). This one logs an outage once
 * when it starts (warn), a reminder with the count of failed attempts while it
 * lasts (at most once per reminderIntervalMs), and its end (info) — never the
 * URL's password. Returns the function that detaches it.
 */
export function logRedisLink(client: RedisLinkEvents, options: RedisLinkLogOptions): () => void {
  const { log, role } = options;
  const url = redactUrlPassword(options.url);
  const reminders = new LogLimiter(options.reminderIntervalMs ?? 5 * 60_000);
  let down: { since: number; failures: number } | null = null;
  const onError = (err: Error): void => {
    if (down === null) {
      down = { since: Date.now(), failures: 1 };
      reminders.take('outage');
      log.warn({ role, url, err: errorMessage(err) }, `Redis not reachable at ${url} (${role}); ioredis keeps reconnecting`);
      return;
    }
    down.failures++;
    if (reminders.take('outage') !== null) {
      log.warn({ role, url, err: errorMessage(err), failures: down.failures, downForMs: Date.now() - down.since }, `Redis still not reachable at ${url} (${role})`);
    }
  };
  const onReady = (): void => {
    if (down === null) return;
    log.info({ role, url, failures: down.failures, downForMs: Date.now() - down.since }, `Redis reachable again at ${url} (${role})`);
    down = null;
    reminders.reset('outage');
  };
  client.on('error', onError);
  client.on('ready', onReady);
  return () => {
    client.off('error', onError);
    client.off('ready', onReady);
  };
}
