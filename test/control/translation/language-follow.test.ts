import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { ExtensionService } from '../../../control/src/realtime/extension-service.js';
import { provisionPairs } from '../../../control/src/realtime/pairs.js';
import { PgTranscriptStore } from '../../../control/src/transcripts/index.js';
import { synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import { AsteriskSimulator, type AudioSource } from '../../../tools/asterisk-simulator/ari/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { freePortRange } from '../../support/ports.js';
import { waitFor } from '../../support/rtp-peer.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';

/**
 * Languages that change during a call, end to end on real PostgreSQL: the
 * caller's and the pair's extensions carry languages; the call starts with
 * them; the pair extension's language is changed the way the CLI and the API
 * change it (ExtensionService.update) while the call runs; the running call
 * picks it up, and the next utterance is translated into the new language.
 */

/** Plays `first`, then silence until `open()` is called, then `second`, then silence. */
function gatedSpeech(first: Int16Array, second: Int16Array): { source: AudioSource; open: () => void } {
  let at = 0;
  let gateAt: number | null = null;
  const source: AudioSource = (sampleRate, samples) => {
    const out = new Int16Array(samples);
    if (sampleRate !== 8000) return out;
    for (let i = 0; i < samples; i++, at++) {
      if (at < first.length) out[i] = first[at]!;
      else if (gateAt !== null && at - gateAt < second.length) out[i] = second[at - gateAt]!;
    }
    return out;
  };
  return { source, open: () => void (gateAt = Math.max(at, first.length)) };
}

async function until(predicate: () => Promise<boolean>): Promise<void> {
  while (!(await predicate())) await new Promise((r) => setTimeout(r, 100));
}

const TOKEN = 'language-follow-token-0123456789';

describe('a running call follows its extensions’ languages', () => {
  let db: TestDb;
  let service: ReferenceService;
  let sim: AsteriskSimulator;
  let node: TandemNode;
  let extensions: ExtensionService;
  let parts: Int16Array[];

  beforeAll(async () => {
    parts = await Promise.all(['Where is the train station?', 'Two tickets to Madrid, please.'].map((t) => synthesizeSpeechSamples(t, { voice: 'en', sampleRate: 8000 })));
    db = await createTestDb();
    await provisionPairs(db.pool, { count: 2 });
    extensions = new ExtensionService(db.pool);
    await extensions.create({ number: '1001', password: 'Xk9-pQ2!vL', language: 'en-GB' });
    await extensions.update('7001', { language: 'fr' });
    service = await ReferenceService.start();
    sim = await AsteriskSimulator.start({
      username: 'tandem',
      password: 'test-secret',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50 }, '7003': { behaviour: 'answer', answerAfterMs: 50 } },
    });
    node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(200) },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
      calls: { translation: { provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B: 'es' } } },
      // Rounds are run by the test (followLanguages) so it knows when one happened; the timer is long.
      database: { url: db.url, languageFollowMs: 600_000 },
      api: { token: TOKEN, port: 0 },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    extensions?.close();
    await sim?.close();
    await service?.close();
    await db?.drop();
  });

  const sessionsOf = (pairId: string, direction: 'A->B' | 'B->A') => service.sessions.filter((s) => s.pairId === pairId && s.direction === direction);

  it('a language changed in the extensions table reaches the call at its next utterance', async () => {
    const speech = gatedSpeech(new Int16Array([...new Int16Array(4000), ...parts[0]!]), parts[1]!);
    const call = sim.placeCall({ callerNumber: '1001', args: ['1001'], audio: speech.source });
    expect(call.enteredStasis).toBe(true);
    await waitFor(() => node.app.pair('pair_001')?.state === 'active', 15_000);
    // Started with the extensions' languages: the caller's en-GB, the pair extension's French.
    await waitFor(() => sessionsOf('pair_001', 'A->B').some((s) => s.start !== null));
    expect(sessionsOf('pair_001', 'A->B')[0]!.start).toMatchObject({ sourceLanguage: 'en-GB', targetLanguage: 'fr' });

    const store = new PgTranscriptStore(db.pool);
    await until(async () => (await store.byPair('pair_001')).length === 1);
    expect((await store.byPair('pair_001'))[0]).toMatchObject({ language: 'en-GB', targetLanguage: 'fr' });

    // Changed while the call runs, as `tandem extensions update 7001 --language de` does.
    await extensions.update('7001', { language: 'de' });
    await node.app.followLanguages();
    await waitFor(() => sessionsOf('pair_001', 'A->B').some((s) => s.start?.targetLanguage === 'de' && !s.closed));
    await waitFor(() => sessionsOf('pair_001', 'B->A').some((s) => s.start?.sourceLanguage === 'de' && !s.closed));
    expect(sessionsOf('pair_001', 'B->A').find((s) => !s.closed)?.start).toMatchObject({ sourceLanguage: 'de', targetLanguage: 'en-GB' });
    // The old sessions were closed: nothing is translated into French any more.
    expect(sessionsOf('pair_001', 'A->B').filter((s) => !s.closed)).toHaveLength(1);

    speech.open();
    await until(async () => (await store.byPair('pair_001')).length === 2);
    const stored = await store.byPair('pair_001');
    // Both kept: the rebuilt direction's utterance ids do not collide with the first ones.
    expect(stored.map((t) => [t.utteranceId, t.targetLanguage])).toEqual([
      ['u1', 'fr'],
      ['2.u1', 'de'],
    ]);

    // A round with nothing changed changes nothing.
    const count = service.sessions.length;
    await node.app.followLanguages();
    expect(service.sessions.length).toBe(count);
    sim.hangup(call.channelId);
    await waitFor(() => node.app.pairCount === 0, 10_000);
  }, 90_000);

  it('what the dialplan fixed, and a pair the API re-translated, do not follow the extensions', async () => {
    const before = service.sessions.length;
    const call = sim.placeCall({ callerNumber: '1001', args: ['1001', 'lang_b=it'], audio: gatedSpeech(new Int16Array(0), new Int16Array(0)).source });
    await waitFor(() => node.app.pairs()[0]?.state === 'active', 15_000);
    const pair = node.app.pairs()[0]!;
    const fresh = (direction: 'A->B' | 'B->A') => service.sessions.slice(before).filter((s) => s.pairId === pair.pairId && s.direction === direction);
    await waitFor(() => fresh('A->B').some((s) => s.start !== null));
    expect(fresh('A->B')[0]!.start).toMatchObject({ sourceLanguage: 'en-GB', targetLanguage: 'it' });
    // B is fixed by the dialplan; A still follows the caller's extension.
    await extensions.update(pair.extB, { language: 'nl' });
    await extensions.update('1001', { language: 'pt-BR' });
    await node.app.followLanguages();
    await waitFor(() => fresh('A->B').some((s) => s.start?.sourceLanguage === 'pt-BR' && !s.closed));
    expect(fresh('A->B').find((s) => !s.closed)?.start).toMatchObject({ sourceLanguage: 'pt-BR', targetLanguage: 'it' });
    // The API replaces the translation: from then on the extensions are not followed.
    const address = node.apiAddress;
    if (address === null || !('url' in address)) throw new Error('expected a TCP API');
    const put = await fetch(`${address.url}/v1/pairs/${pair.pairId}/translation`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'sv', B: 'fi' } }),
    });
    expect(put.status).toBe(204);
    await waitFor(() => fresh('A->B').some((s) => s.start?.sourceLanguage === 'sv' && !s.closed));
    await extensions.update('1001', { language: 'es' });
    const count = service.sessions.length;
    await node.app.followLanguages();
    expect(service.sessions.length).toBe(count);
    expect(fresh('A->B').find((s) => !s.closed)?.start).toMatchObject({ sourceLanguage: 'sv', targetLanguage: 'fi' });
    sim.hangup(call.channelId);
    await waitFor(() => node.app.pairCount === 0, 10_000);
  }, 90_000);
});
