import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { createPgPool } from '../../../control/src/realtime/db.js';
import { provisionPairs } from '../../../control/src/realtime/index.js';
import { PgCallRecordStore, type CallRecord, type CallRecordSource } from '../../../control/src/records/index.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { closedPort } from '../alloc/redis-helpers.js';
import { TcpProxy } from '../alloc/tcp-proxy.js';
import { createTestDb, useTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { watchUnhandledRejections } from '../transcripts/support.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';
import { expectAllReleased } from '../../support/control-harness.js';
import { recordFixture } from './support.js';
import { freePortRange } from '../../support/ports.js';

describe('migration 005', () => {
  const db = useTestDb();

  it('creates call_records with its checks and the time and pair indexes', async () => {
    const idx = await db.pool.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'call_records' ORDER BY indexname",
    );
    const defs = Object.fromEntries(idx.rows.map((r) => [r.indexname, r.indexdef]));
    expect(Object.keys(defs)).toEqual(['call_records_ended_idx', 'call_records_pair_started_idx', 'call_records_pkey', 'call_records_started_idx']);
    expect(defs['call_records_started_idx']).toMatch(/\(started_at\)/);
    expect(defs['call_records_ended_idx']).toMatch(/\(ended_at\)/);
    expect(defs['call_records_pair_started_idx']).toMatch(/\(pair_id, started_at\)/);
    const insert = (hangupBy: string, mos: number | null) =>
      db.pool.query(
        `INSERT INTO call_records (id, pair_id, call_id, ext_a, ext_b, node, started_at, ended_at, duration_ms, teardown_ms,
                                   hangup_by, teardown_reason, codec, translated, mos_a)
         VALUES (gen_random_uuid(), 'pair_001', 'c1', '7000', '7001', 'n', now(), now(), 0, 0, $1, 'caller-hangup', 'ulaw', false, $2)`,
        [hangupBy, mos],
      );
    await expect(insert('someone', null)).rejects.toMatchObject({ code: '23514' });
    await expect(insert('caller', 4.6)).rejects.toMatchObject({ code: '23514' });
    await insert('caller', 4.41);
  });
});

