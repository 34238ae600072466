import { InvalidStateError } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { PoolExhaustedError } from './errors.js';
import { checkSettableState, checkToken, leaseOwnerOf, newLeaseToken, reachabilityIndexes, toPairLease, type LeaseRecord } from './lease.js';
import { PairPool } from './pool.js';
import type { AllocateRequest, PairLease, PairState, PairStore, ReachabilityUpdate, ReleaseOptions } from './types.js';

export interface MemoryPairStoreOptions {
  baseExtension?: number;
  poolSize?: number;
  leaseTtlMs?: number;
  node?: string;
  /** How long a pair released as suspect waits at the back of the line (default 60 000; 0 = not at all). */
  suspectCooldownMs?: number;
  /** Milliseconds since the epoch; injectable so tests can expire leases without waiting. */
  now?: () => number;
}

const log = logger('control.alloc.memory');

/**
 * The embedded store: one process, no Redis. Same contract as the Redis store,
 * leases included: a lease past its expiry is treated as free wherever it is met
 * (lazily, no timer), so a holder that stops renewing loses its pair here too.
 * Unreachable and suspect marks end the same way.
 */
export class MemoryPairStore implements PairStore {
  readonly pool: PairPool;
  readonly leaseTtlMs: number;
  readonly suspectCooldownMs: number;
  readonly #node: string;
  readonly #now: () => number;
  readonly #leases = new Map<number, LeaseRecord>();
  readonly #disabled = new Set<number>();
  /** index → end of its leg B's unreachable mark (ms). */
  readonly #unreachable = new Map<number, number>();
  /** index → end of its suspect cool-down (ms); only free, enabled, reachable pairs have one. */
  readonly #suspect = new Map<number, number>();
  #closed = false;

