import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../../common/src/errors.js';
import {
  SileroModel,
  SileroSession,
  VadEngine,
  sileroWeightsPath,
  vadGeometry,
  type VadBatch,
  type VadBatchResult,
  type VadModel,
  type VadSampleRate,
} from '../../../../engine/src/pipeline/vad/index.js';
import { SENTENCES, feed, noise, record, speechProgram, tone, utterances } from './helpers.js';

const TOLERANCE_MS = 150;

/** Each utterance within ±150 ms of the truth; `endLateMs` widens how late an end may be. */
function expectUtterancesMatch(got: Array<{ startMs: number; endMs: number }>, truth: Array<{ startMs: number; endMs: number }>, endLateMs = TOLERANCE_MS): void {
  expect(got).toHaveLength(truth.length);
  got.forEach((u, i) => {
    const t = truth[i]!;
    expect(Math.abs(u.startMs - t.startMs), `utterance ${i} start ${u.startMs} vs ${t.startMs}`).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(u.endMs - t.endMs, `utterance ${i} end ${u.endMs} vs ${t.endMs}`).toBeGreaterThanOrEqual(-TOLERANCE_MS);
    expect(u.endMs - t.endMs, `utterance ${i} end ${u.endMs} vs ${t.endMs}`).toBeLessThanOrEqual(endLateMs);
  });
}

