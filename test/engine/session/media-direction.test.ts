import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../engine/src/codec/index.js';
import { JitterBuffer } from '../../../engine/src/jitter/index.js';
import type { MediaFrame, PipelineStage } from '../../../engine/src/pipeline/index.js';
import { MediaDirection, type SlotPlanner, type StageSwap } from '../../../engine/src/session/media-direction.js';
import type { RtpLeg } from '../../../engine/src/session/rtp-leg.js';
import { FRAME_UNITS, packet, seqOf, taggedDecoder } from '../jitter/helpers.js';

const MARGIN_MS = 6;

/** The parts of a leg a direction reads (source) or calls (destination); the rest of RtpLeg is sockets. */
function legs(): { source: RtpLeg; destination: RtpLeg; jitter: JitterBuffer } {
  const codec = getCodec('ulaw');
  const jitter = new JitterBuffer(taggedDecoder, { clockRate: 8000, frameSamples: 160 });
  const source = { codec, ext: '7000', jitter, lastArrivalMs: Number.NaN } as unknown as RtpLeg;
  const destination = { sendPcm: () => undefined, idleTick: () => undefined } as unknown as RtpLeg;
  return { source, destination, jitter };
}

function recordingStage(ingress: number[]): PipelineStage {
  return {
    process: (frame: MediaFrame | null) => {
      if (frame?.status === 'audio') ingress.push(frame.ingressDelayMs ?? Number.NaN);
      return frame;
    },
    flush: () => undefined,
    close: () => undefined,
  };
}

function planner(): SlotPlanner & { moves: Array<{ slot: number; toTime: number }>; lag: number } {
  const moves: Array<{ slot: number; toTime: number }> = [];
  return {
    moves,
    lag: 0,
    lagMs() {
      return this.lag;
    },
    slotAfter: (timeMs) => {
      moves.push({ slot: -1, toTime: timeMs });
      return 3;
    },
    move: (_task, slot) => {
      const last = moves[moves.length - 1];
      if (last) last.slot = slot;
    },
  };
}

/**
 * The direction's clock, moved by the test: a wait the test sets up is the wait the
 * direction measures, however late a busy machine runs this code.
 */
let clockMs = 1000;
const clock = (): number => clockMs;

/** Ticks `count` times, 20 ms apart; before each tick the next packet "arrived" `waitMs(i)` ago. */
function run(direction: MediaDirection, jitter: JitterBuffer, count: number, waitMs: (i: number) => number): number[] {
  const arrivals: number[] = [];
  for (let i = 0; i < count; i++) {
    clockMs += 20;
    const arrival = clockMs - waitMs(i);
    arrivals.push(arrival);
    jitter.push(packet(100 + i, i * FRAME_UNITS), arrival);
    direction.tick(clockMs);
  }
  return arrivals;
}

