import type { Worker } from 'node:worker_threads';
import { errorMessage } from '../../../common/src/errors.js';
import { siblingModule, startSourceWorker } from '../../../common/src/source-worker.js';
import { fromWorkerSchema, sumCounters, type FromWorker, type LegSide, type RelayCounters, type ToWorker, type WorkerSetup } from './node-relay-protocol.js';

export interface RelayThreadsOptions {
  pairs: number;
  threads: number;
  bindAddress: string;
  basePort: number;
  socketBufferBytes: number;
  /** Batch mode: one DatagramPort per thread (ports base + thread, or kernel-chosen). */
  batch?: { io: 'native' | 'dgram'; size: number };
  /** A worker thread died: the relay cannot go on. */
  onFatal: (err: Error) => void;
}

/** How long a worker may take to close its sockets and report before it is terminated regardless. */
const STOP_TIMEOUT_MS = 5_000;

interface Thread {
  worker: Worker;
  /** The last counters it reported: what `close` falls back to if it does not answer. */
  last: RelayCounters | null;
}

/**
 * The main thread's handle on the Node relay's worker threads: whole pairs
 * per thread (pair i on thread i % threads, as relay.c), commands routed to
 * the thread owning the pair, counters gathered from all of them.
 */
export class RelayThreads {
  /** Local ports of each pair's legs, pair by pair. */
  readonly legs: ReadonlyArray<readonly [number, number]>;
  readonly #threads: Thread[];
  readonly #statsWaiters = new Map<number, { replies: RelayCounters[]; resolve: (c: RelayCounters) => void }>();
  #nextStatsId = 0;
  #closing: Promise<RelayCounters> | null = null;

  private constructor(threads: Thread[], legs: Array<readonly [number, number]>) {
    this.#threads = threads;
    this.legs = legs;
  }

  /** Starts the threads and resolves once every socket is bound. */
  static async start(o: RelayThreadsOptions): Promise<RelayThreads> {
    const threads: Thread[] = [];
    const bound: Array<Promise<Array<{ pair: number; portA: number; portB: number }>>> = [];
    for (let t = 0; t < o.threads; t++) {
      const pairs: number[] = [];
      for (let p = t; p < o.pairs; p += o.threads) pairs.push(p);
      const setup: WorkerSetup = {
        pairs,
        bindAddress: o.bindAddress,
        basePort: o.basePort,
        socketBufferBytes: o.socketBufferBytes,
        ...(o.batch === undefined ? {} : { batch: { ...o.batch, thread: t } }),
      };
      const worker = startSourceWorker(siblingModule(import.meta.url, 'node-relay-worker'), { workerData: setup });
      threads.push({ worker, last: null });
      bound.push(
        new Promise((resolve, reject) => {
          worker.once('message', (raw: unknown) => {
            const message = fromWorkerSchema.parse(raw);
            if (message.type === 'bound') resolve(message.legs);
            else reject(new Error(message.type === 'failed' ? message.message : `worker sent '${message.type}' before binding`));
          });
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`relay worker ${t} exited (code ${code}) before binding`)));
        }),
      );
    }
    let results: Array<Array<{ pair: number; portA: number; portB: number }>>;
    try {
      results = await Promise.all(bound);
    } catch (err) {
      await Promise.all(threads.map((t) => t.worker.terminate()));
      throw err;
    }
    const legs: Array<readonly [number, number]> = new Array<readonly [number, number]>(o.pairs);
    for (const { pair, portA, portB } of results.flat()) legs[pair] = [portA, portB];
    const relay = new RelayThreads(threads, legs);
    for (const [index, thread] of threads.entries()) relay.#watch(thread, index, o.onFatal);
    return relay;
  }

  /** The `remote` command, for the thread that owns the pair (it counts a refusal). */
  setPeer(pair: number, side: LegSide, address: string, port: number): void {
    this.#post(this.#threadOf(pair), { type: 'remote', pair, side, address, port });
  }

  /** Every thread's counters, summed; each thread answers after the peers it was given earlier are in place. */
  counters(): Promise<RelayCounters> {
    const id = this.#nextStatsId++;
    return new Promise((resolve) => {
      this.#statsWaiters.set(id, { replies: [], resolve });
      for (const thread of this.#threads) this.#post(thread, { type: 'stats', id });
    });
  }

  /** Closes every socket and ends the threads; resolves to the final counters. Idempotent. */
  close(): Promise<RelayCounters> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<RelayCounters> {
    const finals = await Promise.all(
      this.#threads.map(async (thread) => {
        const stopped = new Promise<RelayCounters | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
          thread.worker.on('message', (raw: unknown) => {
            const message = fromWorkerSchema.safeParse(raw);
            if (message.success && message.data.type === 'stopped') {
              clearTimeout(timer);
              resolve(message.data.counters);
            }
          });
          thread.worker.once('exit', () => {
            clearTimeout(timer);
            resolve(null);
          });
        });
        this.#post(thread, { type: 'stop' });
        const counters = (await stopped) ?? thread.last;
        await thread.worker.terminate();
        return counters;
      }),
    );
    return sumCounters(finals.filter((c): c is RelayCounters => c !== null));
  }

  #watch(thread: Thread, index: number, onFatal: (err: Error) => void): void {
    thread.worker.on('message', (raw: unknown) => {
      let message: FromWorker;
      try {
        message = fromWorkerSchema.parse(raw);
      } catch (err) {
        onFatal(new Error(`relay worker ${index} sent a malformed message: ${errorMessage(err)}`));
        return;
      }
      if (message.type !== 'stats') return;
      thread.last = message.counters;
      const waiter = this.#statsWaiters.get(message.id);
      if (waiter === undefined) return;
      waiter.replies.push(message.counters);
      if (waiter.replies.length === this.#threads.length) {
        this.#statsWaiters.delete(message.id);
        waiter.resolve(sumCounters(waiter.replies));
      }
    });
    thread.worker.on('error', (err) => onFatal(new Error(`relay worker ${index} failed: ${err.message}`)));
    thread.worker.on('exit', (code) => {
      if (this.#closing === null) onFatal(new Error(`relay worker ${index} exited (code ${code})`));
    });
  }

  #threadOf(pair: number): Thread {
    return this.#threads[pair % this.#threads.length] as Thread;
  }

  #post(thread: Thread, message: ToWorker): void {
    thread.worker.postMessage(message);
  }
}
