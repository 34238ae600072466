/**
 * Runs a corpus program (corpus.ts) through the VAD as a media worker would —
 * every stream gets 20 ms frames on each tick, and the engine catches up before
 * the next — and scores the utterances it reports against the truth: found,
 * missed, split, false alarms, and the start/end error of each. Several streams
 * play the program at once, each offset by a different lead, so the model runs
 * batched as in production and every stream meets the 32 ms chunk grid at a
 * different phase.
 *
 * CPU is the whole process's (this thread and the model's), per stream and
 * second of audio; with the engine idle between ticks it is the VAD's own cost
 * plus a small, equal overhead for the feeding loop.
 */
import { performance } from 'node:perf_hooks';
import type { VadSampleRate } from '../../../engine/src/pipeline/vad/model.js';
import type { VadStreamOptions } from '../../../engine/src/pipeline/vad/options.js';
import type { VadEngine } from '../../../engine/src/pipeline/vad/vad-engine.js';
import type { VadStream, VadStreamStats } from '../../../engine/src/pipeline/vad/vad-stream.js';
import type { Program, Truth } from './corpus.js';

export interface Segment {
  startMs: number;
  endMs: number;
}

export interface Match {
  truth: Truth;
  /** The segments overlapping the truth, in order (empty: missed). */
  segments: Segment[];
  /** First segment's start − truth start (negative: early, as the VAD's padding makes it). */
  startErrorMs: number | null;
  /** Last segment's end − truth end. */
  endErrorMs: number | null;
}

export interface Score {
  matches: Match[];
  found: number;
  missed: number;
  /** Extra segments inside one truth utterance (a pause inside it ended the utterance). */
  splits: number;
  /** Segments overlapping no truth utterance. */
  falseAlarms: number;
}

export function score(segments: Segment[], truth: Truth[]): Score {
  const used = new Set<Segment>();
  const matches = truth.map((t) => {
    const over = segments.filter((s) => s.startMs < t.endMs && s.endMs > t.startMs);
    for (const s of over) used.add(s);
    return {
      truth: t,
      segments: over,
      startErrorMs: over.length ? over[0]!.startMs - t.startMs : null,
      endErrorMs: over.length ? over[over.length - 1]!.endMs - t.endMs : null,
    };
  });
  const found = matches.filter((m) => m.segments.length > 0).length;
  return {
    matches,
    found,
    missed: truth.length - found,
    splits: matches.reduce((n, m) => n + Math.max(0, m.segments.length - 1), 0),
    falseAlarms: segments.filter((s) => !used.has(s)).length,
  };
}

export interface ArmResult {
  /** One score per stream (each its own offset). */
  scores: Score[];
  /** Summed over streams. */
  stats: Pick<VadStreamStats, 'chunks' | 'inferences' | 'skippedByGate' | 'preRolled' | 'stateResets' | 'droppedChunks'>;
  audioSeconds: number;
  cpuMsPerAudioSecond: number;
  wallMs: number;
}

async function engineIdle(engine: VadEngine): Promise<void> {
  for (;;) {
    const s = engine.stats();
    if (s.queuedChunks === 0 && s.inFlight === 0) return;
    // A timer, not setImmediate: spinning would bill this thread for the model's time.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * Plays `program` on `streams` streams opened with `options` (each delayed by i × `offsetStepMs` of
 * the program's own first sample, i.e. silence or background) and scores each.
 */
export async function runArm(engine: VadEngine, program: Program, options: VadStreamOptions, streams = 8, offsetStepMs = 37): Promise<ArmResult> {
  const rate: VadSampleRate = program.rate;
  const perMs = rate / 1000;
  const frame = rate / 50;
  const audios = Array.from({ length: streams }, (_, i) => {
    const lead = Math.round(i * offsetStepMs * perMs);
    const out = new Int16Array(program.audio.length + lead);
    // The lead repeats the program's opening (its background), so the offset adds no edge.
    for (let k = 0; k < lead; k++) out[k] = program.audio[k % Math.max(1, Math.round(200 * perMs))]!;
    out.set(program.audio, lead);
    return { audio: out, leadMs: lead / perMs };
  });
  const opened: VadStream[] = [];
  const segments: Segment[][] = [];
  for (let i = 0; i < streams; i++) {
    const stream = engine.openStream({ ...options, id: `eval-${i}`, sampleRate: rate });
    const mine: Segment[] = [];
    stream.on('vad', (e) => {
      if (e.type === 'speech_end') mine.push({ startMs: e.startMs, endMs: e.endMs });
    });
    opened.push(stream);
    segments.push(mine);
  }
  const buffer = new Int16Array(frame);
  const longest = Math.max(...audios.map((a) => a.audio.length));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let at = 0; at + frame <= longest; at += frame) {
    for (let i = 0; i < streams; i++) {
      const a = audios[i]!.audio;
      if (at + frame > a.length) continue;
      buffer.set(a.subarray(at, at + frame));
      opened[i]!.push(buffer, frame, rate);
    }
    await engineIdle(engine);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const stats = { chunks: 0, inferences: 0, skippedByGate: 0, preRolled: 0, stateResets: 0, droppedChunks: 0 };
  for (const s of opened) {
    const st = s.stats();
    for (const key of Object.keys(stats) as Array<keyof typeof stats>) stats[key] += st[key];
    s.close();
  }
  const audioSeconds = audios.reduce((n, a) => n + a.audio.length, 0) / rate;
  const scores = audios.map((a, i) => {
    const shifted = program.truth.map((t) => ({ ...t, startMs: t.startMs + a.leadMs, endMs: t.endMs + a.leadMs }));
    return score(segments[i]!, shifted);
  });
  return { scores, stats, audioSeconds, cpuMsPerAudioSecond: (cpu.user + cpu.system) / 1000 / audioSeconds, wallMs };
}

export interface Summary {
  utterances: number;
  found: number;
  missed: number;
  splits: number;
  falseAlarms: number;
  startErrorMs: { p50: number | null; p95: number | null; meanAbs: number | null };
  endErrorMs: { p50: number | null; p95: number | null; meanAbs: number | null };
  /** Share of chunks the model ran on (pre-rolls included). */
  modelShare: number;
}

function quantile(sorted: number[], p: number): number | null {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : null;
}

function errors(values: number[]): Summary['startErrorMs'] {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    meanAbs: values.length ? values.reduce((n, v) => n + Math.abs(v), 0) / values.length : null,
  };
}

export function summarize(arm: ArmResult): Summary {
  const matches = arm.scores.flatMap((s) => s.matches);
  return {
    utterances: matches.length,
    found: arm.scores.reduce((n, s) => n + s.found, 0),
    missed: arm.scores.reduce((n, s) => n + s.missed, 0),
    splits: arm.scores.reduce((n, s) => n + s.splits, 0),
    falseAlarms: arm.scores.reduce((n, s) => n + s.falseAlarms, 0),
    startErrorMs: errors(matches.flatMap((m) => (m.startErrorMs === null ? [] : [m.startErrorMs]))),
    endErrorMs: errors(matches.flatMap((m) => (m.endErrorMs === null ? [] : [m.endErrorMs]))),
    modelShare: arm.stats.chunks === 0 ? 0 : arm.stats.inferences / arm.stats.chunks,
  };
}
