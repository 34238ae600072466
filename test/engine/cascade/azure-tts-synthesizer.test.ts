import { afterEach, describe, expect, it } from 'vitest';
import { AzureTtsSynthesizer } from '../../../engine/src/pipeline/cascade/azure-tts-synthesizer.js';
import { AzureTtsDouble } from '../../../tools/doubles/azure-tts-server.js';
import { failure, waitFor } from './helpers.js';

const KEY = 'azure-tts-test-key';
const RETRY = { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5000 };

const rms = (chunks: Int16Array[]): number => {
  let sum = 0;
  let n = 0;
  for (const c of chunks) {
    for (const s of c) sum += s * s;
    n += c.length;
  }
  return Math.sqrt(sum / Math.max(1, n));
};

describe('AzureTtsSynthesizer against the text-to-speech double', () => {
  let double: AzureTtsDouble | null = null;
  let synth: AzureTtsSynthesizer | null = null;
  afterEach(async () => {
    synth?.close();
    await double?.close();
    synth = null;
    double = null;
  });

  async function start(rate: 8000 | 16000 = 8000, key = KEY, voices: Record<string, string> = {}) {
    double = await AzureTtsDouble.start({ key: KEY, voices: ['en-US-JennyNeural', 'es-MX-DaliaNeural', 'es-MX-JorgeNeural'] });
    synth = new AzureTtsSynthesizer(rate, { url: double.url, key, voices, retry: RETRY });
    const chunks: Int16Array[] = [];
    const controller = new AbortController();
    const req = { language: 'es-MX', signal: controller.signal, onAudio: (pcm: Int16Array) => chunks.push(pcm) };
    return { s: synth, chunks, req, controller };
  }

  it('8 kHz leg: asks for raw µ-law 8 kHz with SSML and gets the audio streamed in pieces', async () => {
    const { s, chunks, req } = await start();
    const text = 'Hola & <adiós>';
    await s.speak(text, req);
    expect(double!.requests).toEqual([{ outputFormat: 'raw-8khz-8bit-mono-mulaw', contentType: 'application/ssml+xml', language: 'es-MX', voice: 'es-MX-DaliaNeural', text }]);
    // 60 ms of tone per character at 8 kHz, arriving in 100 ms chunks.
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(text.length * 480);
    expect(chunks.length).toBeGreaterThan(1);
    expect(rms(chunks)).toBeGreaterThan(3000);
  });

  it('16 kHz leg: asks for raw 16-bit PCM at 16 kHz', async () => {
    const { s, chunks, req } = await start(16000);
    await s.speak('Hola', req);
    expect(double!.requests[0]!.outputFormat).toBe('raw-16khz-16bit-mono-pcm');
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(4 * 960);
    expect(rms(chunks)).toBeGreaterThan(3000);
  });

  it('a configured voice wins over the built-in one; a language without a voice is refused before any request', async () => {
    const { s, req } = await start(8000, KEY, { 'es-MX': 'es-MX-JorgeNeural' });
    await s.speak('Hola', req);
    expect(double!.requests[0]!.voice).toBe('es-MX-JorgeNeural');
    expect((await failure(s.speak('x', { ...req, language: 'xx' }))).code).toBe('unsupported_language');
    expect(double!.requests).toHaveLength(1);
  });

  it('a voice the service does not have is invalid_input; a refused key is unauthorized; neither is retried', async () => {
    const { s, req } = await start(8000, KEY, { es: 'es-ES-NobodyNeural' });
    expect((await failure(s.speak('Hola', req))).code).toBe('invalid_input');
    expect(double!.requests).toHaveLength(1);
    s.close();
    synth = new AzureTtsSynthesizer(8000, { url: double!.url, key: 'wrong', voices: {}, retry: RETRY });
    const err = await failure(synth.speak('Hola', req));
    expect(err.code).toBe('unauthorized');
    expect(double!.rejected).toBe(1);
  });

  it('429 (Retry-After) and 503 before any audio are retried', async () => {
    const { s, chunks, req } = await start();
    double!.retryAfterSeconds = 0;
    double!.setFault('ratelimit', 1);
    await s.speak('Hola', req);
    double!.setFault('servererror', 1);
    await s.speak('Hola', req);
    expect(double!.requests).toHaveLength(4);
    expect(s.counts).toMatchObject({ retries: 2, succeeded: 2 });
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(2 * 4 * 480);
  });

  it('a stalled service ends when the caller aborts; close() ends what is in flight', async () => {
    const { s, req, controller } = await start();
    double!.setFault('stall');
    const aborted = failure(s.speak('Hola', req));
    await waitFor(() => double!.requests.length === 1, 'first request');
    controller.abort();
    expect((await aborted).code).toBe('aborted');
    const closed = failure(s.speak('Hola', { ...req, signal: new AbortController().signal }));
    await waitFor(() => double!.requests.length === 2, 'second request');
    s.close();
    expect((await closed).code).toBe('closed');
  });

  it('a connection dropped mid-audio fails after the audio that arrived', async () => {
    const { s, chunks, req } = await start();
    double!.setFault('drop', 1);
    const err = await failure(s.speak('Hola amigo mío', req));
    expect(err.code).toBe('failed');
    expect(err.message).toMatch(/broke off after 800 bytes/);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(800);
  });

  it('a 200 that is not audio is refused, not played', async () => {
    const { s, chunks, req } = await start();
    double!.setFault('malformed', 1);
    const err = await failure(s.speak('Hola', req));
    expect(err.code).toBe('failed');
    expect(err.message).toContain('not audio');
    expect(chunks).toHaveLength(0);
  });
});
