import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterBufferOptions } from '../../../engine/src/jitter/index.js';
import { SequenceUnwrapper, seqAdd, tsAdd } from '../../../engine/src/rtp/wrap.js';
import { FRAME_UNITS, newOut, packet, seqOf, taggedDecoder } from './helpers.js';

interface Arrival {
  seq: number;
  ts: number;
  ssrc: number;
  atMs: number;
}

/** The tagged decoder fills a frame with its packet's level: the level says which stream a frame came from. */
function levelOf(ssrc: number): number {
  return ssrc & 0x3fff;
}

interface Run {
  played: number[];
  /** Played sequence numbers, split where a push returned 'resync'. */
  segments: number[][];
  /** SSRC (as its level) of each played frame. */
  playedLevels: number[];
  /** SSRC of the packet that caused the first resync. */
  firstResyncSsrc: number;
  results: Map<string, number>;
  pushes: number;
  resyncOutcomes: number;
  /** Index in `played` where audio of the second stream may begin (first audio after the first 'resync' push). */
  playedBeforeResync: number;
  violations: string[];
  jb: JitterBuffer;
  /** With early reading: what an early reader (recognition) took, in order: frames read on arrival, plus audio playout reported unread. */
  heard: number[];
  /** Frames the early reader got twice (must stay empty). */
  heardTwice: number[];
  /** Played frames the early reader passed over (playout said read, it never was). */
  skipped: number[];
}

/**
 * Drives a buffer with a simulated clock: every tick (20 ms, with a phase) first
 * pushes every packet that has arrived by then, then pops once. After every call
 * it checks the invariants that must hold at all times.
 */
function simulate(options: JitterBufferOptions, arrivals: Arrival[], phaseMs: number, earlyReading = false): Run {
  const jb = new JitterBuffer(taggedDecoder, options);
  jb.setEarlyReading(earlyReading);
  const early = newOut();
  const heardSet = new Set<number>();
  const hear = (seq: number): void => {
    if (heardSet.has(seq)) run.heardTwice.push(seq);
    heardSet.add(seq);
    run.heard.push(seq);
  };
  const maxDepthMs = options.maxDepthMs ?? 200;
  const minDepthMs = options.minDepthMs ?? 20;
  const sorted = [...arrivals].sort((a, b) => a.atMs - b.atMs);
  const lastArrival = sorted.length > 0 ? (sorted[sorted.length - 1]?.atMs ?? 0) : 0;
  const tsBySeq = new Map<number, Set<number>>();
  const out = newOut();
  const run: Run = {
    played: [],
    segments: [[]],
    playedLevels: [],
    firstResyncSsrc: -1,
    results: new Map(),
    pushes: 0,
    resyncOutcomes: 0,
    playedBeforeResync: -1,
    violations: [],
    jb,
    heard: [],
    heardTwice: [],
    skipped: [],
  };

  const check = (where: string): void => {
    const s = jb.stats;
    if (s.depthMs < 0 || s.depthMs > maxDepthMs + 20) run.violations.push(`${where}: depthMs ${s.depthMs}`);
    if (s.targetMs < minDepthMs || s.targetMs > maxDepthMs) run.violations.push(`${where}: targetMs ${s.targetMs}`);
    const accounted = s.played + s.late + s.duplicate + s.overflow + s.accelerated + s.flushed + s.decodeErrors + jb.bufferedFrames;
    if (s.received !== run.pushes || accounted !== s.received) {
      run.violations.push(`${where}: received ${s.received}, pushes ${run.pushes}, accounted ${accounted}`);
    }
  };

  let next = 0;
  for (let tick = phaseMs; tick <= lastArrival + 3000; tick += 20) {
    while (next < sorted.length && (sorted[next]?.atMs ?? Infinity) <= tick) {
      const a = sorted[next++] as Arrival;
      const known = tsBySeq.get(a.seq) ?? new Set<number>();
      known.add(a.ts);
      tsBySeq.set(a.seq, known);
      run.pushes++;
      const outcome = jb.push(packet(a.seq, a.ts, { ssrc: a.ssrc, level: levelOf(a.ssrc) }), a.atMs);
      if (outcome === 'resync') {
        run.resyncOutcomes++;
        run.segments.push([]);
        if (run.playedBeforeResync < 0) {
          run.playedBeforeResync = run.played.length;
          run.firstResyncSsrc = a.ssrc;
        }
      }
      check(`push ${a.seq}`);
      while (jb.readEarly(early)) hear(seqOf(early));
    }
    const result = jb.pop(tick, out);
    if (result === 'audio' && earlyReading && !jb.lastPopReadEarly) hear(seqOf(out));
    if (result === 'audio' && earlyReading && jb.lastPopReadEarly && !heardSet.has(seqOf(out))) run.skipped.push(seqOf(out));
    while (jb.readEarly(early)) hear(seqOf(early));
    run.results.set(result, (run.results.get(result) ?? 0) + 1);
    if (result === 'audio') {
      const seq = seqOf(out);
      run.played.push(seq);
      run.segments[run.segments.length - 1]?.push(seq);
      run.playedLevels.push(out[2] ?? -1);
      if (tsBySeq.get(seq)?.has(jb.lastPlayedTimestamp) !== true) run.violations.push(`pop: frame ${seq} with timestamp ${jb.lastPlayedTimestamp} was never pushed`);
    }
    check(`pop @${tick}`);
  }
  return run;
}

