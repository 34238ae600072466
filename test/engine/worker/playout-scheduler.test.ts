import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { PlayoutScheduler, type TickTask } from '../../../engine/src/worker/playout-scheduler.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function recorder(): TickTask & { at: number[] } {
  const at: number[] = [];
  return { at, tick: (now) => void at.push(now) };
}

describe('PlayoutScheduler', () => {
  it('runs every task exactly once per period, on absolute deadlines, spread over slots', () => {
    const clock = fakeClock();
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 4, now: clock.now });
    const tasks = Array.from({ length: 8 }, recorder);
    tasks.forEach((t) => scheduler.add(t));
    scheduler.start();
    scheduler.stop(); // drive by hand
    for (let step = 0; step < 400; step++) {
      clock.advance(1.3); // uneven wake-ups must not accumulate drift
      scheduler.runDue();
    }
    for (const t of tasks) {
      for (let i = 1; i < t.at.length; i++) expect(t.at[i]! - t.at[i - 1]!).toBeCloseTo(20, 9);
    }
    const counts = tasks.map((t) => t.at.length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(counts[0]).toBeGreaterThanOrEqual(25);
    // Two tasks per slot: slot phases differ by 5 ms.
    const phases = new Set(tasks.map((t) => (t.at[0]! - 1000) % 20));
    expect(phases.size).toBe(4);
  });

  it('says how far behind its schedule it is (0 once caught up, or stopped)', () => {
    const clock = fakeClock();
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 4, now: clock.now });
    scheduler.add(recorder());
    scheduler.start();
    expect(scheduler.lagMs()).toBe(0);
    clock.advance(50);
    // The first slot was due 5 ms after start.
    expect(scheduler.lagMs()).toBe(45);
    scheduler.runDue();
    expect(scheduler.lagMs()).toBe(0);
    clock.advance(30);
    scheduler.stop();
    expect(scheduler.lagMs()).toBe(0);
  });

  it('catches up missed slots after a short stall and skips (counted) after a long one', () => {
    const clock = fakeClock();
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 1, maxCatchUpMs: 100, now: clock.now });
    const task = recorder();
    scheduler.add(task);
    scheduler.start();
    scheduler.stop();
    clock.advance(20);
    scheduler.runDue();
    expect(task.at.length).toBe(1);
    clock.advance(60); // three periods late: catch up
    scheduler.runDue();
    expect(task.at.length).toBe(4);
    expect(scheduler.stats.lateTicks).toBeGreaterThan(0);
    clock.advance(1000); // a second's stall: skip forward
    scheduler.runDue();
    expect(scheduler.stats.skippedTicks).toBeGreaterThanOrEqual(40);
    expect(task.at.length).toBeLessThan(4 + 10);
  });

  it('isolates a throwing task and removes tasks', () => {
    const clock = fakeClock();
    const errors: unknown[] = [];
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 1, now: clock.now, onTaskError: (e) => errors.push(e) });
    const good = recorder();
    scheduler.add({ tick: () => { throw new Error('boom'); } });
    scheduler.add(good);
    scheduler.start();
    scheduler.stop();
    clock.advance(20);
    scheduler.runDue();
    expect(errors).toHaveLength(1);
    expect(good.at).toHaveLength(1);
    scheduler.remove(good);
    clock.advance(20);
    scheduler.runDue();
    expect(good.at).toHaveLength(1);
    expect(scheduler.stats.tasks).toBe(1);
  });

  it('ticks on a real timer', async () => {
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 2 });
    const task = recorder();
    scheduler.add(task);
    scheduler.start();
    await new Promise((r) => setTimeout(r, 250));
    scheduler.stop();
    expect(task.at.length).toBeGreaterThanOrEqual(8);
    expect(task.at.length).toBeLessThanOrEqual(14);
  });

  it('places a task in the slot just after a given time, and moves tasks only between slot runs', () => {
    const clock = fakeClock();
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 10, now: clock.now });
    scheduler.start();
    scheduler.stop(); // next deadline: 1002, slot 0
    expect(scheduler.slotAfter(1002)).toBe(0);
    expect(scheduler.slotAfter(1002.5)).toBe(1);
    expect(scheduler.slotAfter(1007)).toBe(3); // deadlines 1002, 1004, 1006, 1008 → slot 3
    expect(scheduler.slotAfter(1007 - 20)).toBe(3); // a past arrival maps to the same phase
    expect(scheduler.slotAfter(1007 + 40)).toBe(3);

    const at: number[] = [];
    const mover: TickTask = {
      tick: (now) => {
        at.push(now);
        scheduler.move(mover, 7); // requested mid-slot: applied after the slot ran
      },
    };
    const other = recorder();
    scheduler.add(mover);
    scheduler.add(other);
    expect(scheduler.slotOf(mover)).toBe(0);
    clock.advance(2);
    scheduler.runDue();
    expect(at).toEqual([1002]);
    expect(scheduler.slotOf(mover)).toBe(7);
    clock.advance(18);
    scheduler.runDue();
    expect(at).toEqual([1002, 1016]);
    expect(() => scheduler.move(mover, 10)).toThrow(RangeError);
  });

  it('after a stall, a tick sees every packet that reached its socket before the deadline', async () => {
    // libuv runs timers before it polls sockets: a tick run straight from the
    // timer would find its jitter buffer without the packets queued in the
    // kernel during the stall, conceal, and later shed the surplus as loss.
    const socket = dgram.createSocket('udp4');
    const sender = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    let received = 0;
    socket.on('message', () => received++);
    const seenAtTick: number[] = [];
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 1 });
    scheduler.add({ tick: () => void seenAtTick.push(received) });
    try {
      // A connected sender's send() reaches the kernel at once (no lookup, no bind step left).
      await new Promise<void>((resolve) => sender.connect(socket.address().port, '127.0.0.1', resolve));
      scheduler.start();
      // The packets leave now and wait in the kernel while this thread is busy past the deadline.
      for (let i = 0; i < 3; i++) sender.send(Buffer.alloc(12));
      const busyUntil = performance.now() + 40;
      while (performance.now() < busyUntil) {
        // A stall: GC, a descheduled thread, a long task.
      }
      // Wait for the first tick itself, not for a time in which it should have come.
      while (seenAtTick.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(received).toBe(3);
      // The first tick after the stall already counted all three.
      expect(seenAtTick[0]).toBe(3);
    } finally {
      scheduler.stop();
      socket.close();
      sender.close();
    }
  });

  it('runs a slot that is due within a millisecond rather than re-arming a timer for it', () => {
    const clock = fakeClock();
    const scheduler = new PlayoutScheduler({ periodMs: 20, slots: 1, now: clock.now });
    const task = recorder();
    scheduler.add(task);
    scheduler.start();
    scheduler.stop();
    clock.advance(19.2); // a millisecond timer may fire this early
    scheduler.runDue();
    expect(task.at).toEqual([1020]);
    clock.advance(18.5); // 1.5 ms early: too early, waits
    scheduler.runDue();
    expect(task.at).toEqual([1020]);
  });
});
