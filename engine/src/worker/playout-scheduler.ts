import { performance } from 'node:perf_hooks';

/**
 * One paced clock per worker for every pair it owns. Deadlines are absolute
 * (start + k·slot on the monotonic clock), so lateness never accumulates the way
 * setInterval drifts. The 20 ms period is cut into slots and each task lives in
 * one slot, so a worker with hundreds of pairs sends in several small bursts
 * instead of one large one; each task still runs exactly once per period.
 *
 * After a stall (GC, a busy event loop) missed slots run back to back, up to
 * `maxCatchUpMs`; beyond that the schedule jumps forward and counts the skip,
 * because a burst of stale audio helps no listener.
 */
export interface TickTask {
  tick(nowMs: number): void;
}

export interface PlayoutSchedulerOptions {
  periodMs?: number;
  slots?: number;
  maxCatchUpMs?: number;
  now?: () => number;
  onTaskError?: (err: unknown) => void;
}

export interface SchedulerStats {
  ticks: number;
  lateTicks: number;
  maxLatenessMs: number;
  skippedTicks: number;
  tasks: number;
}

export class PlayoutScheduler {
  readonly periodMs: number;
  readonly slotMs: number;
  readonly #slots: TickTask[][];
  readonly #slotOf = new Map<TickTask, number>();
  readonly #maxCatchUpMs: number;
  readonly #now: () => number;
  readonly #onTaskError: (err: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #nextDeadline = 0;
  #slotIndex = 0;
  #running = false;
  readonly #stats: SchedulerStats = { ticks: 0, lateTicks: 0, maxLatenessMs: 0, skippedTicks: 0, tasks: 0 };

  constructor(options: PlayoutSchedulerOptions = {}) {
    this.periodMs = options.periodMs ?? 20;
    const slots = options.slots ?? 4;
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
    this.slotMs = this.periodMs / slots;
    this.#slots = Array.from({ length: slots }, () => []);
    this.#maxCatchUpMs = options.maxCatchUpMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
    this.#onTaskError = options.onTaskError ?? (() => {});
  }

  get stats(): Readonly<SchedulerStats> {
    this.#stats.tasks = this.#slotOf.size;
    return this.#stats;
  }

  /** Adds a task to the least loaded slot. */
  add(task: TickTask): void {
    if (this.#slotOf.has(task)) return;
    let best = 0;
    for (let i = 1; i < this.#slots.length; i++) {
      if ((this.#slots[i] as TickTask[]).length < (this.#slots[best] as TickTask[]).length) best = i;
    }
    (this.#slots[best] as TickTask[]).push(task);
    this.#slotOf.set(task, best);
  }

  remove(task: TickTask): void {
    const slot = this.#slotOf.get(task);
    if (slot === undefined) return;
    this.#slotOf.delete(task);
    const list = this.#slots[slot] as TickTask[];
    const index = list.indexOf(task);
    if (index >= 0) list.splice(index, 1);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#nextDeadline = this.#now() + this.slotMs;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Runs every slot that is due at `now`; exposed so tests can drive a fake clock. */
  runDue(): void {
    const now = this.#now();
    const lateness = now - this.#nextDeadline;
    if (lateness > this.#maxCatchUpMs) {
      const skipped = Math.floor(lateness / this.slotMs);
      this.#stats.skippedTicks += skipped;
      this.#nextDeadline += skipped * this.slotMs;
      this.#slotIndex = (this.#slotIndex + skipped) % this.#slots.length;
    }
    while (this.#nextDeadline <= now + 0.25) {
      const late = now - this.#nextDeadline;
      if (late > this.#stats.maxLatenessMs) this.#stats.maxLatenessMs = late;
      if (late > 2) this.#stats.lateTicks++;
      this.#runSlot(this.#slotIndex, this.#nextDeadline);
      this.#stats.ticks++;
      this.#slotIndex = (this.#slotIndex + 1) % this.#slots.length;
      this.#nextDeadline += this.slotMs;
    }
  }

  #runSlot(index: number, deadline: number): void {
    const tasks = this.#slots[index] as TickTask[];
    for (let i = 0; i < tasks.length; i++) {
      try {
        (tasks[i] as TickTask).tick(deadline);
      } catch (err) {
        this.#onTaskError(err);
      }
    }
  }

  #arm(): void {
    if (!this.#running) return;
    const delay = this.#nextDeadline - this.#now();
    this.#timer = setTimeout(this.#fire, delay > 1 ? Math.floor(delay) : 0);
  }

  readonly #fire = (): void => {
    this.#timer = null;
    if (!this.#running) return;
    this.runDue();
    this.#arm();
  };
}
