import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/engine.js';
import type { Direction } from '../../../engine/src/pipeline/stage.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import type { DirectionEvent } from '../../../engine/src/pipeline/translation/translating-stage.js';
import { DeepgramDouble } from '../../../tools/doubles/deepgram-server.js';
import { DeeplDouble } from '../../../tools/doubles/deepl-server.js';
import { freePortRange } from '../../support/ports.js';
import { RtpPeer, paced, waitFor } from '../../support/rtp-peer.js';
import { speechScript, ulawRms, type SpeechScript } from '../translation/speech-fixture.js';

/**
 * Providers chosen per direction, and a failing one costs only its own
 * direction: A->B translates with DeepL (its double answers 429), B->A with
 * Apertium. B's speech still reaches A translated; A's utterances fail,
 * counted and reported, and B hears none of them.
 */
describe('cascade: a failing provider affects only its own direction', () => {
  let engine: MediaEngine;
  let dgA: DeepgramDouble;
  let dgB: DeepgramDouble;
  let deepl: DeeplDouble;
  let script: SpeechScript;

  beforeAll(async () => {
    script = await speechScript(['The cat is black.']);
    dgA = await DeepgramDouble.start({ apiKey: 'dg', script: ['The cat is black.'] });
    dgB = await DeepgramDouble.start({ apiKey: 'dg', script: ['El gato es negro.'] });
    deepl = await DeeplDouble.start({ authKey: 'deepl-key' });
    deepl.fault = 'ratelimit';
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(200) });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await dgA?.close();
    await dgB?.close();
    await deepl?.close();
  });

  it('B->A still translates while A->B fails on a rate-limited DeepL', async () => {
    const transcripts: TranscriptEvent[] = [];
    const events: Array<[Direction, DirectionEvent]> = [];
    engine.on('transcript', (t) => transcripts.push(t));
    engine.on('translation', (_p, direction, event) => events.push([direction, event]));
    const peerA = await RtpPeer.open();
    const peerB = await RtpPeer.open();
    const legs = await engine.openPair({
      pairId: 'pair_iso',
      extA: '7200',
      extB: '7201',
      remoteA: peerA.endpoint,
      remoteB: peerB.endpoint,
      translation: {
        provider: {
          kind: 'cascade',
          recognizer: { kind: 'deepgram', url: dgA.url, apiKey: 'dg' },
          translator: { kind: 'deepl', serverUrl: deepl.url, authKey: 'deepl-key' },
          synthesizer: { kind: 'espeak-ng' },
          byDirection: { 'B->A': { recognizer: { kind: 'deepgram', url: dgB.url, apiKey: 'dg' }, translator: { kind: 'apertium' } } },
          translateTimeoutMs: 30_000,
          synthesisTimeoutMs: 30_000,
        },
        languages: { A: 'en', B: 'es' },
        bargeIn: false,
      },
    });
    try {
      await waitFor(() => dgA.liveSessions === 1 && dgB.liveSessions === 1, 10_000);
      await Promise.all([
        paced(script.frames.length, (i) => peerA.sendRtp(legs.legA, script.frames[i]!)),
        paced(script.frames.length, (i) => peerB.sendRtp(legs.legB, script.frames[i]!)),
      ]);
      await waitFor(() => transcripts.some((t) => t.direction === 'B->A' && t.final && t.translatedText !== null), 30_000);
      await waitFor(() => events.some(([d, e]) => d === 'A->B' && e.type === 'error'), 30_000);
      const ba = transcripts.find((t) => t.direction === 'B->A' && t.final)!;
      expect(ba.text).toBe('El gato es negro.');
      expect(ba.translatedText!.toLowerCase()).toContain('cat');
      await waitFor(() => peerA.received.filter((p) => ulawRms(p.payload) > 300).length >= 30, 30_000);
      const abErrors = events.filter(([d, e]) => d === 'A->B' && e.type === 'error').map(([, e]) => (e.type === 'error' ? e.code : ''));
      expect(abErrors).toContain('translate_overloaded');
      expect(events.filter(([d, e]) => d === 'B->A' && e.type === 'error')).toEqual([]);
      expect(deepl.requests.length).toBeGreaterThanOrEqual(1);
      // A's utterance was never spoken to B: B's leg carries only the silence stream.
      expect(peerB.received.filter((p) => ulawRms(p.payload) > 300)).toHaveLength(0);
    } finally {
      await engine.closePair('pair_iso');
      peerA.close();
      peerB.close();
    }
  }, 90_000);
});
