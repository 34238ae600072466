import { describe, expect, it } from 'vitest';
import { SpeechSegmenter, type SegmentEvent } from '../../../../engine/src/pipeline/vad/index.js';

// 16 kHz: 512-sample chunks (32 ms); 16 samples per ms.
const W = 512;
const settings = { threshold: 0.5, negThreshold: 0.35, minSpeechSamples: 250 * 16, minSilenceSamples: 300 * 16, padSamples: 30 * 16 };

/** Feeds one probability per chunk; returns events with the chunk index they were decided at. */
function run(probs: number[], s = settings): Array<SegmentEvent & { at: number }> {
  const seg = new SpeechSegmenter(s);
  const out: Array<SegmentEvent & { at: number }> = [];
  probs.forEach((p, i) => seg.push(p, i * W, (i + 1) * W, (e) => out.push({ ...e, at: i })));
  return out;
}

const repeat = (p: number, n: number): number[] => new Array<number>(n).fill(p);

describe('SpeechSegmenter (VADIterator hysteresis + minimum speech)', () => {
  it('reports start once speech has lasted minSpeech, with the padded start time, and the end after minSilence', () => {
    // 10 silent chunks, 20 speech chunks (640 ms), 20 silent chunks.
    const events = run([...repeat(0.05, 10), ...repeat(0.9, 20), ...repeat(0.05, 20)]);
    expect(events).toHaveLength(2);
    const [start, end] = events;
    expect(start).toMatchObject({ type: 'start', startSample: 10 * W - 480 });
    // 250 ms = 4000 samples = 7.8 chunks: decided at the 8th speech chunk (index 17).
    expect(start!.at).toBe(17);
    expect(end).toMatchObject({ type: 'end', startSample: 10 * W - 480, endSample: 30 * W + 480 });
    // 300 ms of silence = 9.4 chunks: decided at the 10th silent chunk.
    expect(end!.at).toBe(39);
  });

  it('never reports segments shorter than minSpeech', () => {
    expect(run([...repeat(0.05, 5), ...repeat(0.9, 5), ...repeat(0.05, 30)])).toEqual([]);
  });

  it('keeps one utterance across a pause shorter than minSilence, and across dips between the two thresholds', () => {
    const events = run([...repeat(0.9, 10), ...repeat(0.05, 5), ...repeat(0.9, 10), ...repeat(0.4, 30), ...repeat(0.9, 2), ...repeat(0.05, 20)]);
    expect(events.map((e) => e.type)).toEqual(['start', 'end']);
    expect(events[1]).toMatchObject({ startSample: 0, endSample: 57 * W + 480 });
  });

  it('keeps a pending end through dips between the thresholds, then ends at the first silent chunk (as VADIterator)', () => {
    const events = run([...repeat(0.9, 10), ...repeat(0.05, 3), ...repeat(0.4, 20), ...repeat(0.05, 2)]);
    expect(events.map((e) => [e.type, e.at])).toEqual([
      ['start', 7],
      ['end', 33],
    ]);
    expect(events[1]).toMatchObject({ startSample: 0, endSample: 10 * W + 480 });
  });

  it('does not pad a start back into the previous utterance, nor before the timeline', () => {
    const events = run([...repeat(0.9, 10), ...repeat(0.05, 10), ...repeat(0.9, 10), ...repeat(0.05, 10)], { ...settings, padSamples: 4000 });
    const ends = events.filter((e): e is Extract<SegmentEvent, { type: 'end' }> & { at: number } => e.type === 'end');
    expect(ends).toHaveLength(2);
    expect(ends[0]!.startSample).toBe(0);
    expect(ends[1]!.startSample).toBe(ends[0]!.endSample);
  });

  it('reset() ends a reported utterance at the given sample and drops an unconfirmed one', () => {
    const seg = new SpeechSegmenter(settings);
    const out: SegmentEvent[] = [];
    for (let i = 0; i < 10; i++) seg.push(0.9, i * W, (i + 1) * W, (e) => out.push(e));
    expect(seg.inSpeech).toBe(true);
    seg.reset(5200, (e) => out.push(e));
    expect(out.at(-1)).toEqual({ type: 'end', startSample: 0, endSample: 5200, decidedSample: 5200 });
    expect(seg.inSpeech).toBe(false);
    const out2: SegmentEvent[] = [];
    seg.push(0.9, 0, W, (e) => out2.push(e));
    seg.reset(W, (e) => out2.push(e));
    expect(out2).toEqual([]);
  });

  it('canDecide is true exactly for the chunks whose probability decides an event', () => {
    // For every prefix of a speech-then-silence program, and for each possible next probability, an event may
    // only be decided by a chunk canDecide() called decisive.
    const program = [...repeat(0.05, 5), ...repeat(0.9, 12), 0.4, 0.9, ...repeat(0.05, 14)];
    let decisive = 0;
    for (let n = 0; n < program.length; n++) {
      for (const next of [0.05, 0.4, 0.9]) {
        const seg = new SpeechSegmenter(settings);
        program.slice(0, n).forEach((p, i) => seg.push(p, i * W, (i + 1) * W, () => undefined));
        const canDecide = seg.canDecide(n * W, (n + 1) * W);
        const events: SegmentEvent[] = [];
        seg.push(next, n * W, (n + 1) * W, (e) => events.push(e));
        if (events.length > 0) expect(canDecide, `chunk ${n}, p ${next}`).toBe(true);
        if (canDecide && next === 0.05) decisive++;
      }
    }
    // Only the chunk confirming the start and the chunk completing the silence were decisive (not every chunk).
    expect(decisive).toBeGreaterThanOrEqual(2);
    expect(decisive).toBeLessThanOrEqual(4);
  });

  it('an end reports the audio its decision took (decidedSample: the end of the chunk that completed the silence)', () => {
    const events = run([...repeat(0.05, 10), ...repeat(0.9, 20), ...repeat(0.05, 20)]);
    const end = events.find((e) => e.type === 'end');
    // Silence from chunk 30 (sample 30·W); 300 ms = 4800 samples = 9.4 chunks: complete at the end of chunk 39.
    expect(end).toMatchObject({ decidedSample: 40 * W });
    expect(end!.at).toBe(39);
  });
});