const seq16 = fc.oneof(fc.integer({ min: 65_400, max: 65_535 }), fc.integer({ min: 0, max: 65_535 }));
const ts32 = fc.oneof(
  fc.integer({ min: 1, max: 40_000 }).map((back) => 2 ** 32 - back),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([hi, lo]) => hi * 0x10000 + lo),
);
const fate = fc.record({
  lost: fc.integer({ min: 0, max: 99 }),
  delayMs: fc.integer({ min: 0, max: 160 }),
  copies: fc.integer({ min: 0, max: 99 }),
  copyDelayMs: fc.integer({ min: 0, max: 300 }),
});
const depthOptions = fc.record({
  minDepthMs: fc.constantFrom(20, 40, 60),
  maxDepthMs: fc.constantFrom(100, 200, 400),
  concealFrames: fc.integer({ min: 0, max: 5 }),
});

/** One stream's start, each packet's fate, loss and duplicate percentages, the tick phase, and depth options. */
const lossyStream = [
  seq16,
  ts32,
  fc.array(fate, { minLength: 1, maxLength: 250 }),
  fc.integer({ min: 0, max: 30 }),
  fc.integer({ min: 0, max: 30 }),
  fc.integer({ min: 0, max: 19 }),
  depthOptions,
] as const;

function arrivalsFor(
  startSeq: number,
  startTs: number,
  ssrc: number,
  startMs: number,
  fates: Array<{ lost: number; delayMs: number; copies: number; copyDelayMs: number }>,
  lossPercent: number,
  dupPercent: number,
): Arrival[] {
  const arrivals: Arrival[] = [];
  fates.forEach((f, i) => {
    if (f.lost < lossPercent) return;
    const seq = seqAdd(startSeq, i);
    const ts = tsAdd(startTs, i * FRAME_UNITS);
    const sentMs = startMs + i * 20;
    arrivals.push({ seq, ts, ssrc, atMs: sentMs + f.delayMs });
    if (f.copies < dupPercent) arrivals.push({ seq, ts, ssrc, atMs: sentMs + f.copyDelayMs });
  });
  return arrivals;
}

function strictlyIncreasing(played: number[]): boolean {
  const unwrapper = new SequenceUnwrapper();
  let previous = Number.NEGATIVE_INFINITY;
  for (const seq of played) {
    const ext = unwrapper.unwrap(seq);
    if (ext <= previous) return false;
    previous = ext;
  }
  return true;
}

