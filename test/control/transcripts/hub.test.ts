import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createPgPool } from '../../../control/src/realtime/db.js';
import {
  PgTranscriptStore,
  TranscriptHub,
  decodeTranscript,
  type TranscriptInput,
  type TranscriptRecord,
} from '../../../control/src/transcripts/index.js';
import { closedPort, testPrefix } from '../alloc/redis-helpers.js';
import { useTestDb } from '../realtime/pg-test-db.js';
import { waitFor } from '../../support/rtp-peer.js';
import { transcriptEvent, watchUnhandledRejections } from './support.js';

const REDIS = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, connectTimeout: 5000 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A subscriber on `channel` collecting decoded messages. */
async function subscribe(channel: string): Promise<TranscriptRecord[]> {
  const sub = new Redis(REDIS);
  const got: TranscriptRecord[] = [];
  sub.on('message', (ch: string, message: string) => {
    if (ch === channel) got.push(decodeTranscript(message));
  });
  await sub.subscribe(channel);
  cleanups.push(async () => {
    await sub.quit();
  });
  return got;
}

describe('TranscriptHub in-process', () => {
  it('emits every valid event, partials and finals, normalised', () => {
    const hub = new TranscriptHub();
    const seen: TranscriptRecord[] = [];
    hub.on('transcript', (r) => seen.push(r));
    expect(hub.publish(transcriptEvent({ final: false, text: 'hel', translatedText: null }))).toBe(true);
    expect(hub.publish(transcriptEvent({ callId: 'c1' }))).toBe(true);
    expect(seen.map((r) => [r.final, r.text, r.callId])).toEqual([[false, 'hel', null], [true, 'hello', 'c1']]);
    expect(hub.stats()).toMatchObject({ accepted: 2, truncated: 0 });
  });

  it('counts and drops bad events without throwing at the caller; a throwing listener is contained', () => {
    const hub = new TranscriptHub();
    const seen: TranscriptRecord[] = [];
    hub.on('transcript', () => {
      throw new Error('bad listener');
    });
    hub.on('transcript', (r) => seen.push(r));
    const errors: unknown[] = [];
    hub.on('listenererror', (_event, err) => errors.push(err));
    const bad: unknown[] = [null, 'x', { ...transcriptEvent(), direction: 'sideways' }, { ...transcriptEvent(), endMs: -5 }, { ...transcriptEvent(), text: 42 }];
    for (const b of bad) expect(hub.publish(b as TranscriptInput)).toBe(false);
    expect(hub.publish(transcriptEvent({ text: 'x'.repeat(10_000) }))).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.text).toHaveLength(4000);
    expect(errors).toHaveLength(1);
    expect(hub.stats()).toMatchObject({ accepted: 1, truncated: 1, dropped: { invalid: 5 } });
  });

  it('after close(): publish is a counted drop, not an error; close is idempotent', async () => {
    const hub = new TranscriptHub();
    await Promise.all([hub.close(), hub.close()]);
    expect(hub.closed).toBe(true);
    expect(hub.publish(transcriptEvent())).toBe(false);
    expect(hub.stats().dropped.closed).toBe(1);
  });
});

