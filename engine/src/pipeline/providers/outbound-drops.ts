/**
 * Counts the outbound frames a streaming stage drops instead of sending. A
 * stalled or absent service drops 50 frames a second, so each reason's
 * streak is logged once when it starts and once when audio flows again.
 */
import type { Logger } from '../../../../common/src/logger.js';

export type OutboundDropReason = 'not_connected' | 'backpressure';

export class OutboundDrops {
  readonly #log: Logger;
  #notConnected = 0;
  #backpressure = 0;
  readonly #streak: Record<OutboundDropReason, number> = { not_connected: 0, backpressure: 0 };

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Frames dropped because there was no open socket. */
  get notConnected(): number {
    return this.#notConnected;
  }

  /** Frames dropped because the socket already held too many unsent bytes. */
  get backpressure(): number {
    return this.#backpressure;
  }

  drop(reason: OutboundDropReason): void {
    if (reason === 'backpressure') this.#backpressure++;
    else this.#notConnected++;
    if (this.#streak[reason]++ === 0) this.#log.warn({ reason }, 'outbound audio dropping');
  }

  /** A frame was sent: ends any streak. */
  sent(): void {
    for (const reason of ['not_connected', 'backpressure'] as const) {
      const n = this.#streak[reason];
      if (n > 0) {
        this.#log.warn({ reason, frames: n }, 'outbound audio flowing again');
        this.#streak[reason] = 0;
      }
    }
  }
}
