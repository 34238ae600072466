import { performance } from 'node:perf_hooks';

/**
 * A slot may run this much before its deadline. Node's timers count whole
 * milliseconds from a cached loop time, so a timer for the deadline fires up
 * to ~1 ms early; refusing those and re-arming costs a whole extra millisecond
 * (the shortest timeout), which was the widest mode of the send intervals.
 */
const EARLY_MS = 1;

/**
 * One paced clock per worker for every pair it owns. Deadlines are absolute
 * (start + k·slot on the monotonic clock), so lateness never accumulates the way
 * setInterval drifts. The 20 ms period is cut into slots and each task lives in
 * one slot, so a worker with hundreds of pairs sends in several small bursts
 * instead of one large one; each task still runs exactly once per period.
 *
 * After a stall (GC, a busy event loop) missed slots run back to back, up to
 * `maxCatchUpMs` (default 200 ms, the jitter buffers' maximum depth: audio that
 * arrived during the stall is still played rather than overflowing the
 * buffers); beyond that the schedule jumps forward and counts the skip.
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
  #immediate: NodeJS.Immediate | null = null;
  #nextDeadline = 0;
  #slotIndex = 0;
  #running = false;
  /** True while slot tasks run: moves requested then wait until the slot is done. */
  #inSlot = false;
  readonly #pendingMoves = new Map<TickTask, number>();
  readonly #stats: SchedulerStats = { ticks: 0, lateTicks: 0, maxLatenessMs: 0, skippedTicks: 0, tasks: 0 };

  constructor(options: PlayoutSchedulerOptions = {}) {
    this.periodMs = options.periodMs ?? 20;
    const slots = options.slots ?? 4;
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
    this.slotMs = this.periodMs / slots;
    this.#slots = Array.from({ length: slots }, () => []);
    this.#maxCatchUpMs = options.maxCatchUpMs ?? 200;
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
    this.#pendingMoves.delete(task);
    const slot = this.#slotOf.get(task);
    if (slot === undefined) return;
    this.#slotOf.delete(task);
    const list = this.#slots[slot] as TickTask[];
    const index = list.indexOf(task);
    if (index >= 0) list.splice(index, 1);
  }

  get slotCount(): number {
    return this.#slots.length;
  }

  slotOf(task: TickTask): number | undefined {
    return this.#pendingMoves.get(task) ?? this.#slotOf.get(task);
  }

  /**
   * The slot whose next deadline is the first at or after `timeMs` (same clock
   * as `now`). A stream's task placed there runs just after its packets arrive,
   * so a frame waits a slot width at most instead of up to a whole period.
   */
  slotAfter(timeMs: number): number {
    // Slots repeat every period, so a time in the past maps to the same slot a period later.
    const ahead = Math.ceil((timeMs - this.#nextDeadline) / this.slotMs - 1e-9);
    const count = this.#slots.length;
    return (((this.#slotIndex + ahead) % count) + count) % count;
  }

  /** How far behind its schedule the clock is now (ms; 0 when on time or stopped). */
  lagMs(): number {
    return this.#running ? Math.max(0, this.#now() - this.#nextDeadline) : 0;
  }

  /** Moves a task to another slot; inside a tick the move waits until the slot has run. */
  move(task: TickTask, slot: number): void {
    if (!this.#slotOf.has(task)) return;
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.#slots.length) throw new RangeError(`slot must be 0..${this.#slots.length - 1}, got ${slot}`);
    if (this.#inSlot) {
      this.#pendingMoves.set(task, slot);
      return;
    }
    this.#applyMove(task, slot);
  }

  #applyMove(task: TickTask, slot: number): void {
    const from = this.#slotOf.get(task);
    if (from === undefined || from === slot) return;
    const list = this.#slots[from] as TickTask[];
    const index = list.indexOf(task);
    if (index >= 0) list.splice(index, 1);
    (this.#slots[slot] as TickTask[]).push(task);
    this.#slotOf.set(task, slot);
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
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
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
    while (this.#nextDeadline <= now + EARLY_MS) {
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
    this.#inSlot = true;
    try {
      for (let i = 0; i < tasks.length; i++) {
        try {
          (tasks[i] as TickTask).tick(deadline);
        } catch (err) {
          this.#onTaskError(err);
        }
      }
    } finally {
      this.#inSlot = false;
    }
    if (this.#pendingMoves.size > 0) {
      for (const [task, slot] of this.#pendingMoves) this.#applyMove(task, slot);
      this.#pendingMoves.clear();
    }
  }

  #arm(): void {
    if (!this.#running) return;
    const delay = this.#nextDeadline - this.#now();
    this.#timer = setTimeout(this.#fire, delay > 1 ? Math.floor(delay) : 0);
  }

  /**
   * The timer only hands over to setImmediate: libuv runs timers before it polls
   * sockets, so after a stall (GC, a busy core) ticks run straight from the timer
   * would pop buffers that have not yet seen the packets queued in the kernel
   * meanwhile, conceal, raise their targets, and later shed the surplus as loss.
   * The check phase comes after the poll phase, so every packet that arrived by
   * the deadline is in its buffer when the tick runs.
   */
  readonly #fire = (): void => {
    this.#timer = null;
    if (!this.#running) return;
    this.#immediate = setImmediate(this.#run);
  };

  readonly #run = (): void => {
    this.#immediate = null;
    if (!this.#running) return;
    this.runDue();
    this.#arm();
  };
}