describe('Silero VAD on real speech (espeak-ng), model in its worker thread', () => {
  let engine: VadEngine;
  beforeAll(async () => {
    engine = await VadEngine.create();
  });
  afterAll(async () => {
    await engine.close();
  });

  describe.each([8000, 16000] as const)('at %i Hz', (rate) => {
    // Without the gate the model alone decides the digital silence after each sentence. espeak-ng
    // ends speech abruptly (−30 dBFS to nothing) and Silero's probability then decays over ~4 chunks:
    // measured, ends come up to ~180 ms late at 8 kHz. The gate cuts that short.
    it.each([
      ['with the default -60 dBFS energy gate', -60, 150],
      ['with the energy gate disabled (ends may be up to 250 ms late)', 0, 250],
    ])('finds each of 3 sentences, start and end within ±150 ms, %s', async (_label, gate, endLateMs) => {
      const program = await speechProgram(rate, SENTENCES);
      const before = engine.stats();
      const stream = engine.openStream({ id: `speech-${rate}`, energyGateDbfs: gate });
      const events = record(stream);
      await feed(engine, [stream], [program.audio], rate);
      const stats = stream.stats();
      stream.close();
      expectUtterancesMatch(utterances(events), program.truth, endLateMs);
      // Events alternate start/end, each end repeats its start, and every event says when it was decided.
      expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end', 'speech_start', 'speech_end', 'speech_start', 'speech_end']);
      for (let i = 0; i < events.length; i += 2) expect(events[i + 1]!.startMs).toBe(events[i]!.startMs);
      for (const e of events) expect(e.detectedAt).toBeGreaterThan(0);
      expect(stats).toMatchObject({ state: 'active', sampleRate: rate, droppedChunks: 0, errors: 0, utterances: 3, inSpeech: false, queuedChunks: 0 });
      expect(stats.audioMs).toBeCloseTo((program.audio.length * 1000) / rate, 6);
      expect(stats.chunks).toBe(Math.floor(program.audio.length / vadGeometry(rate).window));
      // A pre-rolled or warmed chunk was decided by the gate, then heard by the model as well.
      expect(stats.inferences + stats.skippedByGate).toBe(stats.chunks + stats.preRolled + stats.warmed);
      // The synthesized silence is digital zero: the gate decides it without the model.
      if (gate < 0) expect(stats.skippedByGate).toBeGreaterThan(stats.chunks / 3);
      else expect(stats.skippedByGate).toBe(0);
      expect(engine.stats().inferences - before.inferences).toBe(stats.inferences);
    });

    it('finds no utterance in silence, in low noise, or in a 1 kHz tone (Silero rejects pure tones)', async () => {
      const seconds = 4;
      const inputs = {
        silence: new Int16Array(rate * seconds),
        noise45: noise(rate * seconds, -45, 7),
        noise30: noise(rate * seconds, -30, 9),
        tone: tone(rate * seconds, rate, 1000, -12),
      };
      const names = Object.keys(inputs) as Array<keyof typeof inputs>;
      // Only the absolute floor: everything but the silence goes to the model.
      const modelOnly = names.map((name) => engine.openStream({ id: name, adaptiveGate: { enabled: false } }));
      // The default adaptive gate learns each steady background and skips it.
      const adaptive = names.map((name) => engine.openStream({ id: `${name}-adaptive` }));
      const streams = [...modelOnly, ...adaptive];
      const logs = streams.map(record);
      await feed(engine, streams, [...Object.values(inputs), ...Object.values(inputs)], rate);
      const [silence, ...loud] = modelOnly.map((s) => s.stats());
      const learnt = adaptive.map((s) => s.stats());
      for (const s of streams) s.close();
      for (const log of logs) expect(log).toEqual([]);
      expect(silence!.skippedByGate).toBe(silence!.chunks);
      // Everything but the silence was above the absolute floor: the model itself said "not speech".
      for (const s of loud) expect(s.inferences).toBe(s.chunks);
      // With the adaptive gate the model hears each steady background's first chunk and the 256 ms hangover, nothing after.
      expect(learnt[0]!.inferences).toBe(0);
      for (const s of learnt.slice(1)) expect(s.inferences).toBeLessThanOrEqual(1 + 8);
    });
  });

  it('serves 50 streams at once in shared batches, each with its own utterances', async () => {
    const before = engine.stats();
    const specs = Array.from({ length: 50 }, (_, i) => ({
      rate: (i % 5 === 4 ? 8000 : 16000) as VadSampleRate,
      sentences: SENTENCES.slice(0, 1 + (i % 3)),
      leadMs: 400 + 20 * i,
    }));
    const programs = await Promise.all(specs.map((s) => speechProgram(s.rate, s.sentences, s.leadMs, 1200, 1000)));
    const streams = specs.map((s, i) => engine.openStream({ id: `many-${i}`, sampleRate: s.rate }));
    const logs = streams.map(record);
    // Each rate's streams are fed in the same ticks (the feed helper takes one rate at a time).
    const byRate = (rate: VadSampleRate): number[] => specs.flatMap((s, i) => (s.rate === rate ? [i] : []));
    await Promise.all(
      ([16000, 8000] as const).map((rate) =>
        feed(
          engine,
          byRate(rate).map((i) => streams[i]!),
          byRate(rate).map((i) => programs[i]!.audio),
          rate,
        ),
      ),
    );
    const dropped = streams.map((s) => s.stats().droppedChunks);
    const after = engine.stats();
    for (const s of streams) s.close();
    expect(engine.stats().openStreams).toBe(0);
    expect(dropped.every((d) => d === 0)).toBe(true);
    streams.forEach((_stream, i) => expectUtterancesMatch(utterances(logs[i]!), programs[i]!.truth));
    expect((after.inferences - before.inferences) / (after.batches - before.batches)).toBeGreaterThan(1);
    expect(after.meanBatchSize).toBeGreaterThan(1);
    expect(after.errors).toBe(0);
  });
});

