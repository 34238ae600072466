import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPgPool } from '../../../control/src/realtime/db.js';
import { PgTranscriptStore } from '../../../control/src/transcripts/index.js';
import { closedPort } from '../alloc/redis-helpers.js';
import { useTestDb } from '../realtime/pg-test-db.js';
import { transcriptEvent, watchUnhandledRejections } from './support.js';

describe('migration 004', () => {
  const db = useTestDb();

  it('creates the transcripts table with its checks, unique key and indexes', async () => {
    const idx = await db.pool.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'transcripts' ORDER BY indexname",
    );
    const defs = Object.fromEntries(idx.rows.map((r) => [r.indexname, r.indexdef]));
    expect(Object.keys(defs)).toEqual(['transcripts_pair_time_idx', 'transcripts_pkey', 'transcripts_time_idx', 'transcripts_utterance_key']);
    expect(defs['transcripts_pair_time_idx']).toMatch(/\(pair_id, created_at\)/);
    expect(defs['transcripts_time_idx']).toMatch(/\(created_at\)/);
    expect(defs['transcripts_utterance_key']).toMatch(/UNIQUE INDEX .*COALESCE\(call_id, ''::character varying\).*pair_id, direction, utterance_id/);

    const insert = (direction: string, start: number, end: number) =>
      db.pool.query(
        `INSERT INTO transcripts (pair_id, src_ext, dst_ext, direction, utterance_id, language, text, target_language, start_ms, end_ms)
         VALUES ('pair_001', '7000', '7001', $1, 'x', 'en', 't', 'es', $2, $3)`,
        [direction, start, end],
      );
    await expect(insert('A->C', 0, 1)).rejects.toMatchObject({ code: '23514' });
    await expect(insert('A->B', 5, 4)).rejects.toMatchObject({ code: '23514' });
    await expect(insert('A->B', -1, 4)).rejects.toMatchObject({ code: '23514' });
    await insert('B->A', 0, 0);
    const row = await db.pool.query<{ created_at: Date; call_id: string | null }>('SELECT created_at, call_id FROM transcripts');
    expect(row.rows[0]?.call_id).toBeNull();
    expect(row.rows[0]?.created_at).toBeInstanceOf(Date);
  });
});