describe('MediaDirection', () => {
  it('reports how long each frame waited between its arrival and the tick that handed it to the stage', () => {
    const { source, destination, jitter } = legs();
    const ingress: number[] = [];
    const direction = new MediaDirection('p1', 'A->B', source, destination, recordingStage(ingress), null, MARGIN_MS, clock);
    run(direction, jitter, 10, (i) => 4 + i);
    expect(ingress).toHaveLength(10);
    expect(ingress).toEqual(Array.from({ length: 10 }, (_, i) => 4 + i));
  });

  it('moves its tick earlier when even the least delayed frame of a second waited well past the margin', () => {
    const { source, destination, jitter } = legs();
    const plan = planner();
    const direction = new MediaDirection('p1', 'A->B', source, destination, recordingStage([]), plan, MARGIN_MS, clock);
    // Every frame waited 15-18 ms: the tick sits ~10 ms later than it needs to.
    const arrivals = run(direction, jitter, 50, (i) => (i === 17 ? 15 : 18));
    expect(plan.moves).toHaveLength(1);
    expect(plan.moves[0]!.slot).toBe(3);
    // Aimed at the margin after the least delayed frame's arrival.
    expect(plan.moves[0]!.toTime).toBeCloseTo(arrivals[17]! + MARGIN_MS, 6);
  });

  it('stays where it is when frames wait no more than the margin and a slot', () => {
    const { source, destination, jitter } = legs();
    const plan = planner();
    const direction = new MediaDirection('p1', 'A->B', source, destination, recordingStage([]), plan, MARGIN_MS, clock);
    run(direction, jitter, 150, (i) => (i % 10 === 0 ? MARGIN_MS : 20));
    expect(plan.moves).toHaveLength(0);
  });

  it('hands a stage that hears each frame on arrival, and marks those frames heard at their tick', () => {
    const { source, destination, jitter } = legs();
    const heard: Array<{ seq: number; ingressMs: number }> = [];
    const ticks: Array<{ status: string; seq: number | null; heard: boolean | undefined }> = [];
    const stage: PipelineStage = {
      hear: (frame) => heard.push({ seq: seqOf(frame.pcm), ingressMs: frame.ingressDelayMs ?? Number.NaN }),
      process: (frame) => {
        if (frame !== null) ticks.push({ status: frame.status, seq: frame.status === 'audio' ? seqOf(frame.pcm) : null, heard: frame.heard });
        return frame;
      },
      flush: () => undefined,
      close: () => undefined,
    };
    const direction = new MediaDirection('p1', 'A->B', source, destination, stage, null, MARGIN_MS, clock);
    expect(jitter.earlyReading).toBe(true);
    const arrive = (seq: number, agoMs = 0): void => {
      jitter.push(packet(seq, seq * FRAME_UNITS), clock() - agoMs);
      source.onStored?.();
    };
    arrive(1);
    expect(heard.map((h) => h.seq)).toEqual([1]);
    expect(heard[0]!.ingressMs).toBe(0);
    // Seq 2 is lost: 3 waits behind the gap.
    arrive(3, 10);
    expect(heard.map((h) => h.seq)).toEqual([1]);
    direction.tick(clock());
    expect(ticks).toEqual([{ status: 'audio', seq: 1, heard: true }]);
    // The tick that conceals 2 passes the gap: the stage gets that concealment at the tick, then 3 at once.
    direction.tick(clock());
    expect(ticks[1]).toMatchObject({ status: 'concealed', heard: false });
    expect(heard.map((h) => h.seq)).toEqual([1, 3]);
    // 3 waited behind the gap, and says so.
    expect(heard[1]!.ingressMs).toBe(10);
    direction.tick(clock());
    expect(ticks[2]).toEqual({ status: 'audio', seq: 3, heard: true });

    // A stage that does not hear (the identity duplex) turns early reading off.
    direction.replaceStage(recordingStage([]));
    expect(jitter.earlyReading).toBe(false);
    expect(source.onStored).toBeNull();
    direction.replaceStage(stage);
    expect(source.onStored).not.toBeNull();
    direction.close();
    expect(source.onStored).toBeNull();
  });

  it('on a worker behind its schedule, hands frames over at the ticks instead of in the socket handler', () => {
    const { source, destination, jitter } = legs();
    const plan = planner();
    const heard: number[] = [];
    const stage: PipelineStage = { ...recordingStage([]), hear: (frame) => heard.push(seqOf(frame.pcm)) };
    const direction = new MediaDirection('p1', 'A->B', source, destination, stage, plan, MARGIN_MS, clock);
    const arrive = (seq: number): void => {
      jitter.push(packet(seq, seq * FRAME_UNITS), clock());
      source.onStored?.();
    };
    arrive(1);
    expect(heard).toEqual([1]);
    plan.lag = 50;
    arrive(2);
    arrive(3);
    expect(heard).toEqual([1]);
    direction.tick(clock());
    expect(heard).toEqual([1, 2, 3]);
    plan.lag = 0;
    arrive(4);
    expect(heard).toEqual([1, 2, 3, 4]);
  });

  it('a stage resuming after a pause wakes the direction: its first frame leaves at once and the ticks follow 20 ms after', () => {
    const { source } = legs();
    const sent: number[] = [];
    const destination = { sendPcm: () => void sent.push(clock()), idleTick: () => undefined } as unknown as RtpLeg;
    const plan = planner();
    let wake: (() => void) | null = null;
    let queued = 0;
    const answer: MediaFrame = { pcm: new Int16Array(160), samples: 160, sampleRate: 8000, pairId: 'p1', srcExt: '7000', direction: 'A->B', rtpTimestamp: 0, status: 'audio' };
    const stage: PipelineStage = {
      hear: () => undefined,
      setWake: (w) => (wake = w),
      process: () => (queued > 0 ? (queued--, answer) : null),
      flush: () => undefined,
      close: () => undefined,
    };
    const direction = new MediaDirection('p1', 'A->B', source, destination, stage, plan, MARGIN_MS, clock);
    expect(wake).not.toBeNull();
    const t0 = clock();
    direction.tick(t0);
    expect(sent).toHaveLength(0);
    // An answer arrives between two ticks: it goes out now, not at the next tick.
    queued = 3;
    wake!();
    expect(sent).toHaveLength(1);
    const woke = sent[0]!;
    expect(plan.moves.at(-1)!.toTime).toBeCloseTo(woke + 20, 0);
    // The task's slot comes round again within this period: it must not send a second frame so soon ...
    direction.tick(woke + 2);
    expect(sent).toHaveLength(1);
    // ... and a wake while frames are flowing changes nothing.
    wake!();
    expect(sent).toHaveLength(1);
    direction.tick(woke + 20);
    direction.tick(woke + 40);
    expect(sent).toHaveLength(3);
  });

  it('a wake without a planner (or while output flows) does nothing', () => {
    const { source, destination } = legs();
    let wake: (() => void) | null = null;
    let calls = 0;
    const stage: PipelineStage = { ...recordingStage([]), setWake: (w) => (wake = w), process: () => (calls++, null) };
    const direction = new MediaDirection('p1', 'A->B', source, destination, stage, null, MARGIN_MS, clock);
    direction.tick(clock());
    wake!();
    expect(calls).toBe(1);
  });

  describe('replaceStageAtPause', () => {
    /** A stage the test says is busy or idle, which records the ticks it ran and whether it was closed. */
    function pausable(name: string, log: string[]): PipelineStage & { busy: boolean; closed: boolean } {
      const stage = {
        busy: false,
        closed: false,
        idle: () => !stage.busy,
        process: () => (log.push(name), null),
        flush: () => undefined,
        close: () => void (stage.closed = true),
      };
      return stage;
    }

    function setup() {
      const { source, destination } = legs();
      const log: string[] = [];
      const old = pausable('old', log);
      const direction = new MediaDirection('p1', 'A->B', source, destination, old, null, MARGIN_MS, clock);
      const built: Array<PipelineStage & { busy: boolean; closed: boolean }> = [];
      const build = (name: string) => () => {
        const stage = pausable(name, log);
        built.push(stage);
        return stage;
      };
      const swaps: StageSwap[] = [];
      const tick = (): void => {
        clockMs += 20;
        direction.tick(clockMs);
      };
      return { direction, old, log, built, build, swaps, onSwap: (swap: StageSwap) => swaps.push(swap), tick };
    }

    it('keeps the busy stage until its pause, building the new one only then', () => {
      const { direction, old, log, built, build, swaps, onSwap, tick } = setup();
      old.busy = true;
      direction.replaceStageAtPause(build('new'), 10_000, onSwap);
      tick();
      tick();
      expect(log).toEqual(['old', 'old']);
      expect(built).toHaveLength(0);
      expect(direction.swapPending).toBe(true);
      old.busy = false;
      tick();
      // Swapped before that tick: the new stage runs it.
      expect(log).toEqual(['old', 'old', 'new']);
      expect(built).toHaveLength(1);
      expect(old.closed).toBe(true);
      expect(swaps).toEqual([{ forced: false, waitedMs: 60 }]);
      expect(direction.swapPending).toBe(false);
      direction.close();
      expect(built[0]!.closed).toBe(true);
    });

    it('swaps anyway once the bound has passed, and says it was forced', () => {
      const { direction, old, log, build, swaps, onSwap, tick } = setup();
      old.busy = true;
      direction.replaceStageAtPause(build('new'), 100, onSwap);
      for (let i = 0; i < 4; i++) tick();
      expect(log.every((name) => name === 'old')).toBe(true);
      tick();
      expect(log.at(-1)).toBe('new');
      expect(old.closed).toBe(true);
      expect(swaps).toEqual([{ forced: true, waitedMs: 100 }]);
      direction.close();
    });

    it('a second change before the first applied replaces it: only the last stage is ever built', () => {
      const { direction, old, log, built, build, swaps, onSwap, tick } = setup();
      old.busy = true;
      direction.replaceStageAtPause(build('first'), 10_000, onSwap);
      tick();
      direction.replaceStageAtPause(build('second'), 10_000, onSwap);
      old.busy = false;
      tick();
      expect(log).toEqual(['old', 'second']);
      expect(built).toHaveLength(1);
      expect(swaps).toHaveLength(1);
      direction.close();
    });

    it('closing with a swap waiting closes the old stage and never builds the new one', () => {
      const { direction, old, built, build, swaps, onSwap, tick } = setup();
      old.busy = true;
      direction.replaceStageAtPause(build('new'), 10_000, onSwap);
      tick();
      direction.close();
      expect(old.closed).toBe(true);
      expect(direction.swapPending).toBe(false);
      // A request after the close is refused, and a late tick builds nothing.
      direction.replaceStageAtPause(build('late'), 0, onSwap);
      tick();
      expect(built).toHaveLength(0);
      expect(swaps).toHaveLength(0);
    });

    it('a stage that cannot be built leaves the old one running and is reported', () => {
      const { direction, old, log, swaps, onSwap, tick } = setup();
      direction.replaceStageAtPause(
        () => {
          throw new Error('no credentials');
        },
        10_000,
        onSwap,
      );
      tick();
      expect(log).toEqual(['old']);
      expect(old.closed).toBe(false);
      expect(swaps).toHaveLength(1);
      expect(swaps[0]!.error).toBeInstanceOf(Error);
      expect(direction.swapPending).toBe(false);
      direction.close();
    });

    it('a stage without idle() (the identity duplex) is swapped at the next tick', () => {
      const { source, destination } = legs();
      const log: string[] = [];
      const direction = new MediaDirection('p1', 'A->B', source, destination, { ...recordingStage([]), process: () => (log.push('identity'), null) }, null, MARGIN_MS, clock);
      const swaps: StageSwap[] = [];
      direction.replaceStageAtPause(() => ({ ...recordingStage([]), process: () => (log.push('new'), null) }), 10_000, (swap) => swaps.push(swap));
      clockMs += 20;
      direction.tick(clockMs);
      expect(log).toEqual(['new']);
      expect(swaps).toEqual([{ forced: false, waitedMs: 20 }]);
      direction.close();
    });
  });
});
