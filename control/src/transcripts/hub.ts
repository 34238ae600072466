import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { RedisPublisherClient } from '../ami/publisher.js';
import { DropCounter } from './drop-counter.js';
import { encodeTranscript, parseTranscript, transcriptsChannel, type TranscriptInput, type TranscriptRecord } from './schema.js';
import type { TranscriptWriter } from './store.js';

export type TranscriptHubEvents = {
  /** Every accepted event, partial or final, validated and normalised. */
  transcript: [record: TranscriptRecord];
  listenererror: [event: string, error: unknown];
};

export interface TranscriptHubOptions {
  /** When set, every event is published as JSON on `<prefix>transcripts`. The client stays the caller's. */
  redis?: RedisPublisherClient | null;
  /** Tandem's Redis key prefix (default `tandem:`). */
  prefix?: string;
  /** Where finals are stored. The hub owns it: close() closes it. */
  store?: TranscriptWriter | null;
  /** A PUBLISH unanswered after this long counts as failed (default 2000 ms). */
  publishTimeoutMs?: number;
  /** Most PUBLISHes awaiting Redis (default 1000); beyond it events skip Redis, counted. */
  maxPendingPublishes?: number;
}

export type HubDropReason = 'invalid' | 'closed' | 'redis_failed' | 'redis_backlog';

export interface TranscriptHubStats {
  /** Events accepted (emitted in-process). */
  accepted: number;
  /** Accepted events whose text or translation was cut to MAX_TEXT_LENGTH. */
  truncated: number;
  redisPublished: number;
  redisPending: number;
  dropped: Readonly<Record<HubDropReason, number>>;
}

const log = logger('transcripts.hub');

/**
 * Where every transcript event goes: validated once, then emitted in-process
 * (`transcript`), published on Redis and, if final, queued for PostgreSQL.
 * `publish()` is called from the engine's event path, so it never throws and
 * never waits: a bad event, a slow Redis or a dead database is counted and
 * logged, and the other destinations carry on.
 */
export class TranscriptHub extends TypedEmitter<TranscriptHubEvents> {
  readonly #redis: RedisPublisherClient | null;
  readonly #channel: string;
  readonly #store: TranscriptWriter | null;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #pending = new Set<Promise<void>>();
  readonly #drops = new DropCounter<HubDropReason>(log, 'transcript events', ['invalid', 'closed', 'redis_failed', 'redis_backlog']);
  #accepted = 0;
  #truncated = 0;
  #redisPublished = 0;
  #closing: Promise<void> | null = null;

  constructor(options: TranscriptHubOptions = {}) {
    super();
    this.#redis = options.redis ?? null;
    this.#channel = transcriptsChannel(options.prefix ?? 'tandem:');
    this.#store = options.store ?? null;
    this.#timeoutMs = options.publishTimeoutMs ?? 2000;
    this.#maxPending = options.maxPendingPublishes ?? 1000;
    if (!Number.isInteger(this.#timeoutMs) || this.#timeoutMs < 1) throw new RangeError('publishTimeoutMs must be a positive integer');
    if (!Number.isInteger(this.#maxPending) || this.#maxPending < 1) throw new RangeError('maxPendingPublishes must be a positive integer');
  }

  /** The Redis channel events are published on. */
  get channel(): string {
    return this.#channel;
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  stats(): TranscriptHubStats {
    return {
      accepted: this.#accepted,
      truncated: this.#truncated,
      redisPublished: this.#redisPublished,
      redisPending: this.#pending.size,
      dropped: this.#drops.counts(),
    };
  }

  /**
   * Accepts one event; returns whether it was valid and the hub open. The
   * argument is checked at run time whatever its static type says: it may come
   * from a worker thread or a remote service.
   */
  publish(event: TranscriptInput): boolean {
    if (this.#closing) {
      this.#drops.add('closed', 1);
      return false;
    }
    const parsed = parseTranscript(event);
    if (!parsed.ok) {
      this.#drops.add('invalid', 1, parsed.reason);
      return false;
    }
    const record = parsed.record;
    this.#accepted++;
    if (parsed.truncated) this.#truncated++;
    this.safeEmit('transcript', record);
    if (this.#redis) this.#publishToRedis(this.#redis, record);
    if (record.final) this.#store?.save(record);
    return true;
  }

  /**
   * Stops accepting events, then waits up to `deadlineMs` in all for the
   * PUBLISHes in flight and the store's queued writes (the store is closed).
   * Idempotent. The Redis client stays open: it is the caller's.
   */
  close(deadlineMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      try {
        await Promise.race([Promise.allSettled([...this.#pending]), deadline]);
      } finally {
        clearTimeout(timer);
      }
      await this.#store?.close(Math.max(1, deadlineMs - (Date.now() - started)));
      log.debug(this.stats(), 'transcript hub closed');
    })();
    return this.#closing;
  }

  #publishToRedis(redis: RedisPublisherClient, record: TranscriptRecord): void {
    if (this.#pending.size >= this.#maxPending) {
      this.#drops.add('redis_backlog', 1, `${this.#maxPending} PUBLISHes still unanswered`);
      return;
    }
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      this.#drops.add('redis_failed', 1, reason);
    };
    const timer = setTimeout(() => fail(`PUBLISH ${this.#channel} unanswered within ${this.#timeoutMs} ms`), this.#timeoutMs);
    // Counted as pending until the client settles, not until the timeout: that
    // is what actually holds memory, so it is what the backlog limit bounds.
    const done = (async () => {
      try {
        await redis.publish(this.#channel, encodeTranscript(record));
        if (!settled) {
          settled = true;
          this.#redisPublished++;
        }
      } catch (err) {
        fail(errorMessage(err));
      } finally {
        clearTimeout(timer);
      }
    })();
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }
}
