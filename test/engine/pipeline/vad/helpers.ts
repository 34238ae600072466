import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { synthesizeSpeechSamples } from '../../../../engine/src/pipeline/streaming/index.js';
import {
  vadGeometry,
  type VadBatch,
  type VadBatchResult,
  type VadEngine,
  type VadEvent,
  type VadModel,
  type VadSampleRate,
  type VadStream,
} from '../../../../engine/src/pipeline/vad/index.js';

export const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call me back tomorrow morning at nine.',
  'Where is the nearest train station?',
];

/**
 * Where speech really is in a synthesized clip. sox's rate converter leaves
 * ±1 LSB of noise over espeak-ng's ~300 ms of trailing digital silence, so
 * "nonzero" means above 32 (−60 dBFS), not literally nonzero.
 */
export function speechSpan(pcm: Int16Array): { first: number; last: number } {
  const loud = (s: number): boolean => Math.abs(s) >= 32;
  let first = 0;
  while (first < pcm.length && !loud(pcm[first]!)) first++;
  let last = pcm.length - 1;
  while (last > first && !loud(pcm[last]!)) last--;
  return { first, last: last + 1 };
}

const clipCache = new Map<string, Int16Array>();

export async function sentenceClip(text: string, sampleRate: VadSampleRate): Promise<Int16Array> {
  const key = `${sampleRate}:${text}`;
  let clip = clipCache.get(key);
  if (!clip) {
    clip = await synthesizeSpeechSamples(text, { voice: 'en', sampleRate });
    clipCache.set(key, clip);
  }
  return clip;
}

export interface Program {
  audio: Int16Array;
  /** Where each sentence's speech really begins and ends, in ms. */
  truth: Array<{ startMs: number; endMs: number }>;
}

/** leadMs of silence, then the sentences separated by gapMs of silence, then tailMs. */
export async function speechProgram(sampleRate: VadSampleRate, sentences: string[], leadMs = 1000, gapMs = 1200, tailMs = 1500): Promise<Program> {
  const perMs = sampleRate / 1000;
  const clips = await Promise.all(sentences.map((s) => sentenceClip(s, sampleRate)));
  const total = Math.round((leadMs + tailMs + gapMs * Math.max(0, clips.length - 1)) * perMs) + clips.reduce((n, c) => n + c.length, 0);
  const audio = new Int16Array(total);
  const truth: Program['truth'] = [];
  let at = Math.round(leadMs * perMs);
  clips.forEach((clip, i) => {
    audio.set(clip, at);
    const span = speechSpan(clip);
    truth.push({ startMs: (at + span.first) / perMs, endMs: (at + span.last) / perMs });
    at += clip.length + (i < clips.length - 1 ? Math.round(gapMs * perMs) : 0);
  });
  return { audio, truth };
}

/** Collects a stream's events. */
export function record(stream: VadStream): VadEvent[] {
  const events: VadEvent[] = [];
  stream.on('vad', (e) => events.push(e));
  return events;
}

export function utterances(events: VadEvent[]): Array<{ startMs: number; endMs: number }> {
  return events.flatMap((e) => (e.type === 'speech_end' ? [{ startMs: e.startMs, endMs: e.endMs }] : []));
}

/** Resolves once nothing waits for or is in inference. */
export async function engineIdle(engine: VadEngine): Promise<void> {
  for (;;) {
    await yieldToLoop();
    const s = engine.stats();
    if (s.queuedChunks === 0 && s.inFlight === 0) return;
  }
}

/**
 * Pushes each stream's audio in 20 ms frames through one reused buffer, all
 * streams per tick as the worker does. Faster than real time, but after each
 * tick it lets the engine drain, so nothing is dropped for running ahead.
 */
export async function feed(engine: VadEngine, streams: VadStream[], audios: Int16Array[], sampleRate: VadSampleRate): Promise<void> {
  const frameSamples = sampleRate / 50;
  const frame = new Int16Array(frameSamples);
  const longest = Math.max(...audios.map((a) => a.length));
  for (let at = 0; at < longest; at += frameSamples) {
    streams.forEach((stream, i) => {
      const audio = audios[i]!;
      if (at >= audio.length) return;
      const n = Math.min(frameSamples, audio.length - at);
      frame.set(audio.subarray(at, at + n));
      frame.fill(12345, n); // garbage past `samples` must be ignored
      stream.push(frame, n, sampleRate);
    });
    await engineIdle(engine);
  }
}

/** Seeded white noise at about `dbfs`. */
export function noise(samples: number, dbfs: number, seed = 1): Int16Array {
  const out = new Int16Array(samples);
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < samples; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = Math.round(((x >>> 0) / 0x100000000 * 2 - 1) * amplitude);
  }
  return out;
}

export function tone(samples: number, sampleRate: number, hz: number, dbfs: number): Int16Array {
  const out = new Int16Array(samples);
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.SQRT2;
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate));
  return out;
}

/**
 * A scriptable stand-in for Silero: probability from each row's energy (loud
 * rows are speech), optionally held until released, or failing.
 */
export class FakeModel implements VadModel {
  readonly batches: Array<{ sampleRate: VadSampleRate; size: number }> = [];
  /** Runs waiting for release() while `holding`. */
  readonly #held: Array<() => void> = [];
  holding = false;
  /** Rejects a batch for which this returns true (gets each row's mean absolute sample, in [0, 1]). */
  failWhen: ((rowLevels: number[]) => boolean) | null = null;
  closed = false;

  async run(batch: VadBatch): Promise<VadBatchResult> {
    this.batches.push({ sampleRate: batch.sampleRate, size: batch.size });
    const g = vadGeometry(batch.sampleRate);
    const levels: number[] = [];
    for (let r = 0; r < batch.size; r++) {
      let acc = 0;
      for (let i = g.context; i < g.input; i++) acc += Math.abs(batch.input[r * g.input + i]!);
      levels.push(acc / g.window);
    }
    if (this.holding) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.failWhen?.(levels)) throw new Error('fake model failure');
    return { probabilities: Float32Array.from(levels, (l) => (l > 0.05 ? 0.95 : 0.02)), state: new Float32Array(batch.state.length) };
  }

  release(): void {
    this.holding = false;
    for (const resolve of this.#held.splice(0)) resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.release();
  }
}

/** A 20 ms frame of constant level, for fakes that judge by energy. */
export function level(samples: number, value: number): Int16Array {
  return new Int16Array(samples).fill(value);
}
