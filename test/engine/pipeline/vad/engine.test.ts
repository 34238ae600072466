import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidStateError } from '../../../../common/src/errors.js';
import { VadEngine, type VadEvent, type VadSampleRate, type VadStream, type VadStreamError } from '../../../../engine/src/pipeline/vad/index.js';
import { FakeModel, engineIdle, noise, record, utterances } from './helpers.js';

/** Pushes `ms` of audio in 20 ms frames: a constant `value`, or the given samples. */
function pushMs(stream: VadStream, ms: number, rate: VadSampleRate, value: number | Int16Array): void {
  const n = rate / 50;
  const frame = new Int16Array(n);
  for (let f = 0; f < ms / 20; f++) {
    if (typeof value === 'number') frame.fill(value);
    else frame.set(value.subarray(f * n, (f + 1) * n));
    stream.push(frame, n, rate);
  }
}

/** Pushes in 20 ms frames and lets the engine drain after each. */
async function feedMs(engine: VadEngine, streams: VadStream[], ms: number, rate: VadSampleRate, values: number[]): Promise<void> {
  for (let t = 0; t < ms; t += 20) {
    streams.forEach((s, i) => pushMs(s, 20, rate, values[i]!));
    await engineIdle(engine);
  }
}

const LOUD = 8000; // the fake model calls this speech
const engines: VadEngine[] = [];
async function makeEngine(model: FakeModel, options: { maxBatchSize?: number; batchWindowMs?: number; urgentDecisions?: boolean } = {}): Promise<VadEngine> {
  // Scheduling tests see each batch as soon as its chunks are ready; the window has its own test.
  const engine = await VadEngine.create({ model, batchWindowMs: 0, ...options });
  engines.push(engine);
  return engine;
}

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('VadEngine scheduling', () => {
  it('holds a ready chunk up to batchWindowMs so streams at other phases join its batch', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model, { batchWindowMs: 32 });
    const streams = Array.from({ length: 6 }, () => engine.openStream({ energyGateDbfs: 0 }));
    // Each stream completes its first 32 ms chunk in a later turn of the event loop than the previous one.
    for (const s of streams) {
      pushMs(s, 40, 16000, LOUD);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 80));
    expect(model.batches.map((b) => b.size).reduce((a, b) => a + b, 0)).toBe(6);
    // Without the window these would have been ~6 batches of one.
    expect(model.batches.length).toBeLessThanOrEqual(2);
    expect(engine.stats().meanBatchSize).toBeGreaterThanOrEqual(3);
  });

  it('runs at once when maxBatchSize chunks are ready, window or not', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model, { batchWindowMs: 32, maxBatchSize: 4 });
    const streams = Array.from({ length: 4 }, () => engine.openStream({ energyGateDbfs: 0 }));
    for (const s of streams) pushMs(s, 40, 16000, LOUD);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(model.batches.map((b) => b.size)).toEqual([4]);
  });

  it.each([
    { urgentDecisions: true, waitsForWindow: false },
    { urgentDecisions: false, waitsForWindow: true },
  ])('urgentDecisions $urgentDecisions: the chunk that ends an utterance waits for the batch window: $waitsForWindow', async ({ urgentDecisions, waitsForWindow }) => {
    const model = new FakeModel();
    const engine = await makeEngine(model, { batchWindowMs: 32, urgentDecisions });
    const stream = engine.openStream({ energyGateDbfs: 0 });
    const events = record(stream);
    await feedMs(engine, [stream], 500, 16000, [LOUD]);
    const ended = (): boolean => events.some((e) => e.type === 'speech_end');
    let endedAtOnce: boolean | null = null;
    for (let ms = 0; ms < 1000 && endedAtOnce === null; ms += 20) {
      pushMs(stream, 20, 16000, 0);
      await yieldToLoop();
      await yieldToLoop();
      if (ended()) endedAtOnce = true;
      else {
        await engineIdle(engine);
        if (ended()) endedAtOnce = false;
      }
    }
    expect(endedAtOnce).toBe(!waitsForWindow);
    // Speech 0..500 ms; the first silent 32 ms chunk starts at 512, the end is padded 30 ms, and the 300 ms of
    // silence are complete with the chunk ending at 832 ms (26 × 32).
    const end = events.find((e) => e.type === 'speech_end');
    expect(end).toMatchObject({ endMs: 542, decidedMs: 832 });
  });

  it('turns chunk decisions into utterances on the audio timeline, via the emitter and onEvent', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model);
    const seen: VadEvent[] = [];
    const stream = engine.openStream({ onEvent: (e) => seen.push(e), energyGateDbfs: 0 });
    const events = record(stream);
    await feedMs(engine, [stream], 1000, 16000, [0]);
    await feedMs(engine, [stream], 1000, 16000, [LOUD]);
    expect(stream.inSpeech).toBe(true);
    await feedMs(engine, [stream], 1000, 16000, [0]);
    expect(seen).toEqual(events);
    // Speech began at 1000 ms (chunk boundary 992..1024, padded 30 ms) and ended at 2000 ms (+30 ms pad).
    expect(utterances(events)).toHaveLength(1);
    const [u] = utterances(events);
    expect(u!.startMs).toBeCloseTo(992 - 30, 6);
    expect(u!.endMs).toBeCloseTo(2016 + 30, 6);
    expect(stream.stats()).toMatchObject({ chunks: 93, inferences: 93, utterances: 1, inSpeech: false, audioMs: 3000 });
    expect(model.batches.every((b) => b.size === 1 && b.sampleRate === 16000)).toBe(true);
  });

  it('batches streams whose chunks are ready together, never more than maxBatchSize, one rate per batch', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model, { maxBatchSize: 4 });
    const wide = Array.from({ length: 10 }, () => engine.openStream({ energyGateDbfs: 0 }));
    const narrow = Array.from({ length: 3 }, () => engine.openStream({ energyGateDbfs: 0 }));
    for (let t = 0; t < 640; t += 20) {
      for (const s of wide) pushMs(s, 20, 16000, LOUD);
      for (const s of narrow) pushMs(s, 20, 8000, LOUD);
      await engineIdle(engine);
    }
    expect(Math.max(...model.batches.map((b) => b.size))).toBe(4);
    const rows = (rate: VadSampleRate): number => model.batches.filter((b) => b.sampleRate === rate).reduce((n, b) => n + b.size, 0);
    expect(rows(16000)).toBe(10 * 20);
    expect(rows(8000)).toBe(3 * 20);
    expect(engine.stats().meanBatchSize).toBeGreaterThan(3);
    expect(engine.stats().inferences).toBe(13 * 20);
  });

  it('skips the model for chunks under the energy gate, and counts them as silence', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model);
    const silent = engine.openStream();
    const hum = engine.openStream(); // −70 dBFS: under the default −60 dBFS gate
    const hiss = engine.openStream({ adaptiveGate: { enabled: false } }); // −50 dBFS: over it
    // The same hiss with the adaptive gate: once its level is learnt (the first chunk, then the 256 ms hangover), it is background.
    const learnt = engine.openStream();
    const ungated = engine.openStream({ energyGateDbfs: 0 });
    const quiet = noise(16000, -70, 3);
    const audible = noise(16000, -50, 5);
    for (let t = 0; t < 1000; t += 20) {
      pushMs(silent, 20, 16000, 0);
      pushMs(hum, 20, 16000, quiet.subarray(t * 16, (t + 20) * 16));
      pushMs(hiss, 20, 16000, audible.subarray(t * 16, (t + 20) * 16));
      pushMs(learnt, 20, 16000, audible.subarray(t * 16, (t + 20) * 16));
      pushMs(ungated, 20, 16000, 0);
      await engineIdle(engine);
    }
    expect(silent.stats()).toMatchObject({ chunks: 31, skippedByGate: 31, inferences: 0 });
    expect(hum.stats()).toMatchObject({ chunks: 31, skippedByGate: 31, inferences: 0 });
    expect(hiss.stats()).toMatchObject({ chunks: 31, skippedByGate: 0, inferences: 31 });
    expect(learnt.stats()).toMatchObject({ chunks: 31, skippedByGate: 22, inferences: 9 });
    expect(ungated.stats()).toMatchObject({ chunks: 31, skippedByGate: 0, inferences: 31 });
    expect(engine.stats()).toMatchObject({ skippedByGate: 84, inferences: 71 });
  });

  it('restarts the model state when a stream changes rate, ending the utterance there; the timeline continues', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model);
    const stream = engine.openStream({ sampleRate: 8000, energyGateDbfs: 0 });
    const events = record(stream);
    await feedMs(engine, [stream], 600, 8000, [LOUD]);
    expect(stream.inSpeech).toBe(true);
    await feedMs(engine, [stream], 1000, 16000, [0]);
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
    expect(events[1]).toMatchObject({ startMs: 0, endMs: 600 });
    expect(stream.stats()).toMatchObject({ sampleRate: 16000, audioMs: 1600, utterances: 1 });
    expect(model.batches.some((b) => b.sampleRate === 8000) && model.batches.some((b) => b.sampleRate === 16000)).toBe(true);
  });

  it('validates options and input', async () => {
    await expect(VadEngine.create({ maxBatchSize: 0 })).rejects.toMatchObject({ name: 'ConfigError', key: 'maxBatchSize' });
    await expect(VadEngine.create({ model: {} as never })).rejects.toBeInstanceOf(ConfigError);
    const engine = await makeEngine(new FakeModel());
    expect(() => engine.openStream({ threshold: 0.3, negThreshold: 0.4 })).toThrow(ConfigError);
    expect(() => engine.openStream({ minSilenceMs: -1 })).toThrow(/minSilenceMs/);
    expect(() => engine.openStream({ bogus: 1 } as never)).toThrow(ConfigError);
    const stream = engine.openStream();
    expect(() => stream.push(new Int16Array(882), 882, 44100 as VadSampleRate)).toThrow(RangeError);
    expect(() => stream.push(new Int16Array(160), 161, 8000)).toThrow(RangeError);
  });

  it('isolates a throwing listener (listenererror) and stops at once when a listener closes the stream', async () => {
    const engine = await makeEngine(new FakeModel());
    const stream = engine.openStream({ energyGateDbfs: 0, minSilenceMs: 100 });
    const failures: string[] = [];
    stream.on('listenererror', (event) => failures.push(event));
    stream.on('vad', () => {
      throw new Error('listener bug');
    });
    const events = record(stream);
    stream.on('vad', (e) => {
      if (e.type === 'speech_end') stream.close();
    });
    for (let i = 0; i < 3; i++) {
      await feedMs(engine, [stream], 400, 16000, [LOUD]);
      await feedMs(engine, [stream], 300, 16000, [0]);
    }
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
    expect(failures).toEqual(['vad', 'vad']);
    expect(stream.state).toBe('closed');
  });
});

