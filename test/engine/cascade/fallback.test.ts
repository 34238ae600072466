import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { ApertiumService } from '../../../engine/src/pipeline/cascade/apertium-translator.js';
import type { CascadeStageStats } from '../../../engine/src/pipeline/cascade/cascade-stage.js';
import { DeeplTranslator } from '../../../engine/src/pipeline/cascade/deepl-translator.js';
import { ElevenLabsSynthesizer } from '../../../engine/src/pipeline/cascade/elevenlabs-synthesizer.js';
import { fallbackSynthesizer, fallbackTranslator, type FallbackPolicy } from '../../../engine/src/pipeline/cascade/fallback.js';
import { openCascade } from '../../../engine/src/pipeline/cascade/open-cascade.js';
import type { CascadeSynthesizer, CascadeTranslator } from '../../../engine/src/pipeline/cascade/types.js';
import { EspeakSynthesizer } from '../../../engine/src/pipeline/providers/espeak-synthesizer.js';
import type { StageContext } from '../../../engine/src/pipeline/stage.js';
import { parsePairTranslation, type CascadeProvider } from '../../../engine/src/pipeline/translation/config.js';
import type { SpeechStage } from '../../../engine/src/pipeline/translation/speech-stage.js';
import { DeepgramDouble } from '../../../tools/doubles/deepgram-server.js';
import { DeeplDouble } from '../../../tools/doubles/deepl-server.js';
import { ElevenLabsDouble } from '../../../tools/doubles/elevenlabs-server.js';
import { rms, toneFrame } from './helpers.js';

const log = logger('test.fallback');
// A stall bound far above any answer on a busy host; the stall tests set a short one for a double that never answers.
const POLICY: FallbackPolicy = { afterFailures: 2, stallMs: 20_000, probeInitialMs: 1000, probeMaxMs: 8000 };
const STALL_POLICY: FallbackPolicy = { ...POLICY, stallMs: 300 };
const en2es = () => ({ sourceLanguage: 'en-US', targetLanguage: 'es-MX', signal: new AbortController().signal });

