import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { assertMigrated, migrate, schemaVersion } from '../../../control/src/realtime/migrate.js';
import { MIGRATIONS } from '../../../control/src/realtime/migrations/index.js';
import { RealtimeError } from '../../../control/src/realtime/errors.js';
import { createTestDb, type TestDb } from './pg-test-db.js';

/** Everything a migration could change: columns, types, constraints, triggers, functions, migration rows. */
async function schemaFingerprint(pool: Pool): Promise<string> {
  const r = await pool.query<{ f: string }>(`
    SELECT string_agg(x, E'\\n' ORDER BY x) AS f FROM (
      SELECT 'col ' || table_name || '.' || column_name || ' ' || udt_name || ' ' || coalesce(character_maximum_length::text, '') AS x
        FROM information_schema.columns WHERE table_schema = 'public'
      UNION ALL SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      UNION ALL SELECT 'trg ' || tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL SELECT 'fn ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
      UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
      UNION ALL SELECT 'mig ' || id || ' ' || name || ' ' || checksum || ' ' || applied_at FROM tandem_migrations
      UNION ALL SELECT 'settings ' || transport || ' ' || qualify_frequency FROM tandem_realtime_settings
    ) s`);
  return r.rows[0]?.f ?? '';
}

describe('migrate', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb({ migrate: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reports version 0 and NOT_MIGRATED on an empty database', async () => {
    expect(await schemaVersion(db.pool)).toBe(0);
    await expect(assertMigrated(db.pool)).rejects.toMatchObject({ code: 'NOT_MIGRATED' });
  });

  it('applies every migration once; a second run changes nothing', async () => {
    const first = await migrate(db.pool);
    expect(first.applied).toEqual(MIGRATIONS.map((m) => `${String(m.id).padStart(3, '0')}_${m.name}`));
    expect(first.version).toBe(MIGRATIONS.length);
    const before = await schemaFingerprint(db.pool);
    expect(before).toContain('col ps_endpoints.direct_media yesno_values');
    expect(before).toContain('col ps_auths.auth_type pjsip_auth_type_values_v2');

    const second = await migrate(db.pool);
    expect(second.applied).toEqual([]);
    expect(second.version).toBe(first.version);
    expect(await schemaFingerprint(db.pool)).toBe(before);
    await expect(assertMigrated(db.pool)).resolves.toBeUndefined();
  });

  it('refuses a shipped migration whose SQL was edited', async () => {
    const edited = MIGRATIONS.map((m) => (m.id === 1 ? { ...m, sql: m.sql + '\n-- edited' } : m));
    const err = await migrate(db.pool, { migrations: edited }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RealtimeError);
    expect((err as RealtimeError).code).toBe('MIGRATION_MISMATCH');
  });
});

describe('migrate concurrently', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb({ migrate: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('lets several nodes migrate at once: each migration applied exactly once', async () => {
    const pools = [db.pool, db.openPool(), db.openPool(), db.openPool()];
    const results = await Promise.all(pools.map((p) => migrate(p)));
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(MIGRATIONS.map((m) => `${String(m.id).padStart(3, '0')}_${m.name}`).sort());
    const rows = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM tandem_migrations');
    expect(Number(rows.rows[0]?.n)).toBe(MIGRATIONS.length);
  });

  it('a failing migration rolls back entirely and is not recorded', async () => {
    const bad = [...MIGRATIONS, { id: 99, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT 1/0;' }];
    await expect(migrate(db.pool, { migrations: bad })).rejects.toThrow(/division by zero/);
    const t = await db.pool.query<{ t: string | null }>("SELECT to_regclass('half_done')::text AS t");
    expect(t.rows[0]?.t).toBeNull();
    expect(await schemaVersion(db.pool)).toBe(MIGRATIONS.length);
  });
});
