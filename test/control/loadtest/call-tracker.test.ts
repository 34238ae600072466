import { describe, expect, it } from 'vitest';
import { CallTracker } from '../../../tools/call-load/index.js';

/** A fake clock and fake phones: the tracker's rules without sockets or timers. */
function setup(setupTimeoutMs = 1000): { tracker: CallTracker; heard: Set<string>; clock: { t: number } } {
  const heard = new Set<string>();
  const clock = { t: 0 };
  const tracker = new CallTracker({ probe: { hasHeard: (id) => heard.has(id) }, now: () => clock.t, setupTimeoutMs });
  return { tracker, heard, clock };
}

describe('CallTracker', () => {
  it('a call is set up when both phones heard audio after leg B is up; setup ends at the later phone', () => {
    const { tracker, heard, clock } = setup();
    const call = tracker.add('caller1', 100);
    clock.t = 120;
    tracker.mapPair('caller1', 'pair_001', 'chan_pair_001_B');
    clock.t = 130;
    heard.add('caller1');
    tracker.poll();
    expect(call.callerHeardAt).toBe(130);
    expect(call.outcome).toBe('pending');
    clock.t = 140;
    tracker.active('caller1', 'pair_001', 'chan_pair_001_B', 33);
    clock.t = 171;
    heard.add('chan_pair_001_B');
    tracker.poll();
    expect(call.outcome).toBe('set-up');
    const s = tracker.summary();
    expect(s.setUp).toBe(1);
    expect(s.setup.max).toBeCloseTo(71, 5);
    expect(s.control.max).toBeCloseTo(40, 5);
    expect(s.media.max).toBeCloseTo(31, 5);
    expect(s.tandemSetup.max).toBe(33);
  });

  it("ignores a reused leg B id's old recording until this call's leg B is up", () => {
    const { tracker, heard, clock } = setup();
    heard.add('chan_pair_001_B'); // an earlier call's phone, still retained by the simulator
    heard.add('caller2');
    const call = tracker.add('caller2', 0);
    tracker.mapPair('caller2', 'pair_001', 'chan_pair_001_B');
    clock.t = 10;
    tracker.poll();
    expect(call.legBHeardAt).toBeNull();
    expect(call.outcome).toBe('pending');
    clock.t = 50;
    tracker.active('caller2', 'pair_001', 'chan_pair_001_B', null);
    expect(call.outcome).toBe('set-up');
    expect(tracker.summary().setup.max).toBeCloseTo(50, 5);
    expect(tracker.summary().tandemSetup.count).toBe(0);
  });

  it('counts rejections, timeouts, teardowns before setup and early teardowns apart', () => {
    const { tracker, heard, clock } = setup(100);
    tracker.add('rej', 0);
    tracker.add('slow', 0);
    tracker.add('torn', 0);
    tracker.add('ok', 0);
    tracker.rejected('rej', 'pool-exhausted');
    tracker.mapPair('torn', 'pair_002', 'chan_pair_002_B');
    tracker.pairClosed('pair_002', 'legb-busy');
    heard.add('ok').add('chan_pair_003_B');
    tracker.active('ok', 'pair_003', 'chan_pair_003_B', 10);
    clock.t = 101;
    tracker.poll();
    tracker.pairClosed('pair_003', 'engine-error');
    const s = tracker.summary();
    expect(s).toMatchObject({ placed: 4, setUp: 1, failed: 2, rejected: 1, pending: 0 });
    expect(s.rejections).toEqual({ 'pool-exhausted': 1 });
    expect(s.failures).toEqual({ 'torn-down:legb-busy': 1, 'no-audio-within-100ms': 1 });
    expect(s.earlyTeardowns).toEqual({ 'engine-error': 1 });
    // Rejected and torn-down callers are gone; the slow one and the set-up one are still up.
    expect(tracker.inProgress).toBe(1);
  });

  it('a call not set up when the driver hangs up has failed; a set-up one keeps its outcome', () => {
    const { tracker, heard } = setup(10_000);
    const a = tracker.add('a', 0);
    const b = tracker.add('b', 0);
    heard.add('b').add('chan_pair_009_B');
    tracker.active('b', 'pair_009', 'chan_pair_009_B', 5);
    tracker.hangingUp(a);
    tracker.hangingUp(b);
    tracker.abandon(b);
    expect(a.outcome).toBe('failed');
    expect(a.reason).toBe('not-set-up-before-hangup');
    expect(b.outcome).toBe('set-up');
  });
});
