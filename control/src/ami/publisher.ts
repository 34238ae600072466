import { z } from 'zod';
import { InvalidStateError, TimeoutError } from '../../../common/src/errors.js';
import type { PresenceChange } from '../realtime/presence-store.js';

/** Where presence changes go besides the in-process emitter. */
export interface PresenceSink {
  publish(change: PresenceChange): Promise<void>;
}

/** The one ioredis method the publisher uses; the caller owns (and closes) the client. */
export interface RedisPublisherClient {
  publish(channel: string, message: string): Promise<number>;
}

export interface PresencePublisherOptions {
  redis: RedisPublisherClient;
  /** Key prefix shared by Tandem's Redis keys; the channel is `<prefix>presence`. */
  prefix: string;
  /** Default 2000 ms. */
  timeoutMs?: number;
}

const wireSchema = z.object({
  number: z.string().min(1),
  previous: z.enum(['online', 'offline', 'unknown']),
  status: z.enum(['online', 'offline', 'unknown']),
  at: z.iso.datetime(),
  ip: z.string().nullable(),
  source: z.enum(['ContactStatus', 'DeviceStateChange', 'snapshot']),
});

export type PresenceChangeWire = z.infer<typeof wireSchema>;

export function presenceChannel(prefix: string): string {
  return `${prefix}presence`;
}

export function encodePresenceChange(change: PresenceChange): string {
  const wire: PresenceChangeWire = {
    number: change.number,
    previous: change.previous,
    status: change.status,
    at: change.at.toISOString(),
    ip: change.ip,
    source: change.source,
  };
  return JSON.stringify(wire);
}

/** Parses a message from the presence channel; anything malformed is a `TypeError` (subscribers count and drop it). */
export function decodePresenceChange(json: string): PresenceChange {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new TypeError('presence message is not JSON');
  }
  const parsed = wireSchema.safeParse(data);
  if (!parsed.success) throw new TypeError(`presence message invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  return { ...parsed.data, at: new Date(parsed.data.at) };
}

/** Publishes each change as JSON on `<prefix>presence` (Redis pub/sub), with a timeout per publish. */
export class PresencePublisher implements PresenceSink {
  readonly #redis: RedisPublisherClient;
  readonly #channel: string;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: PresencePublisherOptions) {
    this.#redis = options.redis;
    this.#channel = presenceChannel(options.prefix);
    this.#timeoutMs = options.timeoutMs ?? 2000;
  }

  get channel(): string {
    return this.#channel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async publish(change: PresenceChange): Promise<void> {
    if (this.#closed) throw new InvalidStateError('PresencePublisher is closed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`Redis PUBLISH ${this.#channel} unanswered within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      await Promise.race([this.#redis.publish(this.#channel, encodePresenceChange(change)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops publishing; the Redis client belongs to the caller. Idempotent. */
  close(): void {
    this.#closed = true;
  }
}
