import { afterEach, describe, expect, it } from 'vitest';
import { ElevenLabsSynthesizer } from '../../../engine/src/pipeline/cascade/elevenlabs-synthesizer.js';
import { ElevenLabsDouble, type ElevenLabsFault } from '../../../tools/doubles/elevenlabs-server.js';
import { rms } from './helpers.js';

const KEY = 'xi-test-key';

describe('ElevenLabsSynthesizer against the ElevenLabs double', () => {
  let double: ElevenLabsDouble | null = null;
  let synth: ElevenLabsSynthesizer | null = null;
  afterEach(async () => {
    synth?.close();
    await double?.close();
    double = null;
    synth = null;
  });

  async function start(rate: 8000 | 16000, fault: ElevenLabsFault = 'none', key = KEY) {
    double = await ElevenLabsDouble.start({ apiKey: KEY });
    double.fault = fault;
    synth = new ElevenLabsSynthesizer(rate, {
      url: double.url,
      apiKey: key,
      voiceId: 'voice123',
      modelId: 'eleven_flash_v2_5',
      stability: 0.5,
      similarityBoost: 0.8,
      connectTimeoutMs: 5000,
      maxMessageBytes: 1 << 20,
    });
    const chunks: Int16Array[] = [];
    const speak = (text: string, signal = new AbortController().signal) => synth!.speak(text, { language: 'es-MX', signal, onAudio: (pcm) => chunks.push(pcm) });
    return { chunks, speak };
  }

  it('asks for ulaw_8000 on an 8 kHz leg and streams decoded audio as it arrives', async () => {
    const { chunks, speak } = await start(8000);
    await speak('Hola mundo.');
    const s = double!.sessions[0]!;
    expect(s.path).toBe('/v1/text-to-speech/voice123/stream-input');
    expect(s.query).toMatchObject({ model_id: 'eleven_flash_v2_5', output_format: 'ulaw_8000' });
    expect(s.messages[0]).toMatchObject({ text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.8 } });
    expect(s.messages[1]).toMatchObject({ text: 'Hola mundo. ', flush: true });
    expect(s.messages[2]).toEqual({ text: '' });
    const samples = chunks.reduce((a, c) => a + c.length, 0);
    expect(samples).toBe(Math.round((11 * 60 * 8000) / 1000));
    expect(chunks.length).toBeGreaterThan(1);
    expect(rms(chunks)).toBeGreaterThan(3000);
  });

  it('asks for pcm_16000 on a 16 kHz leg', async () => {
    const { chunks, speak } = await start(16000);
    await speak('Hola.');
    expect(double!.sessions[0]!.query['output_format']).toBe('pcm_16000');
    expect(chunks.reduce((a, c) => a + c.length, 0)).toBe(Math.round((5 * 60 * 16000) / 1000));
  });

  it('a refused key, a refused voice and 429 fail with clear codes', async () => {
    let t = await start(8000, 'none', 'bad-key');
    await expect(t.speak('Hola.')).rejects.toMatchObject({ code: 'unauthorized' });
    expect(double!.refusedKeys).toBe(1);
    double!.fault = 'badvoice';
    synth!.close();
    await double!.close();
    t = await start(8000, 'badvoice');
    await expect(t.speak('Hola.')).rejects.toMatchObject({ code: 'unauthorized' });
    synth!.close();
    await double!.close();
    t = await start(8000, 'ratelimit');
    await expect(t.speak('Hola.')).rejects.toMatchObject({ code: 'overloaded' });
  });

  it('a drop mid-audio fails the utterance after the audio that did arrive', async () => {
    const { chunks, speak } = await start(8000, 'drop');
    await expect(speak('Hola mundo.')).rejects.toMatchObject({ code: 'failed' });
    expect(chunks).toHaveLength(1);
  });

  it('malformed messages are counted and skipped; the audio still completes', async () => {
    const { chunks, speak } = await start(8000, 'malformed');
    await speak('Hola.');
    expect(chunks.reduce((a, c) => a + c.length, 0)).toBe(Math.round((5 * 60 * 8000) / 1000));
    expect(synth!.counts.badMessages).toBe(double!.sessions[0]!.chunksSent);
  });

  it('a stalled service is abandoned on abort and its socket closed', async () => {
    const { speak } = await start(8000, 'stall');
    const abort = new AbortController();
    const call = speak('Hola.', abort.signal);
    await new Promise<void>((resolve) => {
      const tick = (): void => (double!.sessions[0]?.messages.length === 3 ? resolve() : void setTimeout(tick, 10));
      tick();
    });
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: 'aborted' });
    await new Promise<void>((resolve) => {
      const tick = (): void => (double!.liveSessions === 0 ? resolve() : void setTimeout(tick, 10));
      tick();
    });
  });
});

