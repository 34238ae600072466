import type { Pool } from 'pg';
import { ConfigError, errorMessage } from '../../../common/src/errors.js';
import { redactUrlPassword } from '../../../common/src/redact-url.js';
import { createPgPool, DEFAULT_DATABASE_URL } from './db.js';
import { RealtimeError, pgErrorCode } from './errors.js';

/** The database URL for CLI commands: --database-url, else DATABASE_URL, else the local default. */
export function databaseUrl(flag: string | undefined): string {
  return flag ?? process.env['DATABASE_URL'] ?? DEFAULT_DATABASE_URL;
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  return redactUrlPassword(url);
}

/**
 * Runs a CLI action with its own pool; any error becomes one clear line on
 * stderr and exit code 1 — never a stack trace (set TANDEM_DEBUG=1 for one).
 */
export async function runDbCommand(url: string, fn: (pool: Pool) => Promise<void>): Promise<void> {
  let pool: Pool | undefined;
  try {
    pool = createPgPool({ connectionString: url, max: 4, statementTimeoutMs: 120_000 });
    await fn(pool);
  } catch (err) {
    process.stderr.write(`error: ${describeError(err, url)}\n`);
    if (process.env['TANDEM_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  } finally {
    await pool?.end().catch(() => undefined);
  }
}

export function describeError(err: unknown, url: string): string {
  if (err instanceof RealtimeError) return `${err.message} [${err.code}]`;
  if (err instanceof ConfigError) return err.message;
  const code = pgErrorCode(err);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || /timeout exceeded when trying to connect/i.test(errorMessage(err))) {
    return `cannot reach PostgreSQL at ${redactUrl(url)}: ${errorMessage(err)}`;
  }
  if (code === '3D000') return `database does not exist (${redactUrl(url)}): create it, then run "tandem migrate"`;
  if (code === '42P01' || code === '42883') return `database is not migrated (${errorMessage(err)}): run "tandem migrate"`;
  if (code === '28P01' || code === '28000') return `PostgreSQL refused the login for ${redactUrl(url)}`;
  return errorMessage(err);
}

/** commander argParser for a positive integer flag. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError('argument', `expected a positive integer, got "${value}"`);
  }
  return n;
}

export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Reads a secret piped on stdin (`--password-stdin`), so it never appears in the
 * process list or shell history. The one trailing newline `echo` adds is dropped.
 */
export async function readSecretFromStream(
  stream: AsyncIterable<Buffer | string> & { isTTY?: boolean },
  flag = '--password-stdin',
): Promise<string> {
  if (stream.isTTY) throw new ConfigError(flag, 'pipe the password on stdin, e.g. printf %s "$PW" | tandem …');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > 4096) throw new ConfigError(flag, 'more than 4096 bytes on stdin');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
