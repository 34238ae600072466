import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * One process-wide root logger; modules take a namespaced child
 * (`logger('engine.shard')`) and log structured fields, never per packet.
 * Secrets are redacted by key wherever they appear in a log object.
 */
const options: LoggerOptions = {
  level: process.env['TANDEM_LOG_LEVEL'] ?? (process.env['VITEST'] ? 'silent' : 'info'),
  base: { pid: process.pid },
  redact: {
    paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization', 'apiKey', '*.apiKey'],
    censor: '[redacted]',
  },
};
const root: Logger = pino(options);

export function logger(namespace: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ ns: namespace, ...bindings });
}

/** Changes the level of every logger in this thread (children follow the root). */
export function setLogLevel(level: string): void {
  root.level = level;
}

/**
 * A logger with the root's settings (redaction included) writing to `stream`
 * at `level`: for components that take a logger, so a test can read exactly
 * what they would log.
 */
export function loggerTo(stream: DestinationStream, namespace: string, level = 'debug'): Logger {
  return pino({ ...options, level }, stream).child({ ns: namespace });
}
