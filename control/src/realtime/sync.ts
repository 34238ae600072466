import type { Pool } from 'pg';
import { logger } from '../../../common/src/logger.js';
import { expireExtensions, type CacheExpirer } from './cache-expirer.js';
import { withTransaction } from './db.js';
import { resolveRealtimeSettings, type RealtimeSettings } from './policy.js';

const log = logger('realtime.sync');

export interface SyncProgress {
  readonly done: number;
  readonly total: number;
}

export interface SyncOptions {
  /** Extensions per transaction (default 1000). */
  batchSize?: number;
  onProgress?: (p: SyncProgress) => void;
  /**
   * Also delete ps_* rows whose id is not an extension (left behind by TRUNCATE or
   * a disabled trigger). Off by default: ps_* may hold objects Tandem does not
   * manage, such as carrier trunks.
   */
  prune?: boolean;
  /** Expire every synced number from Asterisk's sorcery cache (default: none). */
  cacheExpirer?: CacheExpirer;
}

export interface SyncResult {
  readonly total: number;
  readonly batches: number;
  readonly pruned: number;
  readonly durationMs: number;
}

/**
 * Re-derives the ps_* rows of every extension (idempotent). Batched by number
 * (keyset, so concurrent inserts cannot shift pages), one transaction per batch,
 * the mapping itself being the set-based tandem_ps_sync() the trigger uses.
 */
export async function syncAll(pool: Pool, options: SyncOptions = {}): Promise<SyncResult> {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000) {
    throw new RangeError('batchSize must be an integer 1…50000');
  }
  const started = performance.now();
  const countRow = await pool.query<{ n: string }>('SELECT count(*) AS n FROM extensions');
  const total = Number(countRow.rows[0]?.n ?? 0);
  options.onProgress?.({ done: 0, total });

  let after: string | null = null;
  let done = 0;
  let batches = 0;
  for (;;) {
    const numbers: string[] = await withTransaction(pool, async (client) => {
      const page = await client.query<{ number: string }>(
        'SELECT number FROM extensions WHERE ($1::text IS NULL OR number > $1) ORDER BY number LIMIT $2',
        [after, batchSize],
      );
      const list = page.rows.map((r) => r.number);
      if (list.length > 0) await client.query('SELECT tandem_ps_sync($1::text[])', [list]);
      return list;
    });
    if (numbers.length === 0) break;
    batches++;
    done += numbers.length;
    after = numbers[numbers.length - 1]!;
    if (options.cacheExpirer) await expireExtensions(options.cacheExpirer, numbers);
    // rows inserted while syncing can push done past the initial count
    options.onProgress?.({ done, total: Math.max(total, done) });
    if (numbers.length < batchSize) break;
  }

  let pruned = 0;
  if (options.prune) pruned = await pruneOrphans(pool);
  const durationMs = performance.now() - started;
  log.info({ total: done, batches, pruned, durationMs: Math.round(durationMs) }, 'extensions synced');
  return { total: done, batches, pruned, durationMs };
}

/** Deletes ps_* rows with no extension of the same number; returns how many rows went. */
export async function pruneOrphans(pool: Pool): Promise<number> {
  return withTransaction(pool, async (client) => {
    let n = 0;
    for (const table of ['ps_endpoints', 'ps_auths', 'ps_aors'] as const) {
      const r = await client.query(
        `DELETE FROM ${table} p WHERE NOT EXISTS (SELECT 1 FROM extensions e WHERE e.number = p.id)`,
      );
      n += r.rowCount ?? 0;
    }
    return n;
  });
}

/**
 * Numbers whose ps_* rows differ from what the mapping would write (missing,
 * stale, or present although disabled). Runs the sync inside a transaction it
 * rolls back, so it compares against the one real mapping and changes nothing.
 */
export async function findInconsistencies(pool: Pool): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      const snapshot = `
        SELECT 'e' || id AS k, md5(t::text) AS h FROM ps_endpoints t
        UNION ALL SELECT 'a' || id, md5(t::text) FROM ps_auths t
        UNION ALL SELECT 'o' || id, md5(t::text) FROM ps_aors t`;
      await client.query(`CREATE TEMP TABLE tandem_ps_before ON COMMIT DROP AS ${snapshot}`);
      await client.query('SELECT tandem_ps_sync(ARRAY(SELECT number::text FROM extensions))');
      const diff = await client.query<{ id: string }>(
        `WITH after AS (${snapshot})
         SELECT DISTINCT substr(coalesce(b.k, a.k), 2) AS id
           FROM tandem_ps_before b FULL JOIN after a ON a.k = b.k
          WHERE a.h IS DISTINCT FROM b.h
          ORDER BY 1`,
      );
      return diff.rows.map((r) => r.id);
    } finally {
      await client.query('ROLLBACK');
    }
  } finally {
    client.release();
  }
}

export async function readRealtimeSettings(pool: Pool): Promise<RealtimeSettings> {
  const r = await pool.query<{ transport: string; qualify_frequency: number }>(
    'SELECT transport, qualify_frequency FROM tandem_realtime_settings WHERE id = 1',
  );
  const row = r.rows[0];
  if (!row) throw new Error('tandem_realtime_settings has no row: was the database migrated?');
  return resolveRealtimeSettings({ transport: row.transport, qualifyFrequency: row.qualify_frequency });
}

/**
 * Stores the deployment-wide values the mapping uses. Returns true when they
 * changed; existing ps_* rows then need `syncAll` to pick them up.
 */
export async function applyRealtimeSettings(pool: Pool, partial: Partial<RealtimeSettings>): Promise<boolean> {
  const current = await readRealtimeSettings(pool);
  const next = resolveRealtimeSettings({ ...current, ...partial });
  const r = await pool.query(
    `UPDATE tandem_realtime_settings SET transport = $1, qualify_frequency = $2, updated_at = now()
      WHERE id = 1 AND (transport, qualify_frequency) IS DISTINCT FROM ($1, $2)`,
    [next.transport, next.qualifyFrequency],
  );
  return (r.rowCount ?? 0) > 0;
}
