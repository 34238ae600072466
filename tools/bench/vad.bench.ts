/**
 * Silero VAD costs. `addVadBenches` follows tools/bench's suites (one
 * tinybench task per batch size: ns/op is per BATCH, divide by the size for
 * per stream); wire it into tools/bench/run.ts to include it in
 * `npm run bench`.
 *
 * Run directly for the numbers that matter to capacity planning:
 *   npx tsx tools/bench/vad.bench.ts [--streams 400] [--seconds 8] [--rate 8000] [--silent 0]
 * 1. per-stream cost at batch 1/16/64/256, both rates, on this thread, with
 *    the event-loop stall each inference causes (onnxruntime-node blocks the
 *    calling thread);
 * 2. the same batches through SileroModel's worker thread, where this
 *    thread's event loop stays free;
 * 3. a real-time run of the whole engine: `--streams` streams of looped
 *    espeak-ng speech (a `--silent` fraction of them digital silence, as idle
 *    legs), pushed in 20 ms frames on the clock; prints batch sizes, drops,
 *    the main thread's event-loop delay, CPU, and how long after the deciding
 *    audio each utterance end was reported.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Bench } from 'tinybench';
import { setLogLevel } from '../../common/src/logger.js';
import { synthesizeSpeechSamples } from '../../engine/src/pipeline/streaming/espeak.js';
import { VAD_STATE_SIZE, vadGeometry, type VadBatch, type VadModel, type VadSampleRate } from '../../engine/src/pipeline/vad/model.js';
import { SileroModel } from '../../engine/src/pipeline/vad/silero-model.js';
import { SileroSession } from '../../engine/src/pipeline/vad/silero-session.js';
import { VadEngine } from '../../engine/src/pipeline/vad/vad-engine.js';

export const VAD_BENCH_BATCH_SIZES = [1, 16, 64, 256] as const;

/** A batch of plausible audio (a voiced tone plus noise, different per row). */
function makeBatch(rate: VadSampleRate, size: number): VadBatch {
  const g = vadGeometry(rate);
  const input = new Float32Array(size * g.input);
  let seed = 12345;
  for (let r = 0; r < size; r++) {
    for (let i = 0; i < g.input; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      input[r * g.input + i] = 0.2 * Math.sin((2 * Math.PI * (140 + r) * i) / rate) + 0.02 * (seed / 2 ** 32 - 0.5);
    }
  }
  return { sampleRate: rate, size, input, state: new Float32Array(size * VAD_STATE_SIZE) };
}

/** Fresh arrays each run: SileroModel transfers them to its thread. */
function cloneBatch(b: VadBatch): VadBatch {
  return { sampleRate: b.sampleRate, size: b.size, input: b.input.slice(), state: b.state.slice() };
}

export function addVadBenches(bench: Bench): void {
  let session: Promise<SileroSession> | null = null;
  const load = async (): Promise<void> => {
    session ??= SileroSession.load();
    await session;
  };
  for (const size of VAD_BENCH_BATCH_SIZES) {
    const batch = makeBatch(16000, size);
    bench.add(
      `silero vad batch ${size}@16k (per batch; /${size} per stream)`,
      async () => {
        await (await session!).run(batch);
      },
      { beforeAll: load },
    );
  }
}

interface BatchFigures {
  rate: VadSampleRate;
  size: number;
  msPerBatch: number;
  usPerStream: number;
  /** Event-loop delay on this thread while the runs went on (a 1 ms timer's lateness). */
  eventLoopP50Ms: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
}

async function measureBatches(model: VadModel, rate: VadSampleRate, size: number, budgetMs: number, copy: boolean): Promise<BatchFigures> {
  const batch = makeBatch(rate, size);
  for (let i = 0; i < 3; i++) await model.run(copy ? cloneBatch(batch) : batch);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // A 1 ms timer keeps the loop turning, so a stall shows up as a late tick.
  const ticker = setInterval(() => undefined, 1);
  const t0 = performance.now();
  let runs = 0;
  while (performance.now() - t0 < budgetMs || runs < 5) {
    await model.run(copy ? cloneBatch(batch) : batch);
    runs++;
  }
  const elapsed = performance.now() - t0;
  clearInterval(ticker);
  histogram.disable();
  const msPerBatch = elapsed / runs;
  return {
    rate,
    size,
    msPerBatch,
    usPerStream: (msPerBatch * 1000) / size,
    eventLoopP50Ms: histogram.percentile(50) / 1e6,
    eventLoopP99Ms: histogram.percentile(99) / 1e6,
    eventLoopMaxMs: histogram.max / 1e6,
  };
}

function printBatches(title: string, rows: BatchFigures[]): void {
  process.stdout.write(`\n${title}\n  rate   batch   ms/batch   µs/stream   event-loop delay ms p50 / p99 / max\n`);
  const ms = (v: number): string => v.toFixed(2).padStart(6);
  for (const r of rows) {
    process.stdout.write(
      `  ${String(r.rate).padStart(5)}  ${String(r.size).padStart(6)}  ${r.msPerBatch.toFixed(3).padStart(9)}  ${r.usPerStream.toFixed(1).padStart(10)}   ${ms(r.eventLoopP50Ms)} / ${ms(r.eventLoopP99Ms)} / ${ms(r.eventLoopMaxMs)}\n`,
    );
  }
}

interface LoadOptions {
  streams: number;
  seconds: number;
  rate: VadSampleRate;
  silentFraction: number;
}