/** A clock the test moves: probe times are decided on it, not on how busy the machine is. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function deepl(url: string): CascadeTranslator {
  const d = new DeeplTranslator({ serverUrl: url, authKey: 'k', timeoutMs: 10_000, maxRetries: 0 });
  return { name: 'deepl', translate: (text, req) => d.translate(text, req), release: () => undefined };
}

function apertium(): CascadeTranslator & { service: ApertiumService } {
  const service = new ApertiumService({ modesDir: '/usr/share/apertium/modes', requestTimeoutMs: 30_000, maxInFlight: 8, languageCodes: {} });
  return { name: 'apertium', service, translate: (text, req) => service.translate(text, req), release: () => service.close() };
}

/** A port nothing listens on (bound, then closed), so a connection to it is refused. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('translator fallback (DeepL double → Apertium)', () => {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('repeated 5xx switches to Apertium after afterFailures; the cloud is probed after the delay and comes back', async () => {
    const double = await DeeplDouble.start({ authKey: 'k' });
    closers.push(() => double.close());
    const offline = apertium();
    const c = clock();
    const mt = fallbackTranslator(deepl(double.url), offline, POLICY, log, c.now);
    closers.push(() => mt.release());
    double.fault = 'unavailable';
    // Each failing cloud call is still answered, by Apertium, so no utterance is lost.
    expect((await mt.translate('The cat is black.', en2es())).toLowerCase()).toContain('gato');
    expect(mt.health.using).toBe('cloud'); // one 503 is not yet "down"
    expect((await mt.translate('The cat is black.', en2es())).toLowerCase()).toContain('gato');
    expect(mt.health.stats()).toMatchObject({ using: 'fallback', cloudFailures: 2, fallbackCalls: 2, switchedToFallback: 1 });
    // While down, calls go straight to Apertium: the double sees nothing new.
    const seen = double.requests.length;
    await mt.translate('I need a doctor.', en2es());
    expect(double.requests.length).toBe(seen);
    // The probe (a real call) after the delay: still failing, so the next probe waits twice as long.
    c.advance(1000);
    await mt.translate('I need a doctor.', en2es());
    expect(double.requests.length).toBe(seen + 1);
    c.advance(1000);
    await mt.translate('I need a doctor.', en2es());
    expect(double.requests.length).toBe(seen + 1);
    // DeepL recovers; at the next probe the direction is back on it.
    double.fault = 'none';
    c.advance(1000);
    expect(await mt.translate('Hello.', en2es())).toBe('[ES] Hello.');
    expect(mt.health.stats()).toMatchObject({ using: 'cloud', switchedToFallback: 1, switchedToCloud: 1 });
    expect(await mt.translate('Again.', en2es())).toBe('[ES] Again.');
  });

  it('a refused connection switches at once', async () => {
    const offline = apertium();
    const mt = fallbackTranslator(deepl(await refusedUrl()), offline, POLICY, log, clock().now);
    closers.push(() => mt.release());
    expect((await mt.translate('The cat is black.', en2es())).toLowerCase()).toContain('gato');
    expect(mt.health.stats()).toMatchObject({ using: 'fallback', cloudFailures: 1, switchedToFallback: 1 });
  });

  it('a stalled cloud call is given up after stallMs and switches at once', async () => {
    const double = await DeeplDouble.start({ authKey: 'k' });
    closers.push(() => double.close());
    double.fault = 'stall';
    const mt = fallbackTranslator(deepl(double.url), apertium(), STALL_POLICY, log, clock().now);
    closers.push(() => mt.release());
    expect((await mt.translate('The cat is black.', en2es())).toLowerCase()).toContain('gato');
    expect(mt.health.stats()).toMatchObject({ using: 'fallback', switchedToFallback: 1 });
    expect(double.requests).toHaveLength(1);
  });

  it('an error that is not a provider failure is passed on: no fallback, no switch', async () => {
    const offline: CascadeTranslator = { name: 'never', translate: () => Promise.reject(new Error('must not be called')), release: () => undefined };
    const broken: CascadeTranslator = { name: 'x', translate: () => Promise.reject(new (class extends Error {})('bad input')), release: () => undefined };
    const mt = fallbackTranslator(broken, offline, POLICY, log, clock().now);
    await expect(mt.translate('x', en2es())).rejects.toThrow('bad input');
    expect(mt.health.stats()).toMatchObject({ using: 'cloud', cloudFailures: 0, fallbackCalls: 0 });
  });
});

function espeak(): CascadeSynthesizer {
  const e = new EspeakSynthesizer({});
  return {
    name: 'espeak-ng',
    sampleRate: 8000,
    speak: async (text, req) => req.onAudio(await e.synthesize(text, { language: req.language, sampleRate: 8000, signal: req.signal })),
    close: () => void e.close(),
  };
}

describe('synthesizer fallback (ElevenLabs double → espeak-ng)', () => {
  let double: ElevenLabsDouble | null = null;
  let tts: (CascadeSynthesizer & { health: { stats(): object; using: string } }) | null = null;
  afterEach(async () => {
    tts?.close();
    await double?.close();
    tts = null;
    double = null;
  });

  async function start(fault: 'stall' | 'ratelimit' | 'drop', policy = POLICY, c = clock()) {
    double = await ElevenLabsDouble.start({ apiKey: 'xi' });
    double.fault = fault;
    const cloud = new ElevenLabsSynthesizer(8000, { url: double.url, apiKey: 'xi', voiceId: 'v1', modelId: 'm', stability: 0.5, similarityBoost: 0.8, connectTimeoutMs: 5000, maxMessageBytes: 1 << 20 });
    tts = fallbackSynthesizer(cloud, espeak(), policy, log, c.now);
    const chunks: Int16Array[] = [];
    const speak = (text: string) => tts!.speak(text, { language: 'es-MX', signal: new AbortController().signal, onAudio: (p) => chunks.push(p) });
    return { chunks, speak, c };
  }

  it('a stalled synthesis (no first audio within stallMs) is spoken by espeak-ng, and the direction switches', async () => {
    const { chunks, speak } = await start('stall', STALL_POLICY);
    await speak('Hola mundo.');
    expect(rms(chunks)).toBeGreaterThan(300); // real speech from espeak-ng
    expect(tts!.health.stats()).toMatchObject({ using: 'fallback', cloudFailures: 1, fallbackCalls: 1, switchedToFallback: 1 });
  });

  it('a 429 twice switches; recovery at the probe returns to ElevenLabs', async () => {
    const { chunks, speak, c } = await start('ratelimit');
    await speak('Hola.');
    expect(tts!.health.using).toBe('cloud');
    await speak('Hola.');
    expect(tts!.health.using).toBe('fallback');
    double!.fault = 'none';
    const before = double!.sessions.length;
    await speak('Hola.');
    expect(double!.sessions.length).toBe(before); // not probed yet
    c.advance(1000);
    chunks.length = 0;
    await speak('Hola.');
    expect(double!.sessions.length).toBe(before + 1);
    expect(chunks.reduce((a, x) => a + x.length, 0)).toBe(Math.round((5 * 60 * 8000) / 1000)); // the double's tone length for 5 characters
    expect(tts!.health.stats()).toMatchObject({ using: 'cloud', switchedToFallback: 1, switchedToCloud: 1 });
  });

  it('a drop after audio began fails that utterance rather than say it twice, and is counted', async () => {
    const { chunks, speak } = await start('drop');
    await expect(speak('Hola mundo.')).rejects.toMatchObject({ code: 'failed' });
    expect(chunks.length).toBe(1); // the one chunk the double sent before dropping
    expect(tts!.health.stats()).toMatchObject({ cloudFailures: 1, fallbackCalls: 0 });
  });
});

describe('fallback is per direction', () => {
  it('a DeepL outage for A->B switches A->B to Apertium; B->A stays on its DeepL', async () => {
    const deepgram = await DeepgramDouble.start({ apiKey: 'dg', script: ['The cat is black.'] });
    const down = await DeeplDouble.start({ authKey: 'k' });
    const up = await DeeplDouble.start({ authKey: 'k' });
    down.fault = 'unavailable';
    const settings = parsePairTranslation({
      provider: {
        kind: 'cascade',
        recognizer: { kind: 'deepgram', url: deepgram.url, apiKey: 'dg' },
        translator: { kind: 'deepl', serverUrl: up.url, authKey: 'k' },
        synthesizer: { kind: 'espeak-ng' },
        byDirection: { 'A->B': { translator: { kind: 'deepl', serverUrl: down.url, authKey: 'k' } } },
        fallback: { translator: { kind: 'apertium' }, afterFailures: 1, stallMs: 30_000 },
        translateTimeoutMs: 30_000,
        synthesisTimeoutMs: 30_000,
      },
      languages: { A: 'en', B: 'es' },
    });
    const stages: Array<{ ctx: StageContext; stage: SpeechStage; translations: string[] }> = [];
    // The recognizers' own view of their sockets: audio pushed before a socket is open is dropped
    // (counted), and the double counts a session live before its client has seen it open.
    const connected = new Set<string>();
    for (const direction of ['A->B', 'B->A'] as const) {
      const ctx: StageContext = { pairId: 'pf', srcExt: '1', dstExt: '2', direction };
      const translations: string[] = [];
      const stage = openCascade(
        {
          provider: settings.provider as CascadeProvider,
          context: ctx,
          languages: direction === 'A->B' ? { source: 'en', target: 'es' } : { source: 'es', target: 'en' },
          mode: 'translated-only',
          duckGain: 0.25,
          legRate: 8000,
        },
        {
          transcript: () => undefined,
          translation: (m) => (m.final ? translations.push(m.text) : undefined),
          mark: () => undefined,
          audio: () => undefined,
          error: () => undefined,
          connection: (state) => (state === 'connected' ? connected.add(direction) : connected.delete(direction)),
        },
      );
      stages.push({ ctx, stage, translations });
    }
    try {
      // No wall-clock bound of its own (a busy host is slow): the test's timeout is the bound.
      while (deepgram.liveSessions < 2 || connected.size < 2) await new Promise((r) => setTimeout(r, 10));
      expect(deepgram.liveSessions).toBe(2);
      for (const s of stages) for (let i = 0; i < 80; i++) s.stage.hear(toneFrame(s.ctx, i < 50, i));
      const done = (s: (typeof stages)[number]) => (s.stage.stats() as CascadeStageStats).utterancesDone === 1;
      while (!stages.every(done)) await new Promise((r) => setTimeout(r, 10));
      const [ab, ba] = stages.map((s) => s.stage.stats() as CascadeStageStats);
      expect(ab!.translator).toMatchObject({ using: 'fallback', switchedToFallback: 1, fallbackCalls: 1 });
      expect(stages[0]!.translations[0]!.toLowerCase()).toContain('gato');
      expect(ba!.translator).toMatchObject({ using: 'cloud', cloudFailures: 0, fallbackCalls: 0 });
      expect(stages[1]!.translations).toEqual(['[EN-US] The cat is black.']);
    } finally {
      for (const s of stages) s.stage.close();
      await deepgram.close();
      await down.close();
      await up.close();
    }
  });
});
