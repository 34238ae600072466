/**
 * Reconnect timing shared by the streaming clients (WsConnection, the Google
 * recognizer): jittered exponential backoff from an initial delay up to a cap,
 * until too many consecutive attempts failed. reset() when the service proved
 * itself, so the next failure starts from the initial delay again.
 */
export interface BackoffSettings {
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Consecutive failed attempts before giving up. */
  reconnectMaxAttempts: number;
}

export class Backoff {
  readonly #s: BackoffSettings;
  #attempts = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(settings: BackoffSettings) {
    this.#s = settings;
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Whether another attempt is allowed. */
  get canRetry(): boolean {
    return this.#attempts < this.#s.reconnectMaxAttempts;
  }

  reset(): void {
    this.#attempts = 0;
  }

  /** Runs `attempt` after the next delay and returns the delay, or null (nothing scheduled) when attempts are used up. */
  next(attempt: () => void): number | null {
    if (!this.canRetry) return null;
    const s = this.#s;
    const base = Math.min(s.reconnectMaxDelayMs, s.reconnectInitialDelayMs * 2 ** this.#attempts);
    // ±20 % jitter so pairs cut off by one service outage do not reconnect in lockstep.
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.#attempts++;
    this.cancel();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      attempt();
    }, delay);
    return delay;
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