  constructor(options: MemoryPairStoreOptions = {}) {
    this.pool = new PairPool({
      ...(options.baseExtension !== undefined && { baseExtension: options.baseExtension }),
      ...(options.poolSize !== undefined && { size: options.poolSize }),
    });
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    if (!Number.isInteger(this.leaseTtlMs) || this.leaseTtlMs <= 0) throw new RangeError(`leaseTtlMs must be a positive integer, got ${this.leaseTtlMs}`);
    this.suspectCooldownMs = options.suspectCooldownMs ?? 60_000;
    if (!Number.isInteger(this.suspectCooldownMs) || this.suspectCooldownMs < 0) {
      throw new RangeError(`suspectCooldownMs must be a non-negative integer, got ${this.suspectCooldownMs}`);
    }
    this.#node = options.node ?? `memory:${process.pid}`;
    this.#now = options.now ?? Date.now;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async allocate(req: AllocateRequest = {}): Promise<PairLease> {
    this.#checkOpen();
    const owner = leaseOwnerOf(req.owner);
    const now = this.#now();
    // A linear scan is ~10 µs for 10,000 pairs, well below the cost of a call setup.
    let chosen = -1;
    let suspect = -1;
    let suspectUntil = Infinity;
    let leased = 0;
    let unreachable = 0;
    for (let index = 0; index < this.pool.size; index++) {
      if (this.#live(index, now)) {
        leased++;
        continue;
      }
      if (this.#disabled.has(index)) continue;
      if (this.#markLive(this.#unreachable, index, now) !== undefined) {
        unreachable++;
        continue;
      }
      const until = this.#markLive(this.#suspect, index, now);
      if (until === undefined) {
        chosen = index;
        break;
      }
      // The back of the line: the pair suspected longest ago first.
      if (until < suspectUntil) {
        suspect = index;
        suspectUntil = until;
      }
    }
    if (chosen < 0) chosen = suspect;
    if (chosen < 0) throw new PoolExhaustedError(this.pool.size, { leased, unreachable });
    this.#suspect.delete(chosen);
    const lease: LeaseRecord = {
      token: newLeaseToken(),
      state: 'allocated',
      assignedAtMs: now,
      callerId: req.callerId ?? null,
      node: req.node ?? this.#node,
      owner,
      expiresAtMs: now + this.leaseTtlMs,
    };
    this.#leases.set(chosen, lease);
    return toPairLease(this.pool, chosen, lease);
  }

  async release(pairId: string, leaseToken: string, options: ReleaseOptions = {}): Promise<boolean> {
    this.#checkOpen();
    const index = this.pool.indexOf(pairId);
    checkToken(leaseToken);
    const now = this.#now();
    const lease = this.#live(index, now);
    if (lease === undefined) return true;
    if (lease.token !== leaseToken) return false;
    this.#leases.delete(index);
    // A disabled or unreachable pair is out of the line anyway; once back it starts afresh.
    if (options.suspect === true && this.suspectCooldownMs > 0 && !this.#disabled.has(index) && this.#markLive(this.#unreachable, index, now) === undefined) {
      this.#suspect.set(index, now + this.suspectCooldownMs);
    }
    return true;
  }

  async renew(pairId: string, leaseToken: string): Promise<boolean> {
    this.#checkOpen();
    const index = this.pool.indexOf(pairId);
    checkToken(leaseToken);
    const now = this.#now();
    const lease = this.#live(index, now);
    if (lease?.token !== leaseToken) return false;
    lease.expiresAtMs = now + this.leaseTtlMs;
    return true;
  }

  async setState(pairId: string, leaseToken: string, state: PairState): Promise<boolean> {
    this.#checkOpen();
    const index = this.pool.indexOf(pairId);
    checkToken(leaseToken);
    checkSettableState(state);
    const lease = this.#live(index, this.#now());
    if (lease?.token !== leaseToken) return false;
    lease.state = state;
    return true;
  }

  async get(pairId: string): Promise<PairLease | null> {
    this.#checkOpen();
    const index = this.pool.indexOf(pairId);
    const lease = this.#live(index, this.#now());
    return lease === undefined ? null : toPairLease(this.pool, index, lease);
  }

  async list(): Promise<PairLease[]> {
    this.#checkOpen();
    const now = this.#now();
    const pairLeases: PairLease[] = [];
    for (const index of [...this.#leases.keys()].sort((a, b) => a - b)) {
      const lease = this.#live(index, now);
      if (lease !== undefined) pairLeases.push(toPairLease(this.pool, index, lease));
    }
    return pairLeases;
  }

  async setEnabled(pairId: string, enabled: boolean): Promise<boolean> {
    this.#checkOpen();
    const index = this.pool.indexOf(pairId);
    if (enabled) return this.#disabled.delete(index);
    if (this.#disabled.has(index)) return false;
    this.#disabled.add(index);
    this.#suspect.delete(index);
    return true;
  }

  async setReachability(update: ReachabilityUpdate): Promise<void> {
    this.#checkOpen();
    const { unreachable, reachable } = reachabilityIndexes(this.pool, update);
    const until = this.#now() + update.markTtlMs;
    if (update.complete === true) {
      const listed = new Set(unreachable);
      for (const index of [...this.#unreachable.keys()]) if (!listed.has(index)) this.#unreachable.delete(index);
    }
    for (const index of unreachable) {
      this.#unreachable.set(index, until);
      this.#suspect.delete(index);
    }
    for (const index of reachable) {
      this.#unreachable.delete(index);
      this.#suspect.delete(index);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    log.debug({ leases: this.#leases.size }, 'memory pair store closed');
    this.#leases.clear();
    this.#unreachable.clear();
    this.#suspect.clear();
  }

  /** The unexpired lease at `index`; an expired one is dropped on the way. */
  #live(index: number, now: number): LeaseRecord | undefined {
    const lease = this.#leases.get(index);
    if (lease === undefined) return undefined;
    if (lease.expiresAtMs > now) return lease;
    this.#leases.delete(index);
    log.info({ pairId: this.pool.pairIdAt(index), node: lease.node }, 'lease expired, pair free again');
    return undefined;
  }

  /** The end of a mark at `index` if it has not passed; an ended one is dropped on the way. */
  #markLive(marks: Map<number, number>, index: number, now: number): number | undefined {
    const until = marks.get(index);
    if (until === undefined) return undefined;
    if (until > now) return until;
    marks.delete(index);
    return undefined;
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('pair store is closed');
  }
}
