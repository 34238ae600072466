import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/engine.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import type { DirectionEvent } from '../../../engine/src/pipeline/translation/translating-stage.js';
import { DeepgramDouble } from '../../../tools/doubles/deepgram-server.js';
import { freePortRange } from '../../support/ports.js';
import { RtpPeer, paced, waitFor } from '../../support/rtp-peer.js';
import { speechScript, ulawRms, type SpeechScript } from '../translation/speech-fixture.js';

/**
 * The offline cascade in the real engine: leg A's speech goes (µ-law, 8 kHz)
 * to the Deepgram double, which names each utterance from a script (it
 * recognizes nothing); Apertium translates the text to Spanish in one
 * long-lived pipeline; espeak-ng speaks it; leg B hears it.
 */
describe('translated pair through the cascade (Deepgram double → Apertium → espeak-ng)', () => {
  let engine: MediaEngine;
  let deepgram: DeepgramDouble;
  let script: SpeechScript;

  beforeAll(async () => {
    script = await speechScript(['The cat is black.', 'I need a doctor.']);
    deepgram = await DeepgramDouble.start({ apiKey: 'dg-key', script: ['The cat is black.', 'I need a doctor.'] });
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(200) });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await deepgram?.close();
  });

  it('leg B hears Spanish speech of the translated text, with transcripts and a split latency', async () => {
    const transcripts: TranscriptEvent[] = [];
    const events: DirectionEvent[] = [];
    engine.on('transcript', (t) => transcripts.push(t));
    engine.on('translation', (_pair, _direction, event) => events.push(event));
    const peerA = await RtpPeer.open();
    const peerB = await RtpPeer.open();
    const legs = await engine.openPair({
      pairId: 'pair_cascade',
      extA: '7100',
      extB: '7101',
      remoteA: peerA.endpoint,
      remoteB: peerB.endpoint,
      translation: {
        provider: {
          kind: 'cascade',
          recognizer: { kind: 'deepgram', url: deepgram.url, apiKey: 'dg-key', endpointingMs: 300 },
          translator: { kind: 'apertium' },
          synthesizer: { kind: 'espeak-ng' },
          synthesisTimeoutMs: 30_000,
          translateTimeoutMs: 30_000,
        },
        languages: { A: 'en-US', B: 'es-MX' },
        directions: ['A->B'],
      },
    });
    try {
      await waitFor(() => deepgram.liveSessions === 1, 10_000);
      const before = peerB.received.filter((p) => ulawRms(p.payload) > 300).length;
      expect(before).toBe(0);
      await paced(script.frames.length, (i) => peerA.sendRtp(legs.legA, script.frames[i]!));
      await waitFor(() => transcripts.filter((t) => t.final && t.translatedText !== null).length === 2, 30_000);
      const finals = transcripts.filter((t) => t.final);
      expect(finals.map((t) => t.text)).toEqual(['The cat is black.', 'I need a doctor.']);
      expect(finals[0]!.translatedText!.toLowerCase()).toContain('gato');
      expect(finals[1]!.translatedText!.toLowerCase()).toContain('necesito');
      for (const t of finals) expect(t).toMatchObject({ pairId: 'pair_cascade', direction: 'A->B', language: 'en-US', targetLanguage: 'es-MX' });
      // The listener hears speech: packets with real energy (espeak-ng's Spanish), not the silence stream.
      await waitFor(() => peerB.received.filter((p) => ulawRms(p.payload) > 300).length >= 50, 30_000);
      // The recognizer was asked for the leg's codec, so nothing was resampled on the way in.
      expect(deepgram.sessions[0]!.query).toMatchObject({ encoding: 'mulaw', sample_rate: '8000', language: 'en-US' });
      await waitFor(() => events.some((e) => e.type === 'latency'), 30_000);
      const latency = events.find((e) => e.type === 'latency');
      if (latency?.type !== 'latency') throw new Error('no latency event');
      expect(latency.translationMs).toBeGreaterThan(0);
      expect(latency.synthesisMs).toBeGreaterThan(0);
      expect(latency.recognitionMs).toBeGreaterThanOrEqual(0);
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      await engine.closePair('pair_cascade');
      peerA.close();
      peerB.close();
    }
    await waitFor(() => deepgram.liveSessions === 0, 10_000);
  }, 90_000);
});
