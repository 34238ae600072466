import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One process-wide root logger; modules take a namespaced child
 * (`logger('engine.shard')`) and log structured fields, never per packet.
 * Secrets are redacted by key wherever they appear in a log object.
 */
const root: Logger = pino({
  level: process.env['TANDEM_LOG_LEVEL'] ?? (process.env['VITEST'] ? 'silent' : 'info'),
  base: { pid: process.pid },
  redact: {
    paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization', 'apiKey', '*.apiKey'],
    censor: '[redacted]',
  },
});

export function logger(namespace: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ ns: namespace, ...bindings });
}

/** Changes the level of every logger in this thread (children follow the root). */
export function setLogLevel(level: string): void {
  root.level = level;
}