describe('PgTranscriptStore on PostgreSQL', () => {
  const db = useTestDb();
  let store: PgTranscriptStore;
  beforeEach(async () => {
    await db.pool.query('DELETE FROM transcripts');
    store = new PgTranscriptStore(db.pool);
  });
  afterEach(async () => {
    await store.close();
  });

  it('stores finals once: a replayed final updates its row; partials are not stored', async () => {
    expect(store.save(transcriptEvent({ final: false, text: 'hel', translatedText: null }))).toBe(false);
    expect(store.save(transcriptEvent({ callId: 'call-1' }))).toBe(true);
    await store.flush();
    expect(store.save(transcriptEvent({ callId: 'call-1' }))).toBe(true); // replay, identical
    expect(store.save(transcriptEvent({ callId: 'call-1', translatedText: 'hola!' }))).toBe(true); // corrected replay
    await store.flush();
    const rows = await store.byPair('pair_001');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      callId: 'call-1', pairId: 'pair_001', srcExt: '7000', dstExt: '7001', direction: 'A->B', utteranceId: 'u1',
      language: 'en', text: 'hello', targetLanguage: 'es', translatedText: 'hola!', startMs: 1000, endMs: 2400,
    });
    expect(typeof rows[0]?.id).toBe('number');
    expect(store.stats()).toMatchObject({ written: 3, ignoredPartials: 1, queued: 0 });
  });

  it('scopes the replay key by call: the same utterance id in another call, direction or without a call id is another row', async () => {
    store.save(transcriptEvent({ callId: 'call-1' }));
    store.save(transcriptEvent({ callId: 'call-2' }));
    store.save(transcriptEvent({ callId: 'call-2', direction: 'B->A', srcExt: '7001', dstExt: '7000' }));
    store.save(transcriptEvent());
    store.save(transcriptEvent({ text: 'hello again' })); // same key as the previous one, in the same batch
    await store.flush();
    const rows = await store.byPair('pair_001');
    expect(rows.map((r) => [r.callId, r.direction, r.text])).toEqual([
      ['call-1', 'A->B', 'hello'],
      ['call-2', 'A->B', 'hello'],
      ['call-2', 'B->A', 'hello'],
      [null, 'A->B', 'hello again'],
    ]);
  });

  it('byPair: publish order, since, limit, callId (null = without call id); unknown pair → []', async () => {
    for (let i = 1; i <= 5; i++) store.save(transcriptEvent({ callId: 'c1', utteranceId: `u${i}`, startMs: i * 1000, endMs: i * 1000 + 500 }));
    store.save(transcriptEvent({ pairId: 'pair_002', utteranceId: 'other' }));
    await store.flush();
    // A Date has whole milliseconds and created_at microseconds: taken in the same millisecond as the
    // INSERT, `between` would be truncated to before the rows it must follow.
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 20));
    store.save(transcriptEvent({ callId: 'c2', utteranceId: 'late' }));
    store.save(transcriptEvent({ utteranceId: 'anon' }));
    await store.flush();

    const all = await store.byPair('pair_001');
    expect(all.map((r) => r.utteranceId)).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'late', 'anon']);
    expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => a - b));
    expect((await store.byPair('pair_001', { limit: 2 })).map((r) => r.utteranceId)).toEqual(['u1', 'u2']);
    expect((await store.byPair('pair_001', { since: between })).map((r) => r.utteranceId)).toEqual(['late', 'anon']);
    expect((await store.byPair('pair_001', { callId: 'c1', limit: 3 })).map((r) => r.utteranceId)).toEqual(['u1', 'u2', 'u3']);
    expect((await store.byPair('pair_001', { callId: null })).map((r) => r.utteranceId)).toEqual(['anon']);
    expect(await store.byPair('pair_999')).toEqual([]);
    expect(await store.byPair("pair_001' OR 1=1 --")).toEqual([]);
    await expect(store.byPair('pair_001', { limit: 0 })).rejects.toThrow(RangeError);

    const calls = await store.recentCalls('pair_001');
    expect(calls.map((c) => [c.callId, c.finals])).toEqual([[null, 1], ['c2', 1], ['c1', 5]]);
    expect(calls[2]!.firstAt.getTime()).toBeLessThanOrEqual(calls[2]!.lastAt.getTime());
  });

  it('counts invalid events instead of letting one break a batch', async () => {
    expect(store.save(transcriptEvent({ utteranceId: 'ok1' }))).toBe(true);
    expect(store.save({ ...transcriptEvent({ utteranceId: 'bad' }), startMs: 9, endMs: 1 })).toBe(false);
    expect(store.save(transcriptEvent({ utteranceId: 'ok2' }))).toBe(true);
    await store.flush();
    expect((await store.byPair('pair_001')).map((r) => r.utteranceId)).toEqual(['ok1', 'ok2']);
    expect(store.stats().dropped).toEqual({ invalid: 1, queue_full: 0, db_error: 0, closed: 0 });
  });

  it('after close(): saves are counted drops and reads are refused', async () => {
    await store.close();
    await store.close();
    expect(store.closed).toBe(true);
    expect(store.save(transcriptEvent())).toBe(false);
    expect(store.stats().dropped.closed).toBe(1);
    await expect(store.byPair('pair_001')).rejects.toThrow(/closed/);
  });
});

describe('PgTranscriptStore when PostgreSQL is unreachable', () => {
  it('refused connections: every final is a counted db_error drop, nothing thrown, nothing unhandled', async () => {
    const watch = watchUnhandledRejections();
    const pool = createPgPool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/none`, connectTimeoutMs: 1000 });
    const store = new PgTranscriptStore(pool, { batchSize: 4 });
    try {
      for (let i = 0; i < 10; i++) expect(store.save(transcriptEvent({ utteranceId: `u${i}` }))).toBe(true);
      await store.flush();
      expect(store.stats()).toMatchObject({ written: 0, queued: 0, dropped: { db_error: 10 } });
      await expect(store.byPair('pair_001')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await store.close();
      await pool.end();
    }
    expect(watch.stop()).toEqual([]);
  });

  it('a server that never answers: the queue stays bounded and close() keeps its deadline', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const pool = createPgPool({ connectionString: `postgres://postgres@127.0.0.1:${port}/none`, connectTimeoutMs: 5000 }); // far past close's 200 ms, even on a busy box
    const store = new PgTranscriptStore(pool, { maxQueue: 5, batchSize: 2 });
    try {
      store.save(transcriptEvent({ utteranceId: 'first' }));
      store.save(transcriptEvent({ utteranceId: 'second' }));
      await new Promise((r) => setTimeout(r, 50)); // the first batch (2) is now waiting on the silent server
      const accepted = Array.from({ length: 20 }, (_, i) => store.save(transcriptEvent({ utteranceId: `x${i}` }))).filter(Boolean).length;
      expect(accepted).toBe(5);
      expect(store.stats()).toMatchObject({ queued: 5, dropped: { queue_full: 15 } });
      await store.close(200);
      // Returned at its deadline, before the connect timeout: the batch in flight has not failed yet.
      expect(store.stats().dropped).toMatchObject({ closed: 5, db_error: 0 });
      await store.flush(); // the batch in flight fails at the connect timeout and is counted too
      expect(store.stats().dropped).toEqual({ invalid: 0, queue_full: 15, db_error: 2, closed: 5 });
    } finally {
      await pool.end();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
