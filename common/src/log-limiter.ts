/**
 * Lets a repeated log line through at most once per interval per key and
 * counts the ones it held back, so a flood (refused logins, a dead link
 * retried every 100 ms) is one line per interval that says how many it
 * stands for — never one line per event, never silence.
 */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #keys = new Map<string, { lastAt: number; held: number }>();

  /** `maxKeys` bounds the memory a stream of distinct keys can take (the oldest is forgotten). */
  constructor(intervalMs = 60_000, maxKeys = 1000) {
    if (!(intervalMs >= 0)) throw new RangeError(`intervalMs must be >= 0, got ${intervalMs}`);
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Null when this occurrence is held back; otherwise how many were held back
   * for `key` since the last one let through (log it as `suppressed`).
   */
  take(key: string, now = Date.now()): number | null {
    const entry = this.#keys.get(key);
    if (entry !== undefined && now - entry.lastAt < this.#intervalMs) {
      entry.held++;
      return null;
    }
    const held = entry?.held ?? 0;
    this.#keys.delete(key); // re-inserted last: Map order is the eviction order
    this.#keys.set(key, { lastAt: now, held: 0 });
    if (this.#keys.size > this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value as string);
    return held;
  }

  /** Forgets `key`, so its next occurrence is logged at once (e.g. after a recovery). */
  reset(key: string): void {
    this.#keys.delete(key);
  }
}
