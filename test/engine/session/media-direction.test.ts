import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../engine/src/codec/index.js';
import { JitterBuffer } from '../../../engine/src/jitter/index.js';
import type { MediaFrame, PipelineStage } from '../../../engine/src/pipeline/index.js';
import { MediaDirection, type SlotPlanner } from '../../../engine/src/session/media-direction.js';
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
});