/** Delegates to a real session and keeps each row it was given with the probability it got. */
class RecordingModel implements VadModel {
  readonly rows: Float32Array[] = [];
  readonly probabilities: number[] = [];
  constructor(readonly inner: VadModel) {}
  async run(batch: VadBatch): Promise<VadBatchResult> {
    const width = batch.input.length / batch.size;
    for (let r = 0; r < batch.size; r++) this.rows.push(batch.input.slice(r * width, (r + 1) * width));
    const result = await this.inner.run(batch);
    this.probabilities.push(...result.probabilities);
    return result;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface ReferenceVad {
  processChunk(chunk: Float32Array, sampleRate: number): Promise<number>;
  inputWithContext: Float32Array;
}

describe('against the reference implementation (@jjhbw/silero-vad lib.js)', () => {
  it.each([8000, 16000] as const)('feeds the model exactly the context+window rows lib.js does, with the same probabilities (%i Hz)', async (rate) => {
    const lib = createRequire(import.meta.url)('@jjhbw/silero-vad') as {
      loadSileroVad(model: string, opts: { sessionOptions: Record<string, unknown> }): Promise<ReferenceVad & { session: { release(): Promise<void> } }>;
    };
    const reference = await lib.loadSileroVad(sileroWeightsPath(), { sessionOptions: { intraOpNumThreads: 1 } });
    const recording = new RecordingModel(await SileroSession.load());
    const engine = await VadEngine.create({ model: recording });
    try {
      const program = await speechProgram(rate, SENTENCES.slice(0, 1), 300, 0, 300);
      const stream = engine.openStream({ energyGateDbfs: 0 });
      await feed(engine, [stream], [program.audio], rate);
      const g = vadGeometry(rate);
      expect(recording.rows.length).toBe(Math.floor(program.audio.length / g.window));
      let maxDiff = 0;
      for (let c = 0; c < recording.rows.length; c++) {
        const chunk = Float32Array.from(program.audio.subarray(c * g.window, (c + 1) * g.window), (s) => s / 32768);
        const p = await reference.processChunk(chunk, rate);
        expect(recording.rows[c]).toEqual(reference.inputWithContext);
        maxDiff = Math.max(maxDiff, Math.abs(p - recording.probabilities[c]!));
      }
      expect(maxDiff).toBeLessThan(1e-4);
      // The sentence really is speech to the model.
      expect(Math.max(...recording.probabilities)).toBeGreaterThan(0.9);
    } finally {
      await engine.close();
      await recording.close();
      await reference.session.release();
    }
  });
});

describe('SileroModel (worker thread) and SileroSession (this thread)', () => {
  it('answer the same batch identically; close() is idempotent and later runs reject', async () => {
    const [threaded, inline] = await Promise.all([SileroModel.start(), SileroSession.load()]);
    const g = vadGeometry(16000);
    const make = (): VadBatch => {
      const input = new Float32Array(3 * g.input);
      const voiced = tone(g.input, 16000, 220, -10);
      input.set(Float32Array.from(voiced, (s) => s / 32768), g.input);
      input.set(Float32Array.from(noise(g.input, -30), (s) => s / 32768), 2 * g.input);
      return { sampleRate: 16000, size: 3, input, state: new Float32Array(3 * 256) };
    };
    const [a, b] = await Promise.all([threaded.run(make()), inline.run(make())]);
    expect(a.probabilities).toHaveLength(3);
    expect(a.state).toHaveLength(3 * 256);
    expect([...a.probabilities]).toEqual([...b.probabilities]);
    expect([...a.state]).toEqual([...b.state]);
    await expect(threaded.run({ ...make(), size: 2 })).rejects.toBeInstanceOf(RangeError);
    await Promise.all([threaded.close(), threaded.close(), inline.close()]);
    await threaded.close();
    await expect(threaded.run(make())).rejects.toBeInstanceOf(InvalidStateError);
    await expect(inline.run(make())).rejects.toThrow(/closed/);
  });

  it('reject a model file that does not load, in either runtime', async () => {
    await expect(VadEngine.create({ modelPath: '/nonexistent/silero.onnx' })).rejects.toThrow(/failed to load/);
    await expect(VadEngine.create({ runtime: 'inline', modelPath: '/nonexistent/silero.onnx' })).rejects.toThrow();
  });
});
