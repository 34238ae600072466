import { afterEach, describe, expect, it } from 'vitest';
import { GoogleSynthesizer, type GoogleSynthesizerOptions } from '../../../engine/src/pipeline/cascade/google/synthesizer.js';
import { sharedCount } from '../../../engine/src/pipeline/cascade/shared.js';
import { GoogleDouble } from '../../../tools/doubles/google-server.js';

const KEY = 'google-test-key';

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

describe('GoogleSynthesizer (Text-to-Speech SynthesizeSpeech) against the Google double', () => {
  let double: GoogleDouble | null = null;
  let syn: GoogleSynthesizer | null = null;
  afterEach(async () => {
    syn?.close();
    syn = null;
    await double?.close();
    double = null;
    expect(sharedCount()).toBe(0);
  });

  async function start(rate: 8000 | 16000 = 8000, over: Partial<GoogleSynthesizerOptions> = {}) {
    double ??= await GoogleDouble.start({ apiKey: KEY });
    syn = new GoogleSynthesizer(rate, { endpoint: double.endpoint, tls: false, apiKey: KEY, voices: { es: 'es-US-Standard-A' }, speakingRate: 1, timeoutMs: 5000, maxRetries: 1, ...over });
    return syn;
  }

  async function speak(s: GoogleSynthesizer, text: string, signal = new AbortController().signal): Promise<Int16Array[]> {
    const chunks: Int16Array[] = [];
    await s.speak(text, { language: 'es-MX', signal, onAudio: (pcm) => chunks.push(pcm) });
    return chunks;
  }

  it('asks for µ-law at 8000 Hz on an 8 kHz leg and plays the audio without its WAV header', async () => {
    const s = await start(8000);
    const chunks = await speak(s, 'El gato es negro.');
    expect(double!.ttsRequests[0]).toMatchObject({
      input: { text: 'El gato es negro.' },
      voice: { languageCode: 'es-MX', name: 'es-US-Standard-A' },
      audioConfig: { audioEncoding: 'MULAW', sampleRateHertz: 8000, speakingRate: 1 },
    });
    const pcm = chunks[0]!;
    // 50 ms a character at 8 kHz; a header read as audio would add 44 samples.
    expect(pcm.length).toBe(Math.round((8000 * 50 * 'El gato es negro.'.length) / 1000));
    expect(rms(pcm)).toBeGreaterThan(4000);
  });

  it('asks for LINEAR16 at 16000 Hz on a 16 kHz leg', async () => {
    const s = await start(16000);
    const chunks = await speak(s, 'Hola.');
    expect(double!.ttsRequests[0]).toMatchObject({ audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: 16000 } });
    expect(chunks[0]!.length).toBe(16 * 50 * 5);
    expect(rms(chunks[0]!)).toBeGreaterThan(4000);
  });

  it('a refused key is unauthorized; RESOURCE_EXHAUSTED is overloaded', async () => {
    const s = await start(8000, { apiKey: 'wrong' });
    await expect(speak(s, 'Hola.')).rejects.toMatchObject({ code: 'unauthorized' });
    expect(double!.unauthenticated).toBe(1);
    s.close();
    const ok = await start(8000);
    double!.setFault('tts', 'exhausted');
    await expect(speak(ok, 'Hola.')).rejects.toMatchObject({ code: 'overloaded' });
    expect(ok.counts.failures).toBe(1);
  });

  it('one UNAVAILABLE is retried', async () => {
    const s = await start();
    double!.setFault('tts', 'unavailable', 1);
    const chunks = await speak(s, 'Hola.');
    expect(chunks).toHaveLength(1);
  });

  it('a stall meets the deadline; barge-in aborts; close cancels what is in flight', async () => {
    const s = await start(8000, { timeoutMs: 300 });
    double!.setFault('tts', 'stall');
    await expect(speak(s, 'Hola.')).rejects.toMatchObject({ code: 'timeout' });
    const ac = new AbortController();
    const aborted = speak(s, 'Hola.', ac.signal);
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'aborted' });
    s.close();
    const s2 = await start(8000, { timeoutMs: 60_000 });
    const pending = speak(s2, 'Hola.');
    s2.close();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
  });

  it('audio that is not a WAV at the asked rate is a failure, nothing is played', async () => {
    const s = await start();
    double!.setFault('tts', 'malformed', 1);
    const chunks: Int16Array[] = [];
    await expect(s.speak('Hola.', { language: 'es', signal: new AbortController().signal, onAudio: (p) => chunks.push(p) })).rejects.toMatchObject({ code: 'failed' });
    expect(chunks).toHaveLength(0);
  });
});
