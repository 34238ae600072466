import { InvalidStateError } from '../../../common/src/errors.js';
import type { PresenceStore } from '../realtime/presence-store.js';
import { AmiConnection, type AmiConnectionOptions } from './connection.js';
import { PresenceTracker } from './presence.js';
import { PresencePublisher, type RedisPublisherClient } from './publisher.js';

export interface AmiPresenceServiceOptions {
  ami: AmiConnectionOptions;
  store: PresenceStore;
  /** When set, every change is also published on `<redisPrefix>presence`. The client stays the caller's. */
  redis?: RedisPublisherClient | null;
  redisPrefix?: string;
}

/**
 * Presence from AMI, wired: one supervised `AmiConnection`, a `PresenceTracker`
 * on it and, with Redis, a `PresencePublisher`. It owns all three and closes them together.
 */
export class AmiPresenceService {
  readonly connection: AmiConnection;
  readonly tracker: PresenceTracker;
  readonly publisher: PresencePublisher | null;
  #closing: Promise<void> | null = null;

  constructor(options: AmiPresenceServiceOptions) {
    this.connection = new AmiConnection(options.ami);
    this.publisher = options.redis ? new PresencePublisher({ redis: options.redis, prefix: options.redisPrefix ?? 'tandem:' }) : null;
    this.tracker = new PresenceTracker({ ami: this.connection, store: options.store, sink: this.publisher });
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /**
   * Starts tracking and resolves once the first login succeeded (the snapshot
   * follows on its own). A first failure rejects, and supervision keeps retrying.
   */
  start(): Promise<void> {
    if (this.#closing) return Promise.reject(new InvalidStateError('AmiPresenceService is closed'));
    this.tracker.start();
    return this.connection.connect();
  }

  /** Idempotent; resolves when the tracker drained and the AMI socket is closed. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Stop intake first, then close AMI so a pending snapshot fails at once
      // instead of running into its timeout; queued store writes still finish.
      const trackerClosed = this.tracker.close();
      await this.connection.close();
      await trackerClosed;
      this.publisher?.close();
    })();
    return this.#closing;
  }
}
