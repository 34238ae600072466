/**
 * The doubles' answer delays (tools/doubles/answer-delays.ts): each delayed
 * answer's delay is drawn from the profile's documented range with a seeded
 * random, and the answer leaves the double only when its timer fires. The
 * timers here are fired by hand, so the order is checked by events, never by
 * measuring time: armed → not sent yet (the double's own counter) → fired →
 * sent and received by Tandem's real client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeepgramRecognizer } from '../../../engine/src/pipeline/cascade/deepgram-recognizer.js';
import { DeeplTranslator } from '../../../engine/src/pipeline/cascade/deepl-translator.js';
import { ElevenLabsSynthesizer } from '../../../engine/src/pipeline/cascade/elevenlabs-synthesizer.js';
import type { RecognizedText } from '../../../engine/src/pipeline/cascade/types.js';
import {
  AnswerDelays,
  AnswerQueue,
  DELAY_PROFILES,
  DELAYED_ANSWERS,
  type AnswerTimers,
  type DelayedAnswer,
} from '../../../tools/doubles/answer-delays.js';
import { DeepgramDouble } from '../../../tools/doubles/deepgram-server.js';
import { DeeplDouble } from '../../../tools/doubles/deepl-server.js';
import { ElevenLabsDouble } from '../../../tools/doubles/elevenlabs-server.js';
import { context, deepgramOptions, utterance, waitFor } from './helpers.js';

interface Armed {
  ms: number;
  fire: () => void;
  cleared: boolean;
}

/** Timers the test fires by hand; next() resolves when the double arms one (an event, not a wait). */
class ManualTimers implements AnswerTimers {
  readonly armed: Armed[] = [];
  readonly #unclaimed: Armed[] = [];
  readonly #waiting: Array<(armed: Armed) => void> = [];

  set(fire: () => void, ms: number): unknown {
    const armed: Armed = { ms, fire, cleared: false };
    this.armed.push(armed);
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(armed);
    else this.#unclaimed.push(armed);
    return armed;
  }

  clear(handle: unknown): void {
    (handle as Armed).cleared = true;
  }