describe('VadEngine under pressure and failure', () => {
  it('drops the oldest chunks when inference falls behind, keeping each queue bounded, then catches up', async () => {
    const model = new FakeModel();
    model.holding = true;
    const engine = await makeEngine(model);
    const a = engine.openStream({ energyGateDbfs: 0 });
    const b = engine.openStream({ energyGateDbfs: 0, maxQueuedChunks: 2 });
    const events = record(a);
    pushMs(a, 20, 16000, LOUD);
    pushMs(b, 20, 16000, LOUD);
    pushMs(a, 20, 16000, LOUD);
    pushMs(b, 20, 16000, LOUD);
    await yieldToLoop(); // the first chunks are now in the held batch
    expect(engine.stats().inFlight).toBe(2);
    // 60 s of audio while the model is stalled: 1875 chunks each, all but the queue's worth dropped.
    for (let s = 0; s < 60; s++) {
      pushMs(a, 1000, 16000, LOUD);
      pushMs(b, 1000, 16000, LOUD);
      expect(a.stats().queuedChunks).toBeLessThanOrEqual(8);
      expect(b.stats().queuedChunks).toBeLessThanOrEqual(2);
    }
    const total = a.stats().chunks;
    expect(total).toBe(Math.floor((60_040 * 16) / 512));
    expect(a.stats()).toMatchObject({ queuedChunks: 8, droppedChunks: total - 1 - 8 });
    expect(b.stats()).toMatchObject({ queuedChunks: 2, droppedChunks: total - 1 - 2 });
    expect(engine.stats()).toMatchObject({ queuedChunks: 10, droppedChunks: 2 * total - 1 - 8 - 1 - 2, inFlight: 2 });
    model.release();
    await engineIdle(engine);
    expect(engine.stats()).toMatchObject({ queuedChunks: 0, inFlight: 0, inferences: 2 + 8 + 2 });
    expect(a.stats().inferences + a.stats().droppedChunks).toBe(total);
    // What survived was speech: the stream is in an utterance, timed from its first chunk.
    expect(events).toEqual([expect.objectContaining({ type: 'speech_start', startMs: 0 })]);
  });

  it('counts a failed run, retries its streams one by one, and fails only the stream the model rejects', async () => {
    const model = new FakeModel();
    const engine = await makeEngine(model);
    const healthy = Array.from({ length: 3 }, () => engine.openStream({ energyGateDbfs: 0 }));
    const poison = engine.openStream({ energyGateDbfs: 0 });
    const errors: VadStreamError[] = [];
    poison.on('error', (e) => errors.push(e));
    const logs = healthy.map(record);
    const poisonEvents = record(poison);
    // The model rejects any batch that holds a near-full-scale row: the poison stream's.
    model.failWhen = (levels) => levels.some((l) => l > 0.8);
    await feedMs(engine, [...healthy, poison], 1000, 16000, [LOUD, LOUD, LOUD, 30000]);
    await feedMs(engine, [...healthy, poison], 1000, 16000, [0, 0, 0, 30000]);
    expect(poison.state).toBe('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ type: 'error', message: expect.stringMatching(/fake model failure/) });
    expect(poisonEvents).toEqual([]);
    expect(poison.stats().queuedChunks).toBe(0);
    poison.push(new Int16Array(320), 320, 16000); // ignored, not thrown
    for (const [i, s] of healthy.entries()) {
      expect(s.state).toBe('active');
      expect(s.stats().droppedChunks).toBe(0);
      expect(utterances(logs[i]!)).toHaveLength(1);
    }
    const stats = engine.stats();
    expect(stats.errors).toBe(2); // the shared batch, then the poison stream alone
    expect(stats.failedStreams).toBe(1);
    // After the failure the healthy streams are batched together again.
    expect(model.batches.at(-1)!.size).toBe(3);
  });

  it('keeps running when the model fails for everyone: every stream reports error, nothing throws', async () => {
    const model = new FakeModel();
    model.failWhen = () => true;
    const engine = await makeEngine(model);
    const streams = Array.from({ length: 4 }, () => engine.openStream({ energyGateDbfs: 0 }));
    const errors: VadStreamError[] = [];
    for (const s of streams) s.on('error', (e) => errors.push(e));
    await feedMs(engine, streams, 200, 8000, [LOUD, LOUD, LOUD, LOUD]);
    expect(streams.map((s) => s.state)).toEqual(['error', 'error', 'error', 'error']);
    expect(errors).toHaveLength(4);
    expect(engine.stats()).toMatchObject({ errors: 5, failedStreams: 4, queuedChunks: 0, inFlight: 0 });
    // A new stream is still served once the model recovers.
    model.failWhen = null;
    const fresh = engine.openStream({ energyGateDbfs: 0 });
    await feedMs(engine, [fresh], 200, 8000, [LOUD]);
    expect(fresh.stats()).toMatchObject({ state: 'active', inferences: 6 });
  });

  it('ignores the answer for a stream closed while its chunk is in flight', async () => {
    const model = new FakeModel();
    model.holding = true;
    const engine = await makeEngine(model);
    const closing = engine.openStream({ energyGateDbfs: 0, minSpeechMs: 0 });
    const staying = engine.openStream({ energyGateDbfs: 0, minSpeechMs: 0 });
    const closedEvents = record(closing);
    const stayingEvents = record(staying);
    pushMs(closing, 40, 16000, LOUD);
    pushMs(staying, 40, 16000, LOUD);
    await yieldToLoop();
    expect(engine.stats().inFlight).toBe(2);
    closing.close();
    closing.close();
    expect(closing.state).toBe('closed');
    closing.push(new Int16Array(320), 320, 16000); // ignored
    model.release();
    await engineIdle(engine);
    expect(closedEvents).toEqual([]);
    expect(stayingEvents.map((e) => e.type)).toEqual(['speech_start']);
    expect(engine.stats().openStreams).toBe(1);
  });

  it('close() during an inference waits for it, fires nothing afterwards, and leaves no rejection behind', async () => {
    const model = new FakeModel();
    model.holding = true;
    model.failWhen = (levels) => levels.length > 1; // the held batch will reject after close
    const engine = await makeEngine(model);
    const streams = [engine.openStream({ energyGateDbfs: 0, minSpeechMs: 0 }), engine.openStream({ energyGateDbfs: 0, minSpeechMs: 0 })];
    const events = streams.map(record);
    const errors: VadStreamError[] = [];
    for (const s of streams) s.on('error', (e) => errors.push(e));
    for (const s of streams) pushMs(s, 40, 16000, LOUD);
    await yieldToLoop();
    expect(engine.stats().inFlight).toBe(2);
    const closed = engine.close();
    expect(engine.close()).toBe(closed);
    expect(engine.closed).toBe(true);
    expect(streams.map((s) => s.state)).toEqual(['closed', 'closed']);
    expect(() => engine.openStream()).toThrow(InvalidStateError);
    let done = false;
    void closed.then(() => (done = true));
    await yieldToLoop();
    expect(done).toBe(false); // still waiting for the held run
    model.release();
    await closed;
    expect(events).toEqual([[], []]);
    expect(errors).toEqual([]);
    expect(model.closed).toBe(false); // an injected model belongs to the caller
    expect(engine.stats()).toMatchObject({ openStreams: 0, inFlight: 0, errors: 1 });
  });
});

/** FakeModel that also keeps the level of every row it was asked about, in order. */
class LevelRecordingModel extends FakeModel {
  readonly levels: number[] = [];
  override async run(batch: Parameters<FakeModel['run']>[0]): ReturnType<FakeModel['run']> {
    const width = batch.input.length / batch.size;
    const context = width === 576 ? 64 : 32;
    for (let r = 0; r < batch.size; r++) {
      let acc = 0;
      for (let i = context; i < width; i++) acc += Math.abs(batch.input[r * width + i]!);
      this.levels.push(Math.round((acc / (width - context)) * 32768));
    }
    return super.run(batch);
  }
}

describe('VadEngine energy gate: pre-roll and the model state', () => {
  // The fake calls a row speech above 0.05 of full scale (1638).
  const BACKGROUND = 1200; // −28.7 dBFS: not speech to the fake
  const SOFT = 1800; // +3.5 dB: under the gate's 6 dB margin, yet speech to the fake
  const CHUNK_MS = 32;

  it('gives the model the chunks before the one that opened the gate, so a soft start is where the model alone puts it', async () => {
    const model = new LevelRecordingModel();
    const engine = await makeEngine(model);
    const gated = engine.openStream();
    const ungated = engine.openStream({ energyGateDbfs: 0 });
    const logs = [record(gated), record(ungated)];
    // 30 chunks of background, 2 soft, 16 loud, then background: all on the 32 ms grid (20 ms frames, 8 ms lcm).
    const frames = (ms: number, value: number): number[] => Array.from({ length: ms / 4 }, () => value);
    const timeline = [...frames(30 * CHUNK_MS, BACKGROUND), ...frames(2 * CHUNK_MS, SOFT), ...frames(16 * CHUNK_MS, LOUD), ...frames(40 * CHUNK_MS, BACKGROUND)];
    // 4 ms pieces, pushed 5 at a time as 20 ms frames.
    for (let i = 0; i < timeline.length; i += 5) {
      const frame = new Int16Array(320);
      for (let k = 0; k < 5; k++) frame.fill(timeline[i + k] ?? BACKGROUND, k * 64, (k + 1) * 64);
      gated.push(frame, 320, 16000);
      ungated.push(frame, 320, 16000);
      await engineIdle(engine);
    }
    const [g, u] = logs.map(utterances);
    expect(u).toHaveLength(1);
    expect(u![0]!.startMs).toBe(30 * CHUNK_MS - 30);
    expect(g).toEqual(u);
    // The gate decided the soft chunks (and the one before) as silence, then handed them to the model as the pre-roll.
    expect(gated.stats()).toMatchObject({ preRolled: 3, droppedChunks: 0 });
    expect(gated.stats().inferences).toBeLessThan(ungated.stats().inferences);
  });

  it('decides the silence after an utterance at once, and lets the model hear its first warmMs (128 ms) for its state', async () => {
    const model = new LevelRecordingModel();
    const engine = await makeEngine(model);
    const stream = engine.openStream({ minSilenceMs: 300 });
    const events = record(stream);
    await feedMs(engine, [stream], 640, 16000, [LOUD]);
    const heardLoud = model.levels.length;
    await feedMs(engine, [stream], 2000, 16000, [0]);
    expect(utterances(events)).toHaveLength(1);
    const stats = stream.stats();
    // 300 ms of silence ends the utterance: its first 4 chunks went to the model too (for its state), nothing after.
    expect(stats.warmed).toBe(4);
    expect(model.levels.slice(heardLoud)).toEqual([0, 0, 0, 0]);
    expect(stats.skippedByGate).toBe(stats.chunks - heardLoud);
  });
});