describe('ElevenLabsSynthesizer kept warm', () => {
  let double: ElevenLabsDouble | null = null;
  let synth: ElevenLabsSynthesizer | null = null;
  afterEach(async () => {
    synth?.close();
    await double?.close();
    double = null;
    synth = null;
  });

  async function until(p: () => boolean): Promise<void> {
    while (!p()) await new Promise((r) => setTimeout(r, 10));
  }

  async function start(inactivityTimeoutS: number) {
    double = await ElevenLabsDouble.start({ apiKey: KEY });
    synth = new ElevenLabsSynthesizer(8000, {
      url: double.url,
      apiKey: KEY,
      voiceId: 'voice123',
      modelId: 'eleven_flash_v2_5',
      stability: 0.5,
      similarityBoost: 0.8,
      connectTimeoutMs: 5000,
      maxMessageBytes: 1 << 20,
      warm: { language: 'es-MX', inactivityTimeoutS },
    });
    const chunks: Int16Array[] = [];
    const speak = (text: string, language = 'es-MX') => synth!.speak(text, { language, signal: new AbortController().signal, onAudio: (pcm) => chunks.push(pcm) });
    return { chunks, speak };
  }

  it('opens the socket before the first utterance, and each utterance the next one: no utterance connects', async () => {
    const { chunks, speak } = await start(20);
    // Opened at start, its opening message sent, before anything is to be said.
    await until(() => double!.sessions[0]?.messages.length === 1);
    expect(double!.sessions[0]!.query).toMatchObject({ inactivity_timeout: '20', language_code: 'es' });
    expect(double!.sessions[0]!.messages[0]).toMatchObject({ text: ' ', voice_settings: { stability: 0.5 } });
    await speak('Hola.');
    // The sentence went on the pre-opened socket; a second one was opened for the next utterance.
    expect(double!.sessions[0]!.messages.slice(1)).toEqual([{ text: 'Hola. ', flush: true }, { text: '' }]);
    expect(chunks.reduce((a, c) => a + c.length, 0)).toBe(Math.round((5 * 60 * 8000) / 1000));
    await until(() => double!.sessions[1]?.messages.length === 1);
    await speak('Adiós.');
    expect(double!.sessions[1]!.messages.slice(1)).toEqual([{ text: 'Adiós. ', flush: true }, { text: '' }]);
    // Connections = utterances + the one kept for the next.
    await until(() => double!.sessions.length === 3);
    expect(synth!.counts).toMatchObject({ connects: 3, warmStarts: 2, succeeded: 2, failures: 0 });
  });

  it('keeps an idle socket open past ElevenLabs’ inactivity timeout with the single-space keep-alive', async () => {
    const { speak } = await start(2);
    // Three keep-alives, one every 667 ms, span more than the 2 s after which the double closes a silent socket.
    await until(() => (double!.sessions[0]?.messages.length ?? 0) >= 5);
    const s = double!.sessions[0]!;
    expect(s.messages.slice(1, 5)).toEqual([{ text: ' ' }, { text: ' ' }, { text: ' ' }, { text: ' ' }]);
    expect(s.timedOut).toBe(false);
    expect(double!.sessions).toHaveLength(1);
    await speak('Hola.');
    expect(s.messages.slice(-2)).toEqual([{ text: 'Hola. ', flush: true }, { text: '' }]);
    expect(synth!.counts).toMatchObject({ warmStarts: 1, sparesLost: 0 });
  });

  it('a kept socket the service closed, or one for another language, is replaced by a fresh connect', async () => {
    const { chunks, speak } = await start(20);
    await until(() => double!.liveSessions === 1);
    double!.dropAll();
    await until(() => synth!.counts.sparesLost === 1);
    await speak('Hola.');
    expect(chunks.length).toBeGreaterThan(0);
    expect(synth!.counts).toMatchObject({ warmStarts: 0, succeeded: 1 });
    await until(() => double!.liveSessions === 1); // the new spare, for Spanish
    await speak('Hello.', 'en-US');
    const english = double!.sessions.filter((s) => s.query['language_code'] === 'en');
    expect(english.length).toBeGreaterThanOrEqual(1);
    expect(english[0]!.messages.slice(1)).toEqual([{ text: 'Hello. ', flush: true }, { text: '' }]);
    expect(synth!.counts).toMatchObject({ warmStarts: 0, succeeded: 2, failures: 0 });
  });
});

describe('the ElevenLabs double', () => {
  it('closes a socket that sends no text for inactivity_timeout seconds, as ElevenLabs does', async () => {
    const double = await ElevenLabsDouble.start({ apiKey: KEY });
    try {
      const { default: WebSocket } = await import('ws');
      const ws = new WebSocket(`${double.url}/v1/text-to-speech/v1/stream-input?model_id=m&output_format=ulaw_8000&inactivity_timeout=1`, { headers: { 'xi-api-key': KEY } });
      const messages: string[] = [];
      ws.on('message', (d: Buffer) => messages.push(d.toString('utf8')));
      ws.on('open', () => ws.send(JSON.stringify({ text: ' ' })));
      const [code] = await new Promise<[number, string]>((resolve) => ws.on('close', (c, r) => resolve([c, r.toString()])));
      expect(code).toBe(1008);
      expect(JSON.parse(messages[0]!)).toMatchObject({ error: 'input_timeout_exceeded', code: 1008 });
      expect(double.sessions[0]!.timedOut).toBe(true);
    } finally {
      await double.close();
    }
  });
});