describe('PgCallRecordStore on PostgreSQL', () => {
  const db = useTestDb();
  let store: PgCallRecordStore;
  beforeEach(async () => {
    await db.pool.query('DELETE FROM call_records');
    store = new PgCallRecordStore(db.pool, { batchSize: 2 });
  });

  it('stores records as they are and reads them back: by end time, since, pair, order, limit; a replay is one row', async () => {
    const at = (s: number): string => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();
    const r1 = recordFixture({ endedAt: at(1) });
    const r2 = recordFixture({ endedAt: at(3), pairId: 'pair_002', caller: null, answeredAt: null, talkMs: null, setupMs: null, hangupCause: 17, legs: null, mosA: null, mosB: null });
    const r3 = recordFixture({ endedAt: at(2) });
    for (const r of [r1, r2, r3, r1]) expect(store.save(r)).toBe(true);
    await store.flush();
    expect(store.stats()).toEqual({ queued: 0, written: 4, dropped: { queue_full: 0, db_error: 0, closed: 0 } });
    const count = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM call_records');
    expect(Number(count.rows[0]?.n)).toBe(3);

    expect(await store.get(r1.id)).toEqual(r1);
    expect(await store.get(r2.id)).toEqual(r2);
    expect(await store.get('00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await store.get("x' OR 1=1 --")).toBeNull();
    expect((await store.list()).map((r) => r.id)).toEqual([r2.id, r3.id, r1.id]);
    expect((await store.list({ order: 'asc', limit: 2 })).map((r) => r.id)).toEqual([r1.id, r3.id]);
    expect((await store.list({ since: new Date(at(2)) })).map((r) => r.id)).toEqual([r2.id, r3.id]);
    expect((await store.list({ pairId: 'pair_002' })).map((r) => r.id)).toEqual([r2.id]);
    expect(await store.list({ pairId: "pair_001' OR 1=1 --" })).toEqual([]);
    await expect(store.list({ limit: 1001 })).rejects.toThrow(RangeError);

    await store.close();
    expect(store.save(r1)).toBe(false);
    expect(store.stats().dropped.closed).toBe(1);
    await expect(store.list()).rejects.toThrow(/closed/);
  });
});

describe('migration 007 and recordings on the record', () => {
  const db = useTestDb();

  it('recording columns are all set or all null; the store writes one with its record or after it, in order', async () => {
    await db.pool.query('DELETE FROM call_records');
    const partial = db.pool.query(
      `INSERT INTO call_records (id, pair_id, call_id, ext_a, ext_b, node, started_at, ended_at, duration_ms, teardown_ms,
                                 hangup_by, teardown_reason, codec, translated, recording_path)
       VALUES (gen_random_uuid(), 'pair_001', 'c1', '7000', '7001', 'n', now(), now(), 0, 0, 'caller', 'caller-hangup', 'ulaw', false, '/r/a.wav')`,
    );
    await expect(partial).rejects.toMatchObject({ code: '23514' });

    const store = new PgCallRecordStore(db.pool, { batchSize: 2 });
    const wav = { path: '/var/spool/tandem/pair_001-20261207T100000.wav', format: 'wav' as const, bytes: 160_044, durationMs: 10_000 };
    const opus = { path: "/var/spool/tandem/pair_002-x'; DROP TABLE call_records; --.opus", format: 'opus' as const, bytes: 17_312, durationMs: 9_980 };
    const withFile = recordFixture({ recording: wav });
    const later = recordFixture({ pairId: 'pair_002' });
    const lost = recordFixture();
    // The recording queued right behind its record (same batch) and one for a record never stored.
    expect(store.save(withFile)).toBe(true);
    expect(store.save(later)).toBe(true);
    expect(store.saveRecording(later.id, opus)).toBe(true);
    expect(store.saveRecording(lost.id, opus)).toBe(true);
    await store.flush();
    expect(store.stats()).toEqual({ queued: 0, written: 4, dropped: { queue_full: 0, db_error: 0, closed: 0 } });
    expect(await store.get(withFile.id)).toEqual(withFile);
    expect(await store.get(later.id)).toEqual({ ...later, recording: opus });
    expect(await store.get(lost.id)).toBeNull();
    const rows = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM call_records WHERE recording_path IS NOT NULL');
    expect(Number(rows.rows[0]?.n)).toBe(2);
    // A later batch updates a record stored by an earlier one.
    const again = { ...wav, path: '/var/spool/tandem/again.wav' };
    store.saveRecording(withFile.id, again);
    await store.flush();
    expect((await store.list({ pairId: 'pair_001' }))[0]?.recording).toEqual(again);
    await store.close();
  });

  it('a database without migration 007 says to run tandem migrate', async () => {
    const { describePgError } = await import('../../../control/src/records/index.js');
    const err = await db.pool.query('SELECT no_such_column FROM call_records').catch((e: unknown) => e);
    expect(describePgError(err)).toMatch(/lacks a column .*run "tandem migrate"/);
  });
});

describe('PgCallRecordStore when PostgreSQL is unreachable', () => {
  it('every record is a counted db_error drop, nothing thrown, nothing unhandled; the queue stays bounded', async () => {
    const watch = watchUnhandledRejections();
    const pool = createPgPool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/none`, connectTimeoutMs: 1000 });
    const store = new PgCallRecordStore(pool, { batchSize: 3, maxQueue: 5 });
    try {
      const accepted = Array.from({ length: 8 }, () => store.save(recordFixture())).filter(Boolean).length;
      expect(accepted).toBe(5);
      await store.flush();
      expect(store.stats()).toEqual({ queued: 0, written: 0, dropped: { queue_full: 3, db_error: 5, closed: 0 } });
      await expect(store.list()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await store.close();
      await pool.end();
    }
    expect(watch.stop()).toEqual([]);
  });
});

const TOKEN = 'records-test-token-0123456789';

function getJson<T>(url: string, path: string): Promise<{ status: number; body: T }> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a node with PostgreSQL: records stored, and a lost database never holds up a call', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb({ migrate: true });
    await provisionPairs(db.pool, { count: 2 });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('stores each record; with PostgreSQL gone, teardown still completes, the drop is counted and the API answers from memory', async () => {
    const proxy = new TcpProxy(Number(new URL(db.url).port || 5432));
    await proxy.start();
    const sim = await AsteriskSimulator.start({
      username: 'tandem',
      password: 'ari-secret',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) }, '7003': { behaviour: 'answer', answerAfterMs: 20, audio: tone(660) } },
    });
    const node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 }, // a busy box starts workers slowly
      store: { poolSize: 2, node: 'pg-node' },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'ari-secret' },
      database: { url: db.url.replace(/:\d+\//, `:${proxy.port}/`) },
      api: { token: TOKEN },
    });
    const closed: string[] = [];
    node.app.on('pairclosed', (_pairId, reason) => closed.push(reason));
    const address = node.apiAddress;
    if (!address || !('url' in address)) throw new Error('expected a TCP API');
    try {
      // 1. PostgreSQL up: the record lands in call_records and the API reads it from there.
      const first = sim.placeCall({ callerNumber: '5550001', audio: tone(440) });
      await waitFor(() => node.app.pairCount === 1 && node.app.pairs()[0]?.state === 'active', 10_000);
      await sleep(300);
      sim.hangup(first.channelId);
      await waitFor(() => closed.length === 1, 10_000);
      await node.records.flush();
      const rows = await db.pool.query<{ id: string; pair_id: string; caller: string; hangup_by: string; teardown_reason: string; mos_a: number; legs: { A: { rxPackets: number } } }>(
        'SELECT id, pair_id, caller, hangup_by, teardown_reason, mos_a, legs FROM call_records',
      );
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]).toMatchObject({ pair_id: 'pair_001', caller: '5550001', hangup_by: 'caller', teardown_reason: 'caller-hangup' });
      expect(rows.rows[0]!.legs.A.rxPackets).toBeGreaterThan(0);
      const fromDb = await getJson<{ calls: CallRecord[]; source: CallRecordSource }>(address.url, '/v1/calls');
      expect(fromDb.status).toBe(200);
      expect(fromDb.body.source).toBe('database');
      expect(fromDb.body.calls.map((c) => c.id)).toEqual([rows.rows[0]!.id]);
      const one = await getJson<CallRecord>(address.url, `/v1/calls/${rows.rows[0]!.id}`);
      expect(one.body).toEqual(fromDb.body.calls[0]);

      // 2. PostgreSQL gone mid-call: the call still ends cleanly and its record is counted as dropped, not lost silently.
      const second = sim.placeCall({ callerNumber: '5550002', audio: tone(440) });
      await waitFor(() => node.app.pairCount === 1 && node.app.pairs()[0]?.state === 'active', 10_000);
      await proxy.stop();
      sim.hangup(second.channelId);
      await waitFor(() => closed.length === 2, 20_000);
      expect(closed).toEqual(['caller-hangup', 'caller-hangup']);
      await expectAllReleased({ sim, node, closed: [], active: [], rejected: [], close: async () => undefined });
      await node.records.flush();
      expect(node.records.stats()).toMatchObject({ recorded: 2, store: { written: 1, dropped: { db_error: 1 } } });
      const fromMemory = await getJson<{ calls: CallRecord[]; source: CallRecordSource }>(address.url, '/v1/calls');
      expect(fromMemory.body.source).toBe('memory');
      expect(fromMemory.body.calls.map((c) => c.caller)).toEqual(['5550002', '5550001']);
      expect(node.records.stats().readFallbacks).toBe(1);
    } finally {
      await node.close();
      await sim.close();
      await proxy.stop();
    }
  });
});
