import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/engine.js';
import type { Direction } from '../../../engine/src/pipeline/stage.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import type { DirectionEvent } from '../../../engine/src/pipeline/translation/translating-stage.js';
import { AzureSpeechDouble } from '../../../tools/doubles/azure-speech-server.js';
import { AzureTranslatorDouble } from '../../../tools/doubles/azure-translator-server.js';
import { AzureTtsDouble } from '../../../tools/doubles/azure-tts-server.js';
import { freePortRange } from '../../support/ports.js';
import { RtpPeer, paced, waitFor } from '../../support/rtp-peer.js';
import { speechScript, ulawRms, type SpeechScript } from '../translation/speech-fixture.js';

/**
 * The cascade in the real engine with every part from Azure, each against its
 * local double: leg A's speech goes as µ-law 8 kHz to the Speech double
 * (which names each utterance from a script), Translator's double translates
 * by dictionary, the text-to-speech double answers raw µ-law 8 kHz that leg B
 * hears. Then the other direction's synthesizer fails (5xx on every attempt):
 * that direction reports it, this one is untouched.
 */
describe('translated pair through an all-Azure cascade (doubles)', () => {
  let engine: MediaEngine;
  let sttA: AzureSpeechDouble;
  let sttB: AzureSpeechDouble;
  let translator: AzureTranslatorDouble;
  let tts: AzureTtsDouble;
  let ttsB: AzureTtsDouble;
  let script: SpeechScript;

  beforeAll(async () => {
    script = await speechScript(['The cat is black.', 'I need a doctor.']);
    sttA = await AzureSpeechDouble.start({ key: 'speech-key', script: ['the cat is black', 'i need a doctor'] });
    sttB = await AzureSpeechDouble.start({ key: 'speech-key', script: ['el gato es negro', 'necesito un médico'] });
    translator = await AzureTranslatorDouble.start({
      key: 'translator-key',
      region: 'westeurope',
      dictionary: { 'The cat is black.': 'El gato es negro.', 'I need a doctor.': 'Necesito un médico.', 'El gato es negro.': 'The cat is black.', 'Necesito un médico.': 'I need a doctor.' },
    });
    tts = await AzureTtsDouble.start({ key: 'speech-key' });
    ttsB = await AzureTtsDouble.start({ key: 'speech-key' });
    ttsB.setFault('servererror');
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(200) });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    for (const d of [sttA, sttB, translator, tts, ttsB]) await d?.close();
  });

  it('leg B hears the Azure synthesis of the translated text; a failing synthesizer costs only its own direction', async () => {
    const transcripts: TranscriptEvent[] = [];
    const events: Array<[Direction, DirectionEvent]> = [];
    engine.on('transcript', (t) => transcripts.push(t));
    engine.on('translation', (_p, direction, event) => events.push([direction, event]));
    const peerA = await RtpPeer.open();
    const peerB = await RtpPeer.open();
    const translatorConfig = { kind: 'azure' as const, url: translator.url, key: 'translator-key', region: 'westeurope' };
    const legs = await engine.openPair({
      pairId: 'pair_azure',
      extA: '7300',
      extB: '7301',
      remoteA: peerA.endpoint,
      remoteB: peerB.endpoint,
      translation: {
        provider: {
          kind: 'cascade',
          recognizer: { kind: 'azure', region: 'westeurope', url: sttA.url, key: 'speech-key', segmentationSilenceMs: 300 },
          translator: translatorConfig,
          synthesizer: { kind: 'azure', region: 'westeurope', url: tts.url, key: 'speech-key' },
          byDirection: {
            'B->A': {
              recognizer: { kind: 'azure', region: 'westeurope', url: sttB.url, key: 'speech-key', segmentationSilenceMs: 300 },
              synthesizer: { kind: 'azure', region: 'westeurope', url: ttsB.url, key: 'speech-key' },
            },
          },
          translateTimeoutMs: 30_000,
          synthesisTimeoutMs: 30_000,
        },
        languages: { A: 'en-US', B: 'es-MX' },
        bargeIn: false,
      },
    });
    try {
      await waitFor(() => sttA.liveSessions === 1 && sttB.liveSessions === 1, 10_000);
      expect(peerB.received.filter((p) => ulawRms(p.payload) > 300)).toHaveLength(0);
      await Promise.all([
        paced(script.frames.length, (i) => peerA.sendRtp(legs.legA, script.frames[i]!)),
        paced(script.frames.length, (i) => peerB.sendRtp(legs.legB, script.frames[i]!)),
      ]);
      await waitFor(() => transcripts.filter((t) => t.direction === 'A->B' && t.final && t.translatedText !== null).length === 2, 30_000);
      const finals = transcripts.filter((t) => t.direction === 'A->B' && t.final);
      expect(finals.map((t) => [t.text, t.translatedText])).toEqual([
        ['The cat is black.', 'El gato es negro.'],
        ['I need a doctor.', 'Necesito un médico.'],
      ]);
      // The Speech double heard the leg's codec (µ-law 8 kHz, format tag 7): nothing was resampled on the way in.
      expect(sttA.sessions[0]!.turns[0]!.format).toMatchObject({ formatTag: 7, sampleRate: 8000 });
      expect(sttA.sessions[0]!.query).toMatchObject({ language: 'en-US', format: 'detailed' });
      expect(translator.requests.filter((r) => r.from === 'en').map((r) => [r.to, r.texts[0]])).toEqual([
        ['es', 'The cat is black.'],
        ['es', 'I need a doctor.'],
      ]);
      // …nor on the way out: raw µ-law 8 kHz asked of the synthesizer, in a Spanish voice.
      await waitFor(() => tts.requests.length === 2, 30_000);
      expect(tts.requests.map((r) => [r.outputFormat, r.voice, r.text])).toEqual([
        ['raw-8khz-8bit-mono-mulaw', 'es-MX-DaliaNeural', 'El gato es negro.'],
        ['raw-8khz-8bit-mono-mulaw', 'es-MX-DaliaNeural', 'Necesito un médico.'],
      ]);
      await waitFor(() => peerB.received.filter((p) => ulawRms(p.payload) > 300).length >= 50, 30_000);
      await waitFor(() => events.some(([d, e]) => d === 'A->B' && e.type === 'latency'), 30_000);
      const latency = events.find(([d, e]) => d === 'A->B' && e.type === 'latency')?.[1];
      if (latency?.type !== 'latency') throw new Error('no latency event');
      expect(latency.translationMs).toBeGreaterThan(0);
      expect(latency.synthesisMs).toBeGreaterThan(0);
      expect(events.filter(([d, e]) => d === 'A->B' && e.type === 'error')).toEqual([]);
      // B->A: recognized and translated, but its synthesizer answers 503 every time (retried, then given up).
      const baErrors = (): string[] => events.filter(([d, e]) => d === 'B->A' && e.type === 'error').map(([, e]) => (e.type === 'error' ? e.code : ''));
      await waitFor(() => baErrors().length === 2, 30_000);
      expect(baErrors()).toEqual(['synthesis_unavailable', 'synthesis_unavailable']);
      expect(transcripts.filter((t) => t.direction === 'B->A' && t.final).map((t) => t.translatedText)).toEqual(['The cat is black.', 'I need a doctor.']);
      // Each utterance: the first attempt and AZURE_RETRY's two retries.
      expect(ttsB.requests).toHaveLength(6);
      expect(peerA.received.filter((p) => ulawRms(p.payload) > 300)).toHaveLength(0);
    } finally {
      await engine.closePair('pair_azure');
      peerA.close();
      peerB.close();
    }
    await waitFor(() => sttA.liveSessions === 0 && sttB.liveSessions === 0, 10_000);
  }, 90_000);
});
