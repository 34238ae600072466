import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { AllocateRequest, PairLease, PairStore, ReleaseOptions } from './types.js';

export interface LostLease {
  pairId: string;
  leaseToken: string;
}

export type LeaseKeeperEvents = {
  /** The store no longer has this lease under our token (expired while Redis was away, or taken over). Stop using the pair. */
  lost: [lease: LostLease];
  /** A renewal round could not reach the store; the keeper tries again next round. */
  renewfailed: [error: Error];
  listenererror: [event: string, error: unknown];
};

export interface LeaseKeeperOptions {
  /** Renewal period; default a third of the store's lease TTL, so two rounds may fail before a lease lapses. */
  intervalMs?: number;
}

const log = logger('control.alloc.keeper');

/**
 * Heartbeat for the leases this process holds: renews all of them every TTL/3 and
 * reports the ones it lost. Allocate and release through it so that what it renews
 * is exactly what the process holds.
 */
export class LeaseKeeper extends TypedEmitter<LeaseKeeperEvents> {
  readonly #store: PairStore;
  readonly #held = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  #round: Promise<void> | null = null;
  #closed = false;

  constructor(store: PairStore, options: LeaseKeeperOptions = {}) {
    super();
    this.#store = store;
    const intervalMs = options.intervalMs ?? Math.max(10, Math.floor(store.leaseTtlMs / 3));
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    // The heartbeat alone must not keep a process alive.
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Leases being renewed: pairId → token. */
  get held(): ReadonlyMap<string, string> {
    return this.#held;
  }

  /** Allocates a pair and keeps its lease alive until `release`. */
  async allocate(req?: AllocateRequest): Promise<PairLease> {
    this.#checkOpen();
    const granted = await this.#store.allocate(req);
    if (this.#closed) {
      // Closed while allocating: give the pair back rather than leak it until expiry.
      await this.#store.release(granted.pairId, granted.leaseToken).catch(() => false);
      throw new InvalidStateError('lease keeper closed during allocate');
    }
    this.#held.set(granted.pairId, granted.leaseToken);
    return granted;
  }

  /** Starts renewing a lease obtained elsewhere. */
  track(pairId: string, leaseToken: string): void {
    this.#checkOpen();
    this.#store.pool.indexOf(pairId);
    this.#held.set(pairId, leaseToken);
  }

  /** Stops renewing without releasing (the lease then lapses by itself). */
  untrack(pairId: string): void {
    this.#held.delete(pairId);
  }

  /** Stops renewing and releases; false if the store says another holder has the pair. */
  async release(pairId: string, options?: ReleaseOptions): Promise<boolean> {
    const token = this.#held.get(pairId);
    if (token === undefined) return true;
    this.#held.delete(pairId);
    return this.#store.release(pairId, token, options);
  }

  /** Runs one renewal round now (also what the timer does); resolves when it is done. */
  renewNow(): Promise<void> {
    this.#round ??= this.#renewAll().finally(() => {
      this.#round = null;
    });
    return this.#round;
  }

  /** Stops the heartbeat; the held leases are neither renewed nor released. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#round?.catch(() => undefined);
    this.#held.clear();
  }

  #tick(): void {
    // A round still running (slow Redis) is not doubled up.
    if (this.#round !== null || this.#held.size === 0) return;
    void this.renewNow();
  }

  async #renewAll(): Promise<void> {
    const leases = [...this.#held];
    const results = await Promise.allSettled(leases.map(([pairId, token]) => this.#store.renew(pairId, token)));
    let failure: Error | null = null;
    for (const [i, result] of results.entries()) {
      const [pairId, token] = leases[i] ?? ['', ''];
      if (result.status === 'rejected') {
        failure ??= result.reason instanceof Error ? result.reason : new Error(errorMessage(result.reason));
        continue;
      }
      // Released or re-tracked with a new token while the round ran: not a loss.
      if (result.value || this.#held.get(pairId) !== token) continue;
      this.#held.delete(pairId);
      log.warn({ pairId }, 'lease lost');
      this.safeEmit('lost', { pairId, leaseToken: token });
    }
    if (failure !== null && !this.#closed) {
      log.warn({ err: errorMessage(failure), leases: leases.length }, 'lease renewal failed, retrying next round');
      this.safeEmit('renewfailed', failure);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('lease keeper is closed');
  }
}
