import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../engine/src/codec/index.js';
import { JitterBuffer } from '../../../engine/src/jitter/index.js';
import type { MediaFrame, PipelineStage } from '../../../engine/src/pipeline/index.js';
import { MediaDirection, type SlotPlanner } from '../../../engine/src/session/media-direction.js';
import type { RtpLeg } from '../../../engine/src/session/rtp-leg.js';
import { FRAME_UNITS, packet, taggedDecoder } from '../jitter/helpers.js';

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

function planner(): SlotPlanner & { moves: Array<{ slot: number; toTime: number }> } {
  const moves: Array<{ slot: number; toTime: number }> = [];
  return {
    moves,
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

/** Ticks `count` times; before each tick the next packet "arrived" `waitMs(i)` ago. */
function run(direction: MediaDirection, jitter: JitterBuffer, count: number, waitMs: (i: number) => number): number[] {
  const arrivals: number[] = [];
  for (let i = 0; i < count; i++) {
    const arrival = performance.now() - waitMs(i);
    arrivals.push(arrival);
    jitter.push(packet(100 + i, i * FRAME_UNITS), arrival);
    direction.tick(performance.now());
  }
  return arrivals;
}

describe('MediaDirection', () => {
  it('reports how long each frame waited between its arrival and the tick that handed it to the stage', () => {
    const { source, destination, jitter } = legs();
    const ingress: number[] = [];
    const direction = new MediaDirection('p1', 'A->B', source, destination, recordingStage(ingress), null, MARGIN_MS);
    run(direction, jitter, 10, (i) => 4 + i);
    expect(ingress).toHaveLength(10);
    ingress.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(4 + i);
      expect(ms).toBeLessThan(4 + i + 5);
    });
  });

  it('moves its tick earlier when even the least delayed frame of a second waited well past the margin', () => {
    const { source, destination, jitter } = legs();
    const plan = planner();
    const direction = new MediaDirection('p1', 'A->B', source, destination, recordingStage([]), plan, MARGIN_MS);
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
    const direction = new MediaDirection('p1', 'A->B', source, destination, recordingStage([]), plan, MARGIN_MS);
    run(direction, jitter, 150, (i) => (i % 10 === 0 ? MARGIN_MS : 20));
    expect(plan.moves).toHaveLength(0);
  });
});
