import pg from 'pg';
import type { Pool } from 'pg';
import { ConfigError } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';

const log = logger('realtime.db');

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tandem';

export interface PgPoolOptions {
  /** postgres://user@host:port/db; default `DEFAULT_DATABASE_URL`. */
  connectionString?: string;
  /** Max connections (default 10). */
  max?: number;
  /** Give up connecting after this long (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout` for every statement (default 15000 ms). */
  statementTimeoutMs?: number;
  /** Client-side guard in case the server never answers (default statement timeout + 5 s). */
  queryTimeoutMs?: number;
  /** Close idle connections after this long (default 10000 ms). */
  idleTimeoutMs?: number;
}

/**
 * A pg Pool with timeouts on everything: connecting, each statement (server side)
 * and each query (client side), so no database call can hang a caller forever.
 */
export function createPgPool(options: PgPoolOptions = {}): Pool {
  const connectionString = options.connectionString ?? DEFAULT_DATABASE_URL;
  if (!/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const statementTimeoutMs = positive('statementTimeoutMs', options.statementTimeoutMs ?? 15_000);
  const pool = new pg.Pool({
    connectionString,
    max: positive('max', options.max ?? 10),
    connectionTimeoutMillis: positive('connectTimeoutMs', options.connectTimeoutMs ?? 5_000),
    idleTimeoutMillis: positive('idleTimeoutMs', options.idleTimeoutMs ?? 10_000),
    statement_timeout: statementTimeoutMs,
    query_timeout: positive('queryTimeoutMs', options.queryTimeoutMs ?? statementTimeoutMs + 5_000),
    application_name: 'tandem',
  });
  // An idle client losing its connection emits on the pool; without a listener
  // that would crash the process.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection failed'));
  return pool;
}

function positive(key: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(key, `must be a positive integer, got ${value}`);
  return value;
}

/**
 * Runs `fn` inside BEGIN/COMMIT on one client, rolling back on any error. A
 * client whose ROLLBACK fails is destroyed rather than returned to the pool, so a
 * broken connection is never reused.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // The original error matters more than a failed rollback.
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

/** PostgreSQL answers a trivial query within a second. */
export async function pingPostgres(db: Pool): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 1000);
  });
  try {
    return await Promise.race([db.query('SELECT 1').then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
