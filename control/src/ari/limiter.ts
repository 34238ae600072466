/**
 * Bounds concurrent ARI requests. Asterisk's HTTP server serves at most
 * `sessionlimit` connections (http.conf, default 100; the event WebSocket holds
 * one) and simply stalls beyond it (docs/asterisk-facts.md), so hundreds of call setups must
 * queue here instead of there.
 */
export class ConcurrencyLimiter {
  readonly #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max concurrency must be >= 1, got ${max}`);
    this.#max = max;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}
