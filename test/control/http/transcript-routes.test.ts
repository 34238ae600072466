import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { createControlApi, type ControlApi } from '../../../control/src/http/index.js';
import { registerTranscriptRoutes } from '../../../control/src/http/transcript-routes.js';
import { createPgPool } from '../../../control/src/realtime/db.js';
import { PgTranscriptStore, TranscriptHub, type TranscriptReader } from '../../../control/src/transcripts/index.js';
import { closedPort } from '../alloc/redis-helpers.js';
import { createTestDb, useTestDb } from '../realtime/pg-test-db.js';
import { transcriptEvent } from '../transcripts/support.js';
import { waitFor } from '../../support/rtp-peer.js';

const TOKEN = 'transcript-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let api: ControlApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function start(hub: TranscriptHub, store: TranscriptReader | null): Promise<string> {
  const pairs = new MemoryPairStore({ poolSize: 2 });
  api = createControlApi({ store: pairs, token: TOKEN });
  registerTranscriptRoutes(api.app, { hub, store, heartbeatMs: 50, pool: pairs.pool });
  const address = await api.listen();
  if (!('url' in address)) throw new Error('expected TCP');
  return address.url;
}

/** Opens an SSE stream; `text` accumulates what arrives, `ended` resolves when the server ends it. */
function openStream(url: URL): { text: () => string; status: Promise<number>; ended: Promise<void>; destroy: () => void } {
  let text = '';
  let resolveStatus: (n: number) => void = () => undefined;
  let resolveEnded: () => void = () => undefined;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const req = httpRequest({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: AUTH }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', resolveEnded);
    resolveStatus(res.statusCode ?? 0);
  });
  req.on('error', () => undefined);
  req.end();
  return { text: () => text, status, ended, destroy: () => req.destroy() };
}

function events(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  return text
    .split('\n\n')
    .filter((block) => block.includes('event: '))
    .map((block) => ({
      event: /event: (.*)/.exec(block)?.[1] ?? '',
      data: JSON.parse(/data: (.*)/.exec(block)?.[1] ?? '{}') as Record<string, unknown>,
    }));
}

