import type { MediaFrame, StageContext } from '../../../engine/src/pipeline/stage.js';

/** A 20 ms frame of the speaker's audio: a 440 Hz tone (speech to an energy detector) or silence. */
export function toneFrame(context: StageContext, tone: boolean, index: number, rate: 8000 | 16000 = 8000): MediaFrame {
  const n = rate / 50;
  const pcm = new Int16Array(n);
  if (tone) for (let i = 0; i < n; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (index * n + i)) / rate));
  return { ...context, pcm, samples: n, sampleRate: rate, rtpTimestamp: index * n, status: 'audio' };
}

/** Resolves with the predicate's first value that is neither undefined nor false (polled; the bound only ends a hung test). */
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
