/** Where the lines go: a pino logger fits. */
export interface WarnSink {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface BurstLogOptions<R extends string> {
  /** What is counted, as the log line's subject: e.g. `calls rejected`. */
  what: string;
  reasons: readonly R[];
  /** How a reason reads in a log line (default: the reason itself). */
  labels?: Partial<Record<R, string>>;
  /** Length of a summary window (default 5000 ms). */
  intervalMs?: number;
}

/**
 * Counts occurrences by reason and logs them per burst, not per occurrence: the first
 * of a burst at once (with its details), then at most one summary per reason per
 * interval ("calls rejected: 1391 more in the last 5 s (pool exhausted)") while the burst
 * lasts, and one after it ends, so a flood costs a few lines, and its size and end are
 * still in the log. The timers are unref'd: they never keep a process alive.
 */
export class BurstLog<R extends string> {
  readonly #log: WarnSink;
  readonly #what: string;
  readonly #labels: Partial<Record<R, string>>;
  readonly #intervalMs: number;
  readonly #totals: Record<R, number>;
  /** Occurrences since the last line, per reason with an open window. */
  readonly #pending = new Map<R, number>();
  readonly #timers = new Map<R, NodeJS.Timeout>();
  #closed = false;

  constructor(log: WarnSink, options: BurstLogOptions<R>) {
    this.#log = log;
    this.#what = options.what;
    this.#labels = options.labels ?? {};
    this.#intervalMs = options.intervalMs ?? 5000;
    if (!Number.isFinite(this.#intervalMs) || this.#intervalMs <= 0) throw new RangeError(`intervalMs must be positive, got ${this.#intervalMs}`);
    this.#totals = Object.fromEntries(options.reasons.map((r) => [r, 0])) as Record<R, number>;
  }

  /** Counts one occurrence; logs it at once if it opens a burst. */
  add(reason: R, fields: Record<string, unknown> = {}): void {
    this.#totals[reason] = (this.#totals[reason] ?? 0) + 1;
    if (this.#closed) return;
    const pending = this.#pending.get(reason);
    if (pending !== undefined) {
      this.#pending.set(reason, pending + 1);
      return;
    }
    this.#log.warn({ ...fields, reason, total: this.#totals[reason] }, `${this.#what}: ${this.#label(reason)}`);
    this.#pending.set(reason, 0);
    this.#arm(reason);
  }

  /** Totals per reason since construction. */
  counts(): Readonly<Record<R, number>> {
    return { ...this.#totals };
  }

  /** Logs what is still unreported and stops the timers. Idempotent; counting goes on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const reason of [...this.#timers.keys()]) this.#flush(reason, false);
  }

  #arm(reason: R): void {
    const timer = setTimeout(() => this.#flush(reason, true), this.#intervalMs);
    timer.unref();
    this.#timers.set(reason, timer);
  }

  /** Ends a window: a summary if anything happened in it; a busy window opens the next. */
  #flush(reason: R, rearm: boolean): void {
    clearTimeout(this.#timers.get(reason));
    this.#timers.delete(reason);
    const count = this.#pending.get(reason) ?? 0;
    if (count === 0) {
      this.#pending.delete(reason);
      return;
    }
    const seconds = Math.round(this.#intervalMs / 100) / 10;
    this.#log.warn(
      { reason, count, total: this.#totals[reason], windowMs: this.#intervalMs },
      `${this.#what}: ${count} more in the last ${seconds} s (${this.#label(reason)})`,
    );
    if (rearm) {
      this.#pending.set(reason, 0);
      this.#arm(reason);
    } else {
      this.#pending.delete(reason);
    }
  }

  #label(reason: R): string {
    return this.#labels[reason] ?? reason;
  }
}