describe('transcripts over the HTTP API', () => {
  const db = useTestDb();

  it('GET /v1/pairs/:pairId/transcripts: stored finals with the token; 404 for a pair outside the pool, like every pair route; 400 for a malformed id', async () => {
    await db.pool.query('DELETE FROM transcripts');
    const store = new PgTranscriptStore(db.pool);
    const hub = new TranscriptHub({ store });
    const url = await start(hub, store);
    hub.publish(transcriptEvent({ callId: 'c1', final: false, text: 'hel', translatedText: null }));
    hub.publish(transcriptEvent({ callId: 'c1' }));
    hub.publish(transcriptEvent({ callId: 'c1', utteranceId: 'u2', direction: 'B->A', srcExt: '7001', dstExt: '7000', text: 'hola', language: 'es', targetLanguage: 'en', translatedText: 'hello', startMs: 3000, endMs: 3500 }));
    hub.publish(transcriptEvent({ callId: 'c2', utteranceId: 'u1', text: 'next call' }));
    await store.flush();

    expect((await fetch(`${url}/v1/pairs/pair_001/transcripts`)).status).toBe(401);
    const res = await fetch(`${url}/v1/pairs/pair_001/transcripts`, { headers: AUTH });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { pairId: string; transcripts: Array<Record<string, unknown>> };
    expect(body.pairId).toBe('pair_001');
    expect(body.transcripts.map((t) => [t['callId'], t['utteranceId'], t['text']])).toEqual([
      ['c1', 'u1', 'hello'],
      ['c1', 'u2', 'hola'],
      ['c2', 'u1', 'next call'],
    ]);
    expect(body.transcripts[0]).toMatchObject({ pairId: 'pair_001', srcExt: '7000', dstExt: '7001', direction: 'A->B', language: 'en', targetLanguage: 'es', translatedText: 'hola', startMs: 1000, endMs: 2400 });
    expect(new Date(String(body.transcripts[0]?.['createdAt'])).getTime()).not.toBeNaN();

    const c1 = (await (await fetch(`${url}/v1/pairs/pair_001/transcripts?callId=c1&limit=1`, { headers: AUTH })).json()) as { transcripts: unknown[] };
    expect(c1.transcripts).toHaveLength(1);
    const future = await fetch(`${url}/v1/pairs/pair_001/transcripts?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { headers: AUTH });
    expect(((await future.json()) as { transcripts: unknown[] }).transcripts).toEqual([]);

    const quiet = await fetch(`${url}/v1/pairs/pair_002/transcripts`, { headers: AUTH });
    expect(quiet.status).toBe(200);
    expect(await quiet.json()).toEqual({ pairId: 'pair_002', transcripts: [] });
    const unknown = await fetch(`${url}/v1/pairs/pair_999/transcripts`, { headers: AUTH });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'UNKNOWN_PAIR', message: expect.stringContaining('pair_999') as unknown });
    // The same answer the pair route gives for the same id.
    expect((await fetch(`${url}/v1/pairs/pair_999`, { headers: AUTH })).status).toBe(404);
    const unknownStream = await fetch(`${url}/v1/transcripts/stream?pairId=pair_999`, { headers: AUTH });
    expect(unknownStream.status).toBe(404);
    expect(((await unknownStream.json()) as { code: string }).code).toBe('UNKNOWN_PAIR');

    const malformed = await fetch(`${url}/v1/pairs/${encodeURIComponent("pair'1 OR 1=1")}/transcripts`, { headers: AUTH });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe('INVALID_PAIR_ID');
    for (const q of ['limit=0', 'limit=abc', 'since=yesterday', 'bogus=1']) {
      const r = await fetch(`${url}/v1/pairs/pair_001/transcripts?${q}`, { headers: AUTH });
      expect(r.status, q).toBe(400);
    }
    await hub.close();
  });

  it('GET answers 503 without a store, and 503 with a code when the database is unreachable or unmigrated', async () => {
    const hub = new TranscriptHub();
    const url = await start(hub, null);
    const none = await fetch(`${url}/v1/pairs/pair_001/transcripts`, { headers: AUTH });
    expect(none.status).toBe(503);
    expect(((await none.json()) as { code: string }).code).toBe('NO_DATABASE');
    await api?.close();

    const deadPool = createPgPool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/none`, connectTimeoutMs: 1000 });
    const unmigrated = await createTestDb({ migrate: false });
    try {
      const url2 = await start(hub, new PgTranscriptStore(deadPool));
      const dead = await fetch(`${url2}/v1/pairs/pair_001/transcripts`, { headers: AUTH });
      expect(dead.status).toBe(503);
      expect(((await dead.json()) as { code: string }).code).toBe('TRANSCRIPTS_UNAVAILABLE');
      await api?.close();

      const url3 = await start(hub, new PgTranscriptStore(unmigrated.pool));
      const bare = await fetch(`${url3}/v1/pairs/pair_001/transcripts`, { headers: AUTH });
      expect(bare.status).toBe(503);
      expect(await bare.json()).toEqual({ code: 'NOT_MIGRATED', message: 'the database has no transcripts table: run "tandem migrate"' });
    } finally {
      await deadPool.end();
      await unmigrated.drop();
    }
  });

  it('GET /v1/transcripts/stream?pairId=: partials and finals of that pair only, heartbeats, detached when the client leaves', async () => {
    const hub = new TranscriptHub();
    const url = await start(hub, null);
    expect((await fetch(`${url}/v1/transcripts/stream`)).status).toBe(401);
    const badPair = await fetch(`${url}/v1/transcripts/stream?pairId=${encodeURIComponent('../x')}`, { headers: AUTH });
    expect(badPair.status).toBe(400);

    const filtered = openStream(new URL(`${url}/v1/transcripts/stream?pairId=pair_001`));
    const all = openStream(new URL(`${url}/v1/transcripts/stream`));
    expect(await filtered.status).toBe(200);
    expect(await all.status).toBe(200);
    await waitFor(() => hub.listenerCount('transcript') === 2);

    hub.publish(transcriptEvent({ final: false, text: 'hel', translatedText: null }));
    hub.publish(transcriptEvent({ pairId: 'pair_002', srcExt: '7002', dstExt: '7003', text: 'other pair' }));
    hub.publish(transcriptEvent());
    await waitFor(() => events(filtered.text()).length === 2 && events(all.text()).length === 3);
    const got = events(filtered.text());
    expect(got.map((e) => e.event)).toEqual(['transcript', 'transcript']);
    expect(got.map((e) => [e.data['final'], e.data['text']])).toEqual([[false, 'hel'], [true, 'hello']]);
    expect(got[1]?.data).toEqual({ ...transcriptEvent(), callId: null });
    expect(events(all.text()).map((e) => e.data['pairId'])).toEqual(['pair_001', 'pair_002', 'pair_001']);
    await waitFor(() => filtered.text().includes(': keep-alive'));

    filtered.destroy();
    all.destroy();
    await waitFor(() => hub.listenerCount('transcript') === 0);
  });

  it('ends open streams when the API closes', async () => {
    const hub = new TranscriptHub();
    const url = await start(hub, null);
    const stream = openStream(new URL(`${url}/v1/transcripts/stream?pairId=pair_001`));
    await waitFor(() => hub.listenerCount('transcript') === 1);
    hub.publish(transcriptEvent());
    await waitFor(() => events(stream.text()).length === 1);
    await api!.close();
    api = null;
    await stream.ended;
    expect(hub.listenerCount('transcript')).toBe(0);
  });

  it('disconnects a stream client that stops reading instead of buffering without limit', async () => {
    const hub = new TranscriptHub();
    const pairs = new MemoryPairStore({ poolSize: 2 });
    api = createControlApi({ store: pairs, token: TOKEN });
    registerTranscriptRoutes(api.app, { hub, store: null, heartbeatMs: 60_000, maxBufferedBytes: 64 * 1024, pool: pairs.pool });
    const address = await api.listen();
    if (!('url' in address)) throw new Error('expected TCP');
    const url = new URL(`${address.url}/v1/transcripts/stream`);
    // A client that reads the headers, then never reads again.
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: AUTH }, (res) => res.pause());
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => hub.listenerCount('transcript') === 1);
    const big = 'x'.repeat(3900);
    for (let i = 0; i < 2000 && hub.listenerCount('transcript') > 0; i++) {
      hub.publish(transcriptEvent({ utteranceId: `u${i}`, text: big }));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(hub.listenerCount('transcript')).toBe(0);
    req.destroy();
  });
});
