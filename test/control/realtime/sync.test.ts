import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRealtimeSettings,
  findInconsistencies,
  readRealtimeSettings,
  syncAll,
  type SyncProgress,
} from '../../../control/src/realtime/sync.js';
import { countRows, createTestDb, expectedPs, psRows, type TestDb } from './pg-test-db.js';

const N = 10_000;

describe('syncAll', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
    // 10,000 extensions written the way a bulk import would; the trigger maps them.
    await db.pool.query(
      `INSERT INTO extensions (number, password, display_name, context, codecs, enabled)
       SELECT (100000 + i)::text, 'Pw-' || md5(i::text), 'User ' || i, 'ctx-' || (i % 7), ARRAY['ulaw', 'alaw'], i % 10 <> 0
         FROM generate_series(1, $1::int) AS i`,
      [N],
    );
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it(`repairs ${N} extensions whose ps_* rows are missing, stale or should not exist`, async () => {
    const enabled = N - N / 10;
    expect(await countRows(db.pool)).toEqual({ extensions: N, ps_endpoints: enabled, ps_auths: enabled, ps_aors: enabled });

    // Simulate a trigger bypassed (replica role) while things changed underneath.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL session_replication_role = 'replica'");
      await client.query('DELETE FROM ps_endpoints');
      await client.query("DELETE FROM ps_auths WHERE id LIKE '1000%'");
      await client.query("UPDATE ps_aors SET qualify_frequency = 0, max_contacts = 5 WHERE id LIKE '1001%'");
      await client.query("UPDATE extensions SET password = 'Changed-' || number WHERE number LIKE '1002%'");
      await client.query("UPDATE extensions SET enabled = false WHERE number LIKE '1003%'");
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const stale = await findInconsistencies(db.pool);
    expect(stale.length).toBeGreaterThan(enabled - 1000);
    expect(stale).toContain('100201');
    expect(stale).toContain('100111');

    const progress: SyncProgress[] = [];
    const result = await syncAll(db.pool, { batchSize: 1000, onProgress: (p) => progress.push(p) });
     
    console.log(`syncAll of ${N} extensions took ${result.durationMs.toFixed(0)} ms in ${result.batches} batches`);
    expect(result.total).toBe(N);
    expect(result.batches).toBe(N / 1000);
    expect(progress[0]).toEqual({ done: 0, total: N });
    expect(progress.at(-1)).toEqual({ done: N, total: N });

    const r = await db.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM extensions WHERE enabled AND number NOT LIKE '1003%'",
    );
    const nowEnabled = Number(r.rows[0]?.n);
    expect(await countRows(db.pool)).toEqual({
      extensions: N,
      ps_endpoints: nowEnabled,
      ps_auths: nowEnabled,
      ps_aors: nowEnabled,
    });
    expect(await findInconsistencies(db.pool)).toEqual([]);
    // spot checks against the exact mapping
    expect(await psRows(db.pool, '100201')).toEqual(
      expectedPs({ number: '100201', password: 'Changed-100201', callerid: '"User 201" <100201>', context: 'ctx-5', allow: 'ulaw,alaw' }),
    );
    expect(await psRows(db.pool, '100111')).toEqual(
      expectedPs({ number: '100111', password: await pw(111), callerid: '"User 111" <100111>', context: 'ctx-6', allow: 'ulaw,alaw' }),
    );
    expect(await psRows(db.pool, '100301')).toEqual({ endpoint: undefined, auth: undefined, aor: undefined });
    expect(await psRows(db.pool, '100020')).toEqual({ endpoint: undefined, auth: undefined, aor: undefined });

    // every row, not just samples: all enabled extensions match their ps_* rows field by field
    const mismatches = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM extensions e
         LEFT JOIN ps_endpoints p ON p.id = e.number
         LEFT JOIN ps_auths a ON a.id = e.number
         LEFT JOIN ps_aors o ON o.id = e.number
        WHERE e.enabled AND (p.id IS NULL OR a.password IS DISTINCT FROM e.password
           OR p.callerid IS DISTINCT FROM '"' || e.display_name || '" <' || e.number || '>'
           OR p.context IS DISTINCT FROM e.context OR o.qualify_frequency IS DISTINCT FROM 30
           OR o.max_contacts IS DISTINCT FROM 1)`,
    );
    expect(Number(mismatches.rows[0]?.n)).toBe(0);
  }, 120_000);

  it('is idempotent: a second run changes no row', async () => {
    const before = await db.pool.query<{ h: string }>(
      "SELECT md5(string_agg(t::text || xmin::text, ',' ORDER BY id)) AS h FROM ps_endpoints t",
    );
    const result = await syncAll(db.pool, { batchSize: 3000 });
    expect(result.batches).toBe(4);
    const after = await db.pool.query<{ h: string }>(
      "SELECT md5(string_agg(t::text || xmin::text, ',' ORDER BY id)) AS h FROM ps_endpoints t",
    );
    expect(after.rows[0]?.h).toBe(before.rows[0]?.h);
  }, 120_000);

  it('picks up new realtime settings (transport, qualify_frequency)', async () => {
    expect(await readRealtimeSettings(db.pool)).toEqual({ transport: 'transport-udp', qualifyFrequency: 30 });
    expect(await applyRealtimeSettings(db.pool, { transport: 'transport-tcp', qualifyFrequency: 45 })).toBe(true);
    expect(await applyRealtimeSettings(db.pool, { transport: 'transport-tcp' })).toBe(false);
    expect((await findInconsistencies(db.pool)).length).toBeGreaterThan(0);
    await syncAll(db.pool);
    expect(await findInconsistencies(db.pool)).toEqual([]);
    expect((await psRows(db.pool, '100011')).endpoint).toMatchObject({ transport: 'transport-tcp' });
    expect((await psRows(db.pool, '100011')).aor).toMatchObject({ qualify_frequency: 45 });
    await expect(applyRealtimeSettings(db.pool, { qualifyFrequency: 0 })).rejects.toMatchObject({ key: 'qualifyFrequency' });
  }, 120_000);

  it('prune removes ps_* rows with no extension only when asked', async () => {
    await db.pool.query("INSERT INTO ps_endpoints (id, transport) VALUES ('trunk-carrier', 'transport-udp')");
    await syncAll(db.pool);
    expect((await psRows(db.pool, 'trunk-carrier')).endpoint).toBeDefined();
    const result = await syncAll(db.pool, { prune: true });
    expect(result.pruned).toBe(1);
    expect((await psRows(db.pool, 'trunk-carrier')).endpoint).toBeUndefined();
  }, 120_000);

  async function pw(i: number): Promise<string> {
    const r = await db.pool.query<{ p: string }>("SELECT 'Pw-' || md5($1::text) AS p", [String(i)]);
    return r.rows[0]!.p;
  }
});
