/**
 * What the cascade adapter tests feed and wait with: 20 ms frames of a tone
 * (speech to the doubles' energy detector) or silence, an utterance of them,
 * a wait for a condition that yields its value, and the ProviderError a
 * call must fail with.
 */
import type { DeepgramOptions } from '../../../engine/src/pipeline/cascade/deepgram-recognizer.js';
import { ProviderError } from '../../../engine/src/pipeline/providers/types.js';
import type { MediaFrame, StageContext } from '../../../engine/src/pipeline/stage.js';

export const context: StageContext = { pairId: 'p1', srcExt: '1001', dstExt: '1002', direction: 'A->B' };

/** A 20 ms frame of `ctx`'s speaker at `rate`: a 440 Hz tone (speech to the doubles' energy detector) or silence. */
export function toneFrame(ctx: StageContext, tone: boolean, index: number, rate: 8000 | 16000 = 8000): MediaFrame {
  const n = rate / 50;
  const pcm = new Int16Array(n);
  if (tone) for (let i = 0; i < n; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (index * n + i)) / rate));
  return { ...ctx, pcm, samples: n, sampleRate: rate, rtpTimestamp: index * n, status: 'audio' };
}

/** One 20 ms frame of the default context's speaker. */
export function frame(tone: boolean, index: number, rate: 8000 | 16000 = 8000): MediaFrame {
  return toneFrame(context, tone, index, rate);
}

export function utterance(r: { pushAudio(frame: MediaFrame): void }, speechFrames: number, silenceFrames: number, rate: 8000 | 16000 = 8000): void {
  let i = 0;
  for (; i < speechFrames; i++) r.pushAudio(frame(true, i, rate));
  for (let j = 0; j < silenceFrames; j++, i++) r.pushAudio(frame(false, i, rate));
}

export function waitFor<T>(predicate: () => T | undefined | false, what: string, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      const v = predicate();
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** The ProviderError `p` rejects with (anything else fails the test). */
export async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(err)}`);
  return err;
}

/** The RMS of synthesized audio chunks (is it a voice, or silence?). */
export function rms(chunks: Int16Array[]): number {
  let sum = 0;
  let n = 0;
  for (const c of chunks) {
    for (const s of c) sum += s * s;
    n += c.length;
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}

/** A WebSocket recognizer's connection against a local double: quick reconnects, no pings. */
export const TEST_CONNECTION = { connectTimeoutMs: 5000, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, reconnectMaxAttempts: 5, pingIntervalMs: 0, maxMessageBytes: 1 << 20 };

/** A DeepgramRecognizer's options against a double at `url`. */
export function deepgramOptions(url: string, apiKey: string, over: Partial<DeepgramOptions> = {}): DeepgramOptions {
  return {
    url,
    apiKey,
    model: 'nova-3',
    endpointingMs: 300,
    utteranceEndMs: 1000,
    keepAliveMs: 4000,
    maxBufferedBytes: 64 * 1024,
    ...TEST_CONNECTION,
    ...over,
  };
}