  next(): Promise<Armed> {
    const armed = this.#unclaimed.shift();
    return armed !== undefined ? Promise.resolve(armed) : new Promise((resolve) => this.#waiting.push(resolve));
  }
}

const realistic = (answer: DelayedAnswer) => DELAY_PROFILES.realistic[answer];

function expectInRange(ms: number, answer: DelayedAnswer): void {
  const { minMs, maxMs } = realistic(answer);
  expect(ms, answer).toBeGreaterThanOrEqual(minMs);
  expect(ms, answer).toBeLessThanOrEqual(maxMs);
}

describe('the delay profiles', () => {
  it('realistic delays every answer by a positive range; none by nothing', () => {
    for (const answer of DELAYED_ANSWERS) {
      expect(realistic(answer).minMs, answer).toBeGreaterThan(0);
      expect(realistic(answer).maxMs, answer).toBeGreaterThan(realistic(answer).minMs);
      expect(DELAY_PROFILES.none[answer], answer).toEqual({ minMs: 0, maxMs: 0 });
    }
  });

  it('draws each delay in its range with a seeded spread: the same seed gives the same delays, and they vary', () => {
    const a = new AnswerDelays({ profile: 'realistic', seed: 42 });
    const b = new AnswerDelays({ profile: 'realistic', seed: 42 });
    const drawn = Array.from({ length: 500 }, () => a.plan('deeplResponse'));
    expect(Array.from({ length: 500 }, () => b.plan('deeplResponse'))).toEqual(drawn);
    for (const ms of drawn) expectInRange(ms, 'deeplResponse');
    // Jitter, not a constant: the draws cover the range.
    expect(new Set(drawn).size).toBeGreaterThan(100);
    const stats = a.stats();
    expect(stats).toMatchObject({ profile: 'realistic', seed: 42 });
    expect(stats.planned.deeplResponse).toMatchObject({ count: 500, min_ms: Math.min(...drawn), max_ms: Math.max(...drawn) });
    expect(new AnswerDelays({ profile: 'none' }).plan('deepgramFinal')).toBe(0);
  });

  it('a connection\'s answers leave in order, each its delay after the one before; close drops the rest and clears the timer', () => {
    const timers = new ManualTimers();
    const queue = new AnswerQueue(timers);
    const sent: string[] = [];
    queue.push(0, () => sent.push('at once'));
    expect(sent).toEqual(['at once']);
    queue.push(50, () => sent.push('late'));
    queue.push(0, () => sent.push('behind late'));
    queue.push(20, () => sent.push('later'));
    // Only the head is armed; the zero-delay answer waits behind it.
    expect(timers.armed.map((t) => t.ms)).toEqual([50]);
    expect(sent).toEqual(['at once']);
    timers.armed[0]!.fire();
    expect(sent).toEqual(['at once', 'late', 'behind late']);
    expect(timers.armed.map((t) => t.ms)).toEqual([50, 20]);
    expect(queue.pending).toBe(1);
    queue.close();
    expect(timers.armed[1]!.cleared).toBe(true);
    expect(queue.pending).toBe(0);
    queue.push(0, () => sent.push('after close'));
    expect(sent).toEqual(['at once', 'late', 'behind late']);
  });
});

describe('the doubles with the realistic profile', () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('Deepgram: the final Results waits for its delay after Finalize, and the next utterance\'s messages wait behind it', async () => {
    const timers = new ManualTimers();
    const delays = new AnswerDelays({ profile: 'realistic', seed: 7, timers });
    const double = await DeepgramDouble.start({ apiKey: 'dg-key', script: ['hello how are you today', 'the cat is black', 'good night'], delays });
    closers.push(() => double.close());
    const rec = new DeepgramRecognizer(context, 'en-US', 8000, deepgramOptions(double.url, 'dg-key', { endpointingMs: 5000 }));
    closers.push(async () => {
      rec.close();
      await rec.whenClosed();
    });
    const results: RecognizedText[] = [];
    let connected = false;
    rec.on('transcript', (t) => results.push(t));
    rec.on('connection', (state) => (connected ||= state === 'connected'));
    await waitFor(() => connected, 'connected');

    utterance(rec, 40, 2);
    rec.endOfSpeech();
    const first = await timers.next();
    expectInRange(first.ms, 'deepgramFinal');
    const session = double.sessions[0]!;
    // The double heard the Finalize and decided; the final is planned, not sent.
    expect(session.finalizes).toBe(1);
    expect(session.finalsSent).toBe(0);
    // The next utterance starts while the first final is still on its way: its interim must not overtake it.
    utterance(rec, 40, 2);
    await waitFor(() => session.utterances === 2, 'the second utterance at the double');
    first.fire();
    expect(session.finalsSent).toBe(1);
    rec.endOfSpeech();
    const second = await timers.next();
    expectInRange(second.ms, 'deepgramFinal');
    second.fire();
    expect(session.finalsSent).toBe(2);
    await waitFor(() => results.filter((t) => t.final).length === 2, 'both finals');
    expect(results.map((t) => `${t.final ? 'final' : 'interim'} ${t.text}`)).toEqual([
      'interim hello how',
      'final hello how are you today',
      'interim the cat',
      'final the cat is black',
    ]);
    expect(delays.stats().planned.deepgramFinal).toMatchObject({ count: 2, min_ms: Math.min(first.ms, second.ms), max_ms: Math.max(first.ms, second.ms) });
    expect(first.ms).not.toBe(second.ms);

    // A final still waiting when the double closes: its timer is cleared with the session.
    utterance(rec, 40, 2);
    rec.endOfSpeech();
    const pending = await timers.next();
    await double.close();
    await waitFor(() => pending.cleared, 'the pending final\'s timer cleared');
    expect(session.finalsSent).toBe(2);
  });

  it('DeepL: the HTTP response waits for its delay; a response still waiting when the double closes is cleared', async () => {
    const timers = new ManualTimers();
    const delays = new AnswerDelays({ profile: 'realistic', seed: 3, timers });
    const double = await DeeplDouble.start({ authKey: 'deepl-key:fx', dictionary: { 'The cat is black.': 'El gato es negro.' }, delays });
    closers.push(() => double.close());
    const translator = new DeeplTranslator({ serverUrl: double.url, authKey: 'deepl-key:fx', timeoutMs: 30_000, maxRetries: 0 });
    const request = () => ({ sourceLanguage: 'en-US', targetLanguage: 'es-MX', signal: new AbortController().signal });

    const answer = translator.translate('The cat is black.', request());
    const armed = await timers.next();
    expectInRange(armed.ms, 'deeplResponse');
    expect(double.requests).toHaveLength(1);
    expect(double.answered).toBe(0);
    armed.fire();
    expect(double.answered).toBe(1);
    expect(await answer).toBe('El gato es negro.');

    // Settled as it fails (close() below), so the rejection is never unhandled.
    const abandoned = translator.translate('The cat is black.', request()).then(() => null, (err: unknown) => err);
    const pending = await timers.next();
    await double.close();
    expect(pending.cleared).toBe(true);
    expect(await abandoned).toHaveProperty('code');
    expect(double.answered).toBe(1);
  });

  it('ElevenLabs: the first chunk waits for the first-audio delay, each later chunk for its gap; isFinal follows the last', async () => {
    const timers = new ManualTimers();
    const delays = new AnswerDelays({ profile: 'realistic', seed: 11, timers });
    const double = await ElevenLabsDouble.start({ apiKey: 'xi-key', delays });
    closers.push(() => double.close());
    const synth = new ElevenLabsSynthesizer(8000, { url: double.url, apiKey: 'xi-key', voiceId: 'v', modelId: 'eleven_flash_v2_5', stability: 0.5, similarityBoost: 0.8, connectTimeoutMs: 5000, maxMessageBytes: 1 << 20 });
    closers.push(() => synth.close());
    const chunks: Int16Array[] = [];
    const spoken = synth.speak('Hola mundo.', { language: 'es-MX', signal: new AbortController().signal, onAudio: (pcm) => chunks.push(pcm) });

    // 11 characters × 60 ms = 660 ms of audio: seven chunks of up to 100 ms.
    const first = await timers.next();
    expectInRange(first.ms, 'elevenlabsFirstAudio');
    const session = double.sessions[0]!;
    expect(session.chunksSent).toBe(0);
    first.fire();
    expect(session.chunksSent).toBe(1);
    const gaps: number[] = [];
    for (let i = 1; i < 7; i++) {
      const gap = await timers.next();
      expectInRange(gap.ms, 'elevenlabsChunkGap');
      expect(session.chunksSent).toBe(i);
      gap.fire();
      gaps.push(gap.ms);
    }
    await spoken;
    expect(chunks).toHaveLength(7);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(Math.round((11 * 60 * 8000) / 1000));
    expect(new Set(gaps).size).toBeGreaterThan(1);
    expect(delays.stats().planned).toMatchObject({ elevenlabsFirstAudio: { count: 1, min_ms: first.ms }, elevenlabsChunkGap: { count: 6, min_ms: Math.min(...gaps), max_ms: Math.max(...gaps) } });

    // Audio still waiting when the double closes: the session's timer is cleared.
    const abandoned = synth.speak('Adiós.', { language: 'es-MX', signal: new AbortController().signal, onAudio: () => undefined }).then(() => null, (err: unknown) => err);
    const pending = await timers.next();
    await double.close();
    await waitFor(() => pending.cleared, 'the pending chunk\'s timer cleared');
    expect(await abandoned).toHaveProperty('code', 'failed');
  });

  it('profile none arms no timer: every answer goes out at once, as before the profiles', async () => {
    const timers = new ManualTimers();
    const double = await ElevenLabsDouble.start({ apiKey: 'xi-key', delays: new AnswerDelays({ profile: 'none', timers }) });
    closers.push(() => double.close());
    const synth = new ElevenLabsSynthesizer(8000, { url: double.url, apiKey: 'xi-key', voiceId: 'v', modelId: 'eleven_flash_v2_5', stability: 0.5, similarityBoost: 0.8, connectTimeoutMs: 5000, maxMessageBytes: 1 << 20 });
    closers.push(() => synth.close());
    const chunks: Int16Array[] = [];
    await synth.speak('Hola mundo.', { language: 'es-MX', signal: new AbortController().signal, onAudio: (pcm) => chunks.push(pcm) });
    expect(chunks).toHaveLength(7);
    expect(timers.armed).toHaveLength(0);
  });
});
