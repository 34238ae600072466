import { SetupError } from './setup-errors.js';

/** How long an externalMedia channel may take to enter Stasis after its 200 (RTP) or its media connection (WebSocket). */
export const STASIS_START_DEADLINE_MS = 5000;

/**
 * The channels of one pair whose StasisStart was seen, and the setup steps waiting for one: a
 * channel is added to a bridge only in Stasis (422 otherwise).
 */
export class StasisArrivals {
  readonly #seen = new Set<string>();
  readonly #waiters = new Map<string, () => void>();

  /** Resolves once the channel's StasisStart has been seen; fails after STASIS_START_DEADLINE_MS. */
  wait(channelId: string): Promise<void> {
    if (this.#seen.has(channelId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(channelId);
        reject(new SetupError('setup-failed', new Error(`${channelId} did not enter Stasis within ${STASIS_START_DEADLINE_MS} ms of its externalMedia response`)));
      }, STASIS_START_DEADLINE_MS);
      timer.unref();
      this.#waiters.set(channelId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The channel's StasisStart arrived. */
  started(channelId: string): void {
    this.#seen.add(channelId);
    const waiter = this.#waiters.get(channelId);
    this.#waiters.delete(channelId);
    waiter?.();
  }

  /** Teardown: every step still waiting stops waiting (it then sees the teardown and ends). */
  releaseAll(): void {
    for (const release of this.#waiters.values()) release();
    this.#waiters.clear();
  }
}