describe('JitterBuffer properties (simulated clock)', () => {
  it('plays each frame at most once, in sequence order, with depth bounded and every packet accounted for', () => {
    fc.assert(
      fc.property(
        ...lossyStream,
        (startSeq, startTs, fates, lossPercent, dupPercent, phaseMs, depth) => {
          const arrivals = arrivalsFor(startSeq, startTs, 0xabcd, 0, fates, lossPercent, dupPercent);
          const run = simulate({ clockRate: 8000, frameSamples: 160, ...depth }, arrivals, phaseMs);
          expect(run.violations).toEqual([]);
          expect(strictlyIncreasing(run.played)).toBe(true);
          expect(new Set(run.played).size).toBe(run.played.length);
          expect(run.jb.stats.resyncs).toBe(0);
          // Three seconds after the last arrival the stream is idle and nothing is left behind.
          expect(run.jb.bufferedFrames).toBe(0);
          expect(run.jb.stats.played).toBe(run.played.length);
          const distinctArrived = new Set(arrivals.map((a) => a.seq)).size;
          expect(run.played.length).toBeLessThanOrEqual(distinctArrived);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('early reading hands each frame over once, in sequence order, and changes nothing about playout', () => {
    fc.assert(
      fc.property(
        ...lossyStream,
        (startSeq, startTs, fates, lossPercent, dupPercent, phaseMs, depth) => {
          const arrivals = arrivalsFor(startSeq, startTs, 0xabcd, 0, fates, lossPercent, dupPercent);
          const options = { clockRate: 8000, frameSamples: 160, ...depth };
          const reading = simulate(options, arrivals, phaseMs, true);
          const plain = simulate(options, arrivals, phaseMs, false);
          expect(reading.violations).toEqual([]);
          expect(reading.heardTwice).toEqual([]);
          expect(strictlyIncreasing(reading.heard)).toBe(true);
          // Every frame played was heard, except one that arrived before playout began behind a frame already
          // handed over (reordered); and playout is exactly what it is without an early reader.
          const heard = new Set(reading.heard);
          expect(reading.played.filter((seq) => !heard.has(seq))).toEqual(reading.skipped);
          expect(reading.skipped.length).toBeLessThanOrEqual(reading.jb.stats.reordered);
          expect(reading.played).toEqual(plain.played);
          expect(reading.jb.stats).toEqual(plain.jb.stats);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with little jitter every frame that arrives is played (nothing late, nothing dropped)', () => {
    fc.assert(
      fc.property(
        seq16,
        ts32,
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 19 }),
        (startSeq, startTs, delays, phaseMs) => {
          // Delay varies by at most 10 ms: the target (at least 20 ms, grown by the jitter estimate) absorbs it.
          const arrivals = delays.map((d, i) => ({
            seq: seqAdd(startSeq, i),
            ts: tsAdd(startTs, i * FRAME_UNITS),
            ssrc: 7,
            atMs: i * 20 + 5 + d,
          }));
          const run = simulate({ clockRate: 8000, frameSamples: 160, minDepthMs: 40 }, arrivals, phaseMs);
          expect(run.violations).toEqual([]);
          expect(run.played).toEqual(arrivals.map((a) => a.seq));
          expect(run.jb.stats.lost).toBe(0);
          expect(run.jb.stats.late).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a pause or a sequence jump mid-stream (idle, rebuffer or resync) keeps the same guarantees', () => {
    fc.assert(
      fc.property(
        seq16,
        ts32,
        fc.array(fate, { minLength: 2, maxLength: 150 }),
        fc.integer({ min: 1, max: 149 }),
        fc.integer({ min: 0, max: 2500 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 19 }),
        depthOptions,
        (startSeq, startTs, fates, pauseAt, pauseMs, seqJump, phaseMs, depth) => {
          const arrivals: Arrival[] = [];
          fates.forEach((f, i) => {
            if (f.lost < 5) return;
            const after = i >= pauseAt;
            const seq = seqAdd(startSeq, i + (after ? seqJump : 0));
            // The sender's clock runs on through the pause, as Asterisk's does (docs/asterisk-facts.md: seq +101, ts +16160 after mute).
            const ts = tsAdd(startTs, (i + (after ? seqJump : 0)) * FRAME_UNITS);
            const sentMs = i * 20 + (after ? pauseMs : 0);
            arrivals.push({ seq, ts, ssrc: 0x77, atMs: sentMs + f.delayMs });
            if (f.copies < 5) arrivals.push({ seq, ts, ssrc: 0x77, atMs: sentMs + f.copyDelayMs });
          });
          const run = simulate({ clockRate: 8000, frameSamples: 160, ...depth }, arrivals, phaseMs);
          expect(run.violations).toEqual([]);
          // A jump is a new stream: order holds within each one. (Reordering across the jump at stream start can
          // legitimately resync backwards: the first packet seen was already past the jump.) Without a jump, and
          // across idle restarts, order holds for the whole run.
          expect(run.segments.length).toBe(run.jb.stats.resyncs + 1);
          for (const segment of run.segments) expect(strictlyIncreasing(segment)).toBe(true);
          if (seqJump * 20 <= 1000) expect(strictlyIncreasing(run.played)).toBe(true);
          expect(run.jb.bufferedFrames).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('after a resync to a new SSRC no frame of the old stream is ever played', () => {
    fc.assert(
      fc.property(
        seq16,
        seq16,
        ts32,
        ts32,
        fc.array(fate, { minLength: 5, maxLength: 80 }),
        fc.array(fate, { minLength: 5, maxLength: 80 }),
        fc.integer({ min: 0, max: 19 }),
        (seqA, seqB, tsA, tsB, fatesA, fatesB, phaseMs) => {
          const a = arrivalsFor(seqA, tsA, 0xaaaa, 0, fatesA, 10, 10);
          // Stream B starts right after A's last frame was sent, so A's late arrivals interleave with B's.
          const b = arrivalsFor(seqB, tsB, 0xbbbb, fatesA.length * 20, fatesB, 10, 10);
          // A must have begun first for "B replaces A" to be the story (otherwise A is the newcomer).
          fc.pre(a.length > 0 && b.length > 0 && Math.min(...a.map((x) => x.atMs)) < Math.min(...b.map((x) => x.atMs)));
          const run = simulate({ clockRate: 8000, frameSamples: 160, minDepthMs: 40 }, [...a, ...b], phaseMs);
          expect(run.violations).toEqual([]);
          // A's stragglers are dropped as late, so exactly one resync happens, caused by B.
          expect(run.jb.stats.resyncs).toBe(1);
          expect(run.firstResyncSsrc).toBe(0xbbbb);
          const before = run.playedLevels.slice(0, run.playedBeforeResync);
          const after = run.playedLevels.slice(run.playedBeforeResync);
          expect(before.every((level) => level === levelOf(0xaaaa))).toBe(true);
          expect(after.every((level) => level === levelOf(0xbbbb))).toBe(true);
          expect(strictlyIncreasing(run.played.slice(run.playedBeforeResync))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
