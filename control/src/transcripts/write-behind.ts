import type { DropCounter } from './drop-counter.js';

/** Why a queued item never reached the database. */
export type WriteBehindDropReason = 'queue_full' | 'db_error' | 'closed';

export interface WriteBehindOptions<T> {
  /** What the items are, for drop messages (`call records`, `finals`). */
  what: string;
  maxQueue: number;
  batchSize: number;
  /** Writes one batch (one INSERT); a rejection drops the batch as `db_error`. */
  write(batch: readonly T[]): Promise<void>;
  /** The hint logged with a failed batch (default: the error's message). */
  describeError(err: unknown): string;
  drops: DropCounter<WriteBehindDropReason> | DropCounter<WriteBehindDropReason | 'invalid'>;
}

/**
 * A bounded write-behind queue for a PostgreSQL table: `enqueue()` never waits, one
 * writer drains the queue in batches (items of one event-loop turn share an INSERT, at
 * most one INSERT is in flight, order is kept), and a database that is down costs
 * counted, logged drops, never memory. `close()` waits up to a deadline for what is
 * queued and drops the rest.
 */
export class WriteBehindQueue<T> {
  readonly #options: WriteBehindOptions<T>;
  readonly #queue: T[] = [];
  #writing: Promise<void> | null = null;
  #written = 0;
  #closing: Promise<void> | null = null;

  constructor(options: WriteBehindOptions<T>) {
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get written(): number {
    return this.#written;
  }

  /** Queues an item; false (and counted) when closed or the queue is full. */
  enqueue(item: T): boolean {
    const { drops, maxQueue, what } = this.#options;
    if (this.#closing) {
      drops.add('closed', 1);
      return false;
    }
    if (this.#queue.length >= maxQueue) {
      drops.add('queue_full', 1, `${maxQueue} ${what} already wait for PostgreSQL`);
      return false;
    }
    this.#queue.push(item);
    this.#writing ??= this.#drain();
    return true;
  }

  /** Resolves when everything queued so far is written or dropped. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Stops accepting, waits up to `deadlineMs` for queued writes, drops (and counts) the rest. Idempotent. */
  close(deadlineMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      try {
        await Promise.race([this.flush(), deadline]);
      } finally {
        clearTimeout(timer);
      }
      // The batch in flight (if any) still settles and is counted; the rest never will be written.
      const left = this.#queue.splice(0);
      this.#options.drops.add('closed', left.length, `not written within the ${deadlineMs} ms close deadline`);
    })();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    const options = this.#options;
    try {
      // Items queued in the same turn of the event loop share one INSERT.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, options.batchSize);
        try {
          await options.write(batch);
          this.#written += batch.length;
        } catch (err) {
          options.drops.add('db_error', batch.length, options.describeError(err));
        }
      }
    } finally {
      this.#writing = null;
    }
  }
}