async function realTimeLoad(o: LoadOptions): Promise<void> {
  const perMs = o.rate / 1000;
  const sentences = ['The quick brown fox jumps over the lazy dog.', 'Please call me back tomorrow morning at nine.', 'Where is the nearest train station?'];
  const clips = await Promise.all(sentences.map((s) => synthesizeSpeechSamples(s, { voice: 'en', sampleRate: o.rate })));
  const gap = Math.round(800 * perMs);
  const loop = new Int16Array(clips.reduce((n, c) => n + c.length + gap, 0));
  let at = 0;
  for (const c of clips) {
    loop.set(c, at);
    at += c.length + gap;
  }
  const engine = await VadEngine.create();
  const silent = Math.round(o.streams * o.silentFraction);
  const minSilenceMs = 300;
  const endDelays: number[] = [];
  let t0 = 0;
  const streams = Array.from({ length: o.streams }, (_, i) => {
    const stream = engine.openStream({ id: `load-${i}`, minSilenceMs, sampleRate: o.rate });
    stream.on('vad', (e) => {
      // The end is decidable once minSilence of audio after it (less the pad) has been pushed.
      if (e.type === 'speech_end') endDelays.push(e.detectedAt - (t0 + e.endMs - 30 + minSilenceMs));
    });
    return { stream, offset: Math.floor((i * 7919 * perMs) % loop.length), silent: i < silent };
  });
  const frameSamples = o.rate / 50;
  const frame = new Int16Array(frameSamples);
  const zeros = new Int16Array(frameSamples);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  let ticks = 0;
  let tickWorkMs = 0;
  let maxTickWorkMs = 0;
  t0 = performance.now();
  histogram.enable();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      // Catch up on every 20 ms tick that is due, as the worker's clock does.
      const due = Math.floor((performance.now() - t0) / 20);
      while (ticks < due && ticks < o.seconds * 50) {
        const w0 = performance.now();
        for (const s of streams) {
          if (s.silent) {
            s.stream.push(zeros, frameSamples, o.rate);
            continue;
          }
          const start = (s.offset + ticks * frameSamples) % (loop.length - frameSamples);
          frame.set(loop.subarray(start, start + frameSamples));
          s.stream.push(frame, frameSamples, o.rate);
        }
        const w = performance.now() - w0;
        tickWorkMs += w;
        maxTickWorkMs = Math.max(maxTickWorkMs, w);
        ticks++;
      }
      if (ticks >= o.seconds * 50) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  histogram.disable();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const stats = engine.stats();
  await engine.close();
  endDelays.sort((a, b) => a - b);
  const pct = (p: number): string => (endDelays.length ? endDelays[Math.min(endDelays.length - 1, Math.floor(p * endDelays.length))]!.toFixed(1) : '-');
  process.stdout.write(
    `\nreal-time engine run: ${o.streams} streams @${o.rate} Hz (${silent} silent) for ${o.seconds} s\n` +
      `  batches ${stats.batches}, mean batch ${stats.meanBatchSize.toFixed(1)}, inferences ${stats.inferences}, skipped by gate ${stats.skippedByGate}, dropped ${stats.droppedChunks}, errors ${stats.errors}\n` +
      `  batch latency mean ${stats.meanBatchMs.toFixed(2)} ms, max ${stats.maxBatchMs.toFixed(2)} ms; engine's own longest block ${stats.maxEventLoopBlockMs.toFixed(2)} ms\n` +
      `  push() for all streams per tick: mean ${(tickWorkMs / Math.max(1, ticks)).toFixed(3)} ms, max ${maxTickWorkMs.toFixed(3)} ms\n` +
      `  main event-loop delay p50 ${(histogram.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(2)} ms, max ${(histogram.max / 1e6).toFixed(2)} ms\n` +
      `  process CPU (all threads) ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)}% of one core\n` +
      `  utterance ends: ${endDelays.length}, reported after the deciding audio: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms (includes up to one 32 ms chunk of accumulation)\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      streams: { type: 'string', default: '400' },
      seconds: { type: 'string', default: '8' },
      rate: { type: 'string', default: '8000' },
      silent: { type: 'string', default: '0' },
      budget: { type: 'string', default: '400' },
    },
  });
  const budget = Number(values.budget);
  // Drops are counted in the summary; a warning per stream per burst would bury the figures.
  setLogLevel('error');
  const inline = await SileroSession.load();
  const inlineRows: BatchFigures[] = [];
  for (const rate of [16000, 8000] as const) {
    for (const size of VAD_BENCH_BATCH_SIZES) inlineRows.push(await measureBatches(inline, rate, size, budget, false));
  }
  await inline.close();
  printBatches('SileroSession (inference on this thread):', inlineRows);

  const threaded = await SileroModel.start();
  const threadedRows: BatchFigures[] = [];
  for (const rate of [16000, 8000] as const) {
    for (const size of VAD_BENCH_BATCH_SIZES) threadedRows.push(await measureBatches(threaded, rate, size, budget, true));
  }
  await threaded.close();
  printBatches('SileroModel (inference on its worker thread; this thread only posts):', threadedRows);

  const rate = Number(values.rate);
  if (rate !== 8000 && rate !== 16000) throw new RangeError('--rate must be 8000 or 16000');
  await realTimeLoad({ streams: Number(values.streams), seconds: Number(values.seconds), rate, silentFraction: Number(values.silent) });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
