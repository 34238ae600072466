import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/engine.js';
import type { Direction } from '../../../engine/src/pipeline/stage.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import type { DirectionEvent } from '../../../engine/src/pipeline/translation/translating-stage.js';
import { GoogleDouble } from '../../../tools/doubles/google-server.js';
import { freePortRange } from '../../support/ports.js';
import { RtpPeer, paced, waitFor } from '../../support/rtp-peer.js';
import { speechScript, ulawRms, type SpeechScript } from '../translation/speech-fixture.js';

/**
 * The cascade in the real engine with every part from Google's protocols:
 * leg A's speech goes (µ-law, 8 kHz) over a StreamingRecognize stream to the
 * Google double, which names each utterance from a script; Translation v3
 * answers from a dictionary; Text-to-Speech answers µ-law at 8 kHz (a tone)
 * that leg B hears. The worker runs the adapters; the double runs here.
 */
describe('translated pair through the cascade with Google Speech-to-Text → Translation → Text-to-Speech', () => {
  let engine: MediaEngine;
  let google: GoogleDouble;
  let script: SpeechScript;

  beforeAll(async () => {
    script = await speechScript(['The cat is black.', 'I need a doctor.']);
    google = await GoogleDouble.start({
      apiKey: 'g-key',
      script: ['The cat is black.', 'I need a doctor.'],
      dictionary: { 'The cat is black.': 'El gato es negro.', 'I need a doctor.': 'Necesito un médico.' },
    });
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(200) });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await google?.close();
  });

  it('leg B hears the synthesized translation, with transcripts and a split latency', async () => {
    const transcripts: TranscriptEvent[] = [];
    const events: DirectionEvent[] = [];
    engine.on('transcript', (t) => transcripts.push(t));
    engine.on('translation', (_pair, _direction, event) => events.push(event));
    const peerA = await RtpPeer.open();
    const peerB = await RtpPeer.open();
    const part = { kind: 'google' as const, endpoint: google.endpoint, tls: false, apiKey: 'g-key' };
    const legs = await engine.openPair({
      pairId: 'pair_google',
      extA: '7200',
      extB: '7201',
      remoteA: peerA.endpoint,
      remoteB: peerB.endpoint,
      translation: {
        provider: {
          kind: 'cascade',
          recognizer: part,
          translator: { ...part, projectId: 'tandem-test' },
          synthesizer: { ...part, voices: { 'es-MX': 'es-US-Standard-A' } },
          synthesisTimeoutMs: 30_000,
          translateTimeoutMs: 30_000,
        },
        languages: { A: 'en-US', B: 'es-MX' },
        directions: ['A->B'],
      },
    });
    try {
      await waitFor(() => google.liveSpeechStreams === 1, 10_000);
      expect(peerB.received.filter((p) => ulawRms(p.payload) > 300).length).toBe(0);
      await paced(script.frames.length, (i) => peerA.sendRtp(legs.legA, script.frames[i]!));
      await waitFor(() => transcripts.filter((t) => t.final && t.translatedText !== null).length === 2, 30_000);
      const finals = transcripts.filter((t) => t.final);
      expect(finals.map((t) => t.text)).toEqual(['The cat is black.', 'I need a doctor.']);
      expect(finals.map((t) => t.translatedText)).toEqual(['El gato es negro.', 'Necesito un médico.']);
      for (const t of finals) expect(t).toMatchObject({ pairId: 'pair_google', direction: 'A->B', language: 'en-US', targetLanguage: 'es-MX' });
      // The listener hears the synthesized audio: packets with the tone's energy, not the silence stream.
      await waitFor(() => peerB.received.filter((p) => ulawRms(p.payload) > 300).length >= 50, 30_000);
      // Each service was asked for the leg's format, so nothing was resampled.
      expect(google.speechSessions[0]!.config).toMatchObject({ encoding: 'MULAW', sampleRateHertz: 8000, languageCode: 'en-US' });
      expect(google.translateRequests[0]).toMatchObject({ sourceLanguageCode: 'en-US', targetLanguageCode: 'es-MX', parent: 'projects/tandem-test/locations/global' });
      expect(google.ttsRequests[0]).toMatchObject({ voice: { languageCode: 'es-MX', name: 'es-US-Standard-A' }, audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000 } });
      await waitFor(() => events.some((e) => e.type === 'latency'), 30_000);
      const latency = events.find((e) => e.type === 'latency');
      if (latency?.type !== 'latency') throw new Error('no latency event');
      expect(latency.translationMs).toBeGreaterThan(0);
      expect(latency.synthesisMs).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      await engine.closePair('pair_google');
      peerA.close();
      peerB.close();
    }
    // Closing the pair ends the recognition stream.
    await waitFor(() => google.liveSpeechStreams === 0, 10_000);
  }, 90_000);

  it('per direction: a Google translator out of quota costs only A->B; B->A (Google recognizer, Apertium, Google TTS) still reaches A', async () => {
    const gA = await GoogleDouble.start({ apiKey: 'g-key', script: ['The cat is black.'] });
    const gB = await GoogleDouble.start({ apiKey: 'g-key', script: ['El gato es negro.'] });
    gA.setFault('translate', 'exhausted');
    const transcripts: TranscriptEvent[] = [];
    const events: Array<[Direction, DirectionEvent]> = [];
    engine.on('transcript', (t) => transcripts.push(t));
    engine.on('translation', (_p, direction, event) => events.push([direction, event]));
    const peerA = await RtpPeer.open();
    const peerB = await RtpPeer.open();
    const at = (d: GoogleDouble) => ({ kind: 'google' as const, endpoint: d.endpoint, tls: false, apiKey: 'g-key' });
    const legs = await engine.openPair({
      pairId: 'pair_google_iso',
      extA: '7210',
      extB: '7211',
      remoteA: peerA.endpoint,
      remoteB: peerB.endpoint,
      translation: {
        provider: {
          kind: 'cascade',
          recognizer: at(gA),
          translator: { ...at(gA), projectId: 'tandem-test' },
          synthesizer: at(gA),
          byDirection: { 'B->A': { recognizer: at(gB), translator: { kind: 'apertium' }, synthesizer: at(gB) } },
          translateTimeoutMs: 30_000,
          synthesisTimeoutMs: 30_000,
        },
        languages: { A: 'en', B: 'es' },
        bargeIn: false,
      },
    });
    try {
      await waitFor(() => gA.liveSpeechStreams === 1 && gB.liveSpeechStreams === 1, 10_000);
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
      // Each direction asked its own service; A's utterance was never spoken to B.
      expect(gA.ttsRequests).toHaveLength(0);
      expect(gB.ttsRequests.length).toBeGreaterThanOrEqual(1);
      expect(peerB.received.filter((p) => ulawRms(p.payload) > 300)).toHaveLength(0);
    } finally {
      await engine.closePair('pair_google_iso');
      peerA.close();
      peerB.close();
      await gA.close();
      await gB.close();
    }
  }, 90_000);
});
