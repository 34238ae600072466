import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { logger } from '../../../common/src/logger.js';
import { RealtimeError } from './errors.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

const log = logger('realtime.migrate');

/** Key of the session advisory lock that serialises migrating nodes ("TNDMIGR1"). */
export const MIGRATION_LOCK_KEY = 0x544e444d49475231n;

export interface MigrateOptions {
  migrations?: readonly Migration[];
  /** statement_timeout for the migration session (default 5 minutes: DDL on big tables). */
  statementTimeoutMs?: number;
}

export interface MigrateResult {
  /** Names of the migrations applied by this call, in order (empty when up to date). */
  readonly applied: readonly string[];
  /** Id of the newest migration now in the database. */
  readonly version: number;
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql).digest('hex');
}

/**
 * Applies pending migrations, each in its own transaction. A session advisory
 * lock makes concurrent runs (two nodes starting at once) take turns; the second
 * then finds nothing to do. A shipped migration whose SQL changed is refused
 * (MIGRATION_MISMATCH) rather than silently skipped.
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = sortedMigrations(options.migrations ?? MIGRATIONS);
  const timeoutMs = options.statementTimeoutMs ?? 300_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError('statementTimeoutMs must be a positive integer');
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(`SET statement_timeout = ${timeoutMs}`);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS tandem_migrations (
        id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = await client.query<{ id: number; name: string; checksum: string }>(
        'SELECT id, name, checksum FROM tandem_migrations ORDER BY id',
      );
      const doneById = new Map(done.rows.map((r) => [r.id, r]));
      const applied: string[] = [];
      for (const m of migrations) {
        const previous = doneById.get(m.id);
        if (previous) {
          if (previous.checksum !== migrationChecksum(m)) {
            throw new RealtimeError(
              'MIGRATION_MISMATCH',
              `migration ${m.id} (${m.name}) was applied with different SQL; add a new migration instead of editing a shipped one`,
            );
          }
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO tandem_migrations (id, name, checksum) VALUES ($1, $2, $3)', [
            m.id,
            m.name,
            migrationChecksum(m),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        log.info({ id: m.id, name: m.name }, 'migration applied');
        applied.push(`${String(m.id).padStart(3, '0')}_${m.name}`);
      }
      const version = Math.max(0, ...migrations.map((m) => m.id), ...done.rows.map((r) => r.id));
      return { applied, version };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => {
        // A dead connection drops its session lock by itself; destroy it below.
        broken = true;
      });
      await client.query('RESET statement_timeout').catch(() => {
        broken = true;
      });
    }
  } finally {
    client.release(broken);
  }
}

/** Id of the newest applied migration, 0 when never migrated. */
export async function schemaVersion(pool: Pool): Promise<number> {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('tandem_migrations')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const r = await pool.query<{ v: number | null }>('SELECT max(id) AS v FROM tandem_migrations');
  return r.rows[0]?.v ?? 0;
}

/** Throws NOT_MIGRATED unless every known migration is applied. */
export async function assertMigrated(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  const want = Math.max(...migrations.map((m) => m.id));
  const have = await schemaVersion(pool);
  if (have < want) {
    throw new RealtimeError('NOT_MIGRATED', `database schema is at version ${have}, need ${want}: run "tandem migrate"`);
  }
}

function sortedMigrations(list: readonly Migration[]): Migration[] {
  const sorted = [...list].sort((a, b) => a.id - b.id);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id) throw new RangeError(`duplicate migration id ${sorted[i]!.id}`);
  }
  return sorted;
}