describe('TranscriptHub with Redis and PostgreSQL on 127.0.0.1', () => {
  const db = useTestDb();

  it('publishes each event as JSON on <prefix>transcripts and stores only the finals', async () => {
    await db.pool.query('DELETE FROM transcripts');
    const prefix = testPrefix();
    const pub = new Redis(REDIS);
    cleanups.push(async () => {
      await pub.quit();
    });
    const store = new PgTranscriptStore(db.pool);
    const hub = new TranscriptHub({ redis: pub, prefix, store });
    cleanups.push(() => hub.close());
    expect(hub.channel).toBe(`${prefix}transcripts`);
    const got = await subscribe(hub.channel);

    hub.publish(transcriptEvent({ callId: 'c1', final: false, text: 'hel', translatedText: null }));
    hub.publish(transcriptEvent({ callId: 'c1' }));
    hub.publish(transcriptEvent({ callId: 'c1', direction: 'B->A', srcExt: '7001', dstExt: '7000', language: 'es', targetLanguage: 'en', utteranceId: 'u2', text: 'hola', translatedText: 'hello', startMs: 3000, endMs: 3900 }));
    await waitFor(() => got.length === 3);
    expect(got.map((r) => [r.final, r.direction, r.text])).toEqual([[false, 'A->B', 'hel'], [true, 'A->B', 'hello'], [true, 'B->A', 'hola']]);
    expect(got[1]).toEqual({ ...transcriptEvent({ callId: 'c1' }), callId: 'c1' });

    await hub.close();
    expect(store.closed).toBe(true);
    const rows = await db.pool.query<{ utterance_id: string; direction: string }>('SELECT utterance_id, direction FROM transcripts ORDER BY id');
    expect(rows.rows).toEqual([{ utterance_id: 'u1', direction: 'A->B' }, { utterance_id: 'u2', direction: 'B->A' }]);
    expect(hub.stats()).toMatchObject({ accepted: 3, redisPublished: 3, redisPending: 0 });
  });

  it('PostgreSQL down: finals are counted drops while events still go in-process and to Redis; nothing unhandled', async () => {
    const watch = watchUnhandledRejections();
    const prefix = testPrefix();
    const pub = new Redis(REDIS);
    cleanups.push(async () => {
      await pub.quit();
    });
    const deadPool = createPgPool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/none`, connectTimeoutMs: 1000 });
    cleanups.push(() => deadPool.end());
    const store = new PgTranscriptStore(deadPool);
    const hub = new TranscriptHub({ redis: pub, prefix, store });
    const got = await subscribe(hub.channel);
    const local: TranscriptRecord[] = [];
    hub.on('transcript', (r) => local.push(r));
    for (let i = 0; i < 20; i++) expect(hub.publish(transcriptEvent({ utteranceId: `u${i}`, final: i % 2 === 1 }))).toBe(true);
    await waitFor(() => got.length === 20);
    await store.flush();
    expect(local).toHaveLength(20);
    expect(store.stats().dropped.db_error).toBe(10);
    await hub.close();
    expect(watch.stop()).toEqual([]);
  });

  it('Redis unreachable: every publish is a counted failure and the in-process event still fires', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: await closedPort(), lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => undefined);
    cleanups.push(async () => void dead.disconnect());
    const hub = new TranscriptHub({ redis: dead, prefix: testPrefix(), publishTimeoutMs: 500 });
    const local: TranscriptRecord[] = [];
    hub.on('transcript', (r) => local.push(r));
    for (let i = 0; i < 5; i++) hub.publish(transcriptEvent({ utteranceId: `u${i}` }));
    expect(local).toHaveLength(5);
    await waitFor(() => hub.stats().redisPending === 0);
    expect(hub.stats()).toMatchObject({ redisPublished: 0, dropped: { redis_failed: 5 } });
    await hub.close();
  });

  it('a Redis that never answers: publishes time out, and the backlog of unanswered ones is bounded', async () => {
    // A client whose PUBLISH never settles stands in for a stalled connection.
    const stalled = { publish: () => new Promise<number>(() => undefined) };
    const hub = new TranscriptHub({ redis: stalled, prefix: testPrefix(), publishTimeoutMs: 50, maxPendingPublishes: 3 });
    for (let i = 0; i < 5; i++) hub.publish(transcriptEvent({ utteranceId: `u${i}` }));
    expect(hub.stats()).toMatchObject({ redisPending: 3, dropped: { redis_backlog: 2 } });
    await waitFor(() => hub.stats().dropped.redis_failed === 3);
    // The stalled publishes never settle: close returns only because of its own deadline (a close that
    // waited for them would hang until vitest's deadline ended the test).
    await hub.close(100);
    // They are unsettled still: close returned by its deadline, not because they ended.
    expect(hub.stats().redisPending).toBe(3);
  });
});

describe('TranscriptHub when its database disappears', () => {
  const db = useTestDb();

  it('a dropped database mid-run: the writes fail and are counted; the hub keeps publishing', async () => {
    const watch = watchUnhandledRejections();
    // Not one of the test database's own pools: drop() would end those first.
    const pool = createPgPool({ connectionString: db.url, connectTimeoutMs: 2000 });
    cleanups.push(() => pool.end());
    const store = new PgTranscriptStore(pool);
    const hub = new TranscriptHub({ store });
    const local: TranscriptRecord[] = [];
    hub.on('transcript', (r) => local.push(r));
    hub.publish(transcriptEvent({ callId: 'before-drop' }));
    await store.flush();
    expect(store.stats().written).toBe(1);
    await db.drop(); // DROP DATABASE … WITH (FORCE): our idle connection is terminated too
    hub.publish(transcriptEvent({ callId: 'after-drop' }));
    await store.flush();
    expect(local.map((r) => r.callId)).toEqual(['before-drop', 'after-drop']);
    expect(store.stats().dropped.db_error).toBe(1);
    await hub.close();
    expect(watch.stop()).toEqual([]);
  });
});
