import type { Logger } from '../../../common/src/logger.js';

/**
 * Counts dropped items by reason and says so in the log, at most once per
 * reason per interval: an outage at call rates must not become one warning
 * per event, and must not go unmentioned either.
 */
export class DropCounter<R extends string> {
  readonly #log: Logger;
  readonly #what: string;
  readonly #intervalMs: number;
  readonly #counts: Record<R, number>;
  readonly #unlogged = new Map<R, number>();
  readonly #lastLogAt = new Map<R, number>();

  constructor(log: Logger, what: string, reasons: readonly R[], intervalMs = 10_000) {
    this.#log = log;
    this.#what = what;
    this.#intervalMs = intervalMs;
    this.#counts = Object.fromEntries(reasons.map((r) => [r, 0])) as Record<R, number>;
  }

  add(reason: R, n: number, detail?: string): void {
    if (n <= 0) return;
    this.#counts[reason] += n;
    const pending = (this.#unlogged.get(reason) ?? 0) + n;
    const now = Date.now();
    const last = this.#lastLogAt.get(reason);
    if (last !== undefined && now - last < this.#intervalMs) {
      this.#unlogged.set(reason, pending);
      return;
    }
    this.#unlogged.delete(reason);
    this.#lastLogAt.set(reason, now);
    this.#log.warn({ reason, dropped: pending, total: this.#counts[reason], ...(detail !== undefined ? { detail } : {}) }, `${this.#what} dropped`);
  }

  /** A snapshot of the totals. */
  counts(): Readonly<Record<R, number>> {
    return { ...this.#counts };
  }
}
