import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, rms, type AudioSource } from '../../../tools/asterisk-simulator/ari/index.js';
import { PgTranscriptStore } from '../../../control/src/transcripts/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';
import { provisionPairs } from '../../../control/src/realtime/pairs.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { freePortRange } from '../../support/ports.js';

/**
 * The whole product on one call: the Asterisk simulator places a call whose
 * caller speaks real espeak-ng sentences; Tandem allocates a pair, bridges it,
 * runs Silero VAD on leg A, streams it to the reference service, injects the
 * spoken answer into bridge B, and the transcripts land in PostgreSQL, on
 * Redis and on the API's live stream, tied to PAIR_ID, SRC_EXT and the call.
 */
const TOKEN = 'translated-call-token-0123456789';
const PREFIX = `tandem-test-${process.pid}-${Date.now()}:`;

/** Plays `pcm` (8 kHz) once, then silence. */
function speechSource(pcm: Int16Array): AudioSource {
  let at = 0;
  return (sampleRate, samples) => {
    const out = new Int16Array(samples);
    if (sampleRate === 8000) {
      for (let i = 0; i < samples && at + i < pcm.length; i++) out[i] = pcm[at + i]!;
      at += samples;
    }
    return out;
  };
}

function openStream(url: string): { text: () => string; destroy: () => void } {
  let text = '';
  const req = httpRequest(url, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
  });
  req.on('error', () => undefined);
  req.end();
  return { text: () => text, destroy: () => req.destroy() };
}

describe('a translated call through the simulator, end to end', () => {
  let db: TestDb;
  let service: ReferenceService;
  let sim: AsteriskSimulator;
  let node: TandemNode;
  let subscriber: Redis;
  const published: string[] = [];
  let speech: Int16Array;

  beforeAll(async () => {
    const parts = await Promise.all(['Where is the train station?', 'Two tickets to Madrid, please.'].map((t) => synthesizeSpeechSamples(t, { voice: 'en', sampleRate: 8000 })));
    const gap = new Int16Array(8000 * 1.5);
    speech = new Int16Array(4000 + parts[0]!.length + gap.length + parts[1]!.length + gap.length);
    speech.set(parts[0]!, 4000);
    speech.set(parts[1]!, 4000 + parts[0]!.length + gap.length);
    db = await createTestDb();
    // The pool follows PJSIP realtime: only provisioned pair extensions are handed out.
    await provisionPairs(db.pool, { count: 4 });
    service = await ReferenceService.start();
    subscriber = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await subscriber.connect();
    await subscriber.subscribe(`${PREFIX}transcripts`);
    subscriber.on('message', (_channel: string, message: string) => published.push(message));
    sim = await AsteriskSimulator.start({
      username: 'tandem',
      password: 'test-secret',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50 } },
    });
    node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(200) },
      store: { poolSize: 4, redisUrl: 'redis://127.0.0.1:6379', redisKeyPrefix: PREFIX },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
      calls: { translation: { provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B: 'es' } } },
      database: { url: db.url },
      api: { token: TOKEN, port: 0 },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await sim?.close();
    await service?.close();
    await subscriber?.quit();
    await db?.drop();
  });

  it('recognises, answers into bridge B only, and stores, publishes and streams the transcripts', async () => {
    const address = node.apiAddress;
    if (address === null || !('url' in address)) throw new Error('expected a TCP API');
    const stream = openStream(`${address.url}/v1/transcripts/stream?pairId=pair_001`);
    await sleep(100);
    // The dialplan's per-call languages: the pair extension's phone hears French.
    const call = sim.placeCall({ callerNumber: '5551234', args: ['5551234', 'lang_b=fr'], audio: speechSource(speech) });
    expect(call.enteredStasis).toBe(true);

    const store = new PgTranscriptStore(db.pool);
    let stored: Awaited<ReturnType<PgTranscriptStore['byPair']>> = [];
    const deadline = Date.now() + 25_000;
    while (stored.length < 2 && Date.now() < deadline) {
      await sleep(250);
      stored = await store.byPair('pair_001');
    }
    expect(stored).toHaveLength(2);
    for (const t of stored) {
      expect(t).toMatchObject({ pairId: 'pair_001', srcExt: '7000', dstExt: '7001', direction: 'A->B', language: 'en', targetLanguage: 'fr', callId: call.channelId });
      expect(t.text).toMatch(/^utterance \d, \d+\.\d s$/);
      expect(t.translatedText).toBe(t.text);
    }

    const session = service.sessions.find((s) => s.pairId === 'pair_001' && s.direction === 'A->B');
    expect(session).toMatchObject({ srcExt: '7000', start: { dstExt: '7001', sourceLanguage: 'en', targetLanguage: 'fr' } });
    expect(session?.speechHints).toBe(4);
    // Barge-in: each time the caller started talking, what was queued for the caller was cleared.
    const reverse = service.sessions.find((s) => s.pairId === 'pair_001' && s.direction === 'B->A');
    expect(reverse).toMatchObject({ srcExt: '7001', clears: 2 });

    // Bridge B's phone heard the spoken answers; the caller heard nothing (7001 was silent).
    await waitFor(() => rms(sim.heard('chan_pair_001_B')) > 300, 10_000);
    expect(rms(sim.heard(call.channelId))).toBeLessThan(50);

    // Streamed live and published on Redis, partials included.
    await waitFor(() => stream.text().split('event: transcript').length - 1 >= 2);
    expect(stream.text()).toContain('"pairId":"pair_001"');
    await waitFor(() => published.filter((m) => m.includes('"final":true')).length >= 2);

    // The API stored them too, and drives the running pair.
    const res = await fetch(`${address.url}/v1/pairs/pair_001/transcripts`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { transcripts: unknown[] };
    expect(body.transcripts).toHaveLength(2);
    const clear = await fetch(`${address.url}/v1/pairs/pair_001/clear`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ direction: 'A->B' }),
    });
    expect(await clear.json()).toEqual({ pairId: 'pair_001', cleared: 1 });
    const bad = await fetch(`${address.url}/v1/pairs/pair_001/translation`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ languages: { A: 'en', B: 'de' } }),
    });
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${address.url}/v1/pairs/pair_099/clear`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(unknown.status).toBe(404);
    const change = await fetch(`${address.url}/v1/pairs/pair_001/translation`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B: 'de' } }),
    });
    expect(change.status).toBe(204);
    await waitFor(() => service.sessions.some((s) => s.pairId === 'pair_001' && s.start?.targetLanguage === 'de' && !s.closed));

    // Hang up: the pair, its provider sessions and everything in Asterisk are released.
    sim.hangup(call.channelId);
    await waitFor(() => node.app.pairCount === 0 && sim.channels().length === 0, 10_000);
    await waitFor(() => service.liveSessions === 0);
    expect(await node.store.list()).toHaveLength(0);
    stream.destroy();
  }, 90_000);
});
