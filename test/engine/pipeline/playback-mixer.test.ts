import { describe, expect, it } from 'vitest';
import type { MediaFrame } from '../../../engine/src/pipeline/index.js';
import { PlaybackMixer, type PlaybackConverter, type PlaybackMixerOptions } from '../../../engine/src/pipeline/streaming/playback-mixer.js';
import { PlaybackQueue } from '../../../engine/src/pipeline/streaming/playback-queue.js';
import { PAIR, makeFrame } from './helpers.js';

function le(samples: number[]): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, 2 * i));
  return b;
}

function push(q: PlaybackQueue, samples: number[]): void {
  q.pushS16LE(le(samples), 0, samples.length * 2);
}

/** A converter from a queue at twice the leg's rate that keeps every other sample, recording its calls. */
function halving(): PlaybackConverter & { calls: string[]; idles: number } {
  const c = {
    calls: [] as string[],
    idles: 0,
    inputFor: (outRate: number, outSamples: number) => {
      c.calls.push(`inputFor ${outRate} ${outSamples}`);
      return outSamples * 2;
    },
    convert: (src: Int16Array, count: number, dst: Int16Array, outRate: number) => {
      c.calls.push(`convert ${count} @${outRate}`);
      for (let i = 0; i < count / 2; i++) dst[i] = src[2 * i]!;
    },
    idle: () => {
      c.idles++;
    },
  };
  return c;
}

const copy: PlaybackConverter = {
  inputFor: (_rate, n) => n,
  convert: (src, count, dst) => dst.set(src.subarray(0, count)),
};

function mixer(options: Partial<PlaybackMixerOptions> & { queue: PlaybackQueue }): PlaybackMixer {
  return new PlaybackMixer({ converter: copy, context: PAIR, initialRate: 8000, mode: 'translated-only', duckGain: 0.5, ...options });
}

function frame(samples: number[], rate = 8000, status: MediaFrame['status'] = 'audio'): MediaFrame {
  const f = makeFrame(rate);
  f.pcm = Int16Array.from(samples);
  f.samples = samples.length;
  f.status = status;
  f.rtpTimestamp = 1234;
  return f;
}

describe('PlaybackMixer', () => {
  it('plays queued audio as long as the input frame, pads the last frame with silence, and counts frames played', () => {
    const q = new PlaybackQueue(64);
    const m = mixer({ queue: q });
    push(q, [1, 2, 3, 4, 5, 6]);
    const a = m.mix(frame([9, 9, 9, 9]));
    expect(a && [...a.pcm.subarray(0, a.samples)]).toEqual([1, 2, 3, 4]);
    expect(a).toMatchObject({ samples: 4, sampleRate: 8000, status: 'audio', pairId: PAIR.pairId, direction: PAIR.direction });
    const b = m.mix(frame([9, 9, 9, 9]));
    expect(b && [...b.pcm.subarray(0, b.samples)]).toEqual([5, 6, 0, 0]);
    expect(m.mix(frame([9, 9, 9, 9]))).toBeNull();
    expect(m.framesPlayed).toBe(2);
  });

  it('without input plays 20 ms at the last rate seen (initialRate before any frame)', () => {
    const q = new PlaybackQueue(1000);
    const m = mixer({ queue: q, initialRate: 8000 });
    push(q, new Array<number>(600).fill(7));
    expect(m.mix(null)).toMatchObject({ samples: 160, sampleRate: 8000 });
    m.mix(frame(new Array<number>(320).fill(0), 16000));
    expect(m.mix(null)).toMatchObject({ samples: 320, sampleRate: 16000 });
  });

  it('duck mode: the original at duckGain under the answer (clamped), alone when nothing is queued; silence is not ducked', () => {
    const q = new PlaybackQueue(64);
    const m = mixer({ queue: q, mode: 'duck', duckGain: 0.5 });
    const alone = m.mix(frame([100, -100, 3, 0]));
    expect(alone && [...alone.pcm.subarray(0, 4)]).toEqual([50, -50, 2, 0]);
    expect(alone?.rtpTimestamp).toBe(1234);
    push(q, [32767, -32768, 10, 0]);
    const mixed = m.mix(frame([100, -100, 4, 2]));
    expect(mixed && [...mixed.pcm.subarray(0, 4)]).toEqual([32767, -32768, 12, 1]);
    expect(m.mix(frame([100, 100, 100, 100], 8000, 'silence'))).toBeNull();
    expect(mixer({ queue: new PlaybackQueue(4) }).mix(frame([100, 100]))).toBeNull();
  });

  it('converts through the converter at the output rate and tells it once when playback goes idle', () => {
    const q = new PlaybackQueue(64);
    const conv = halving();
    const m = mixer({ queue: q, converter: conv });
    expect(m.mix(frame([0, 0]))).toBeNull();
    expect(conv.idles).toBe(0);
    push(q, [1, 0, 2, 0, 3, 0, 4, 0]);
    const a = m.mix(frame([0, 0]));
    expect(a && [...a.pcm.subarray(0, 2)]).toEqual([1, 2]);
    m.mix(frame([0, 0]));
    expect(conv.calls).toEqual(['inputFor 8000 2', 'convert 4 @8000', 'inputFor 8000 2', 'convert 4 @8000']);
    m.mix(frame([0, 0]));
    m.mix(frame([0, 0]));
    expect(conv.idles).toBe(1);
  });

  it('leaves the marks the read passed to the caller', () => {
    const q = new PlaybackQueue(64);
    const m = mixer({ queue: q });
    push(q, [1, 2]);
    q.addMark('answer-1');
    push(q, [3, 4]);
    m.mix(frame([0, 0]));
    expect(q.takeReachedMark()).toBe('answer-1');
    expect(q.takeReachedMark()).toBeUndefined();
  });
});
