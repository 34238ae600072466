import type { PairPool } from './pool.js';

/**
 * `allocated`: leased, call being set up; `active`: both legs bridged; `releasing`:
 * teardown in progress. `free` is never stored: a free pair simply has no session.
 */
export type PairState = 'free' | 'allocated' | 'active' | 'releasing';

export const PAIR_STATES: readonly PairState[] = ['free', 'allocated', 'active', 'releasing'];

/** One row of the session table: a leased pair. */
export interface PairSession {
  pairId: string;
  extA: string;
  extB: string;
  state: PairState;
  /** ISO 8601, when the lease was granted. */
  assignedAt: string;
  callerId: string | null;
  /** The Tandem process holding the lease. */
  node: string;
  /** Capability to renew, change or release this lease; a new one per grant. */
  leaseToken: string;
  /** ISO 8601; after it the pair is free again unless renewed. */
  leaseExpiresAt: string;
}

export interface AllocateRequest {
  callerId?: string | null;
  /** Overrides the store's own node name for this lease. */
  node?: string;
}

export interface PairStore {
  /** Atomically takes the lowest-numbered free, enabled pair. Throws PoolExhaustedError (code 'POOL_EXHAUSTED') when none is free. */
  allocate(req?: AllocateRequest): Promise<PairSession>;
  /**
   * Frees the pair only if `leaseToken` still matches (a stale holder cannot free a pair
   * since re-assigned). Returns false (and changes nothing) when the pair is held under
   * another token. Idempotent: true again when the pair is already free.
   */
  release(pairId: string, leaseToken: string): Promise<boolean>;
  /** Renews the lease TTL; false if the lease is gone (expired or released) or the token does not match. */
  renew(pairId: string, leaseToken: string): Promise<boolean>;
  /** Changes the state of a held lease; false if the token does not match. `free` is not a state to set: release instead. */
  setState(pairId: string, leaseToken: string, state: PairState): Promise<boolean>;
  /** The session of a leased pair, `null` when it is free. */
  get(pairId: string): Promise<PairSession | null>;
  /** The session table: every leased pair, in pair order. */
  list(): Promise<PairSession[]>;
  /**
   * Pairs whose extensions are disabled or missing in PJSIP realtime are never handed out. A held lease is kept until released.
   * Resolves true when this changed the pair's availability, false when it already was so.
   */
  setEnabled(pairId: string, enabled: boolean): Promise<boolean>;
  /** Lease time to live in ms; a holder renews before it runs out (see LeaseKeeper). */
  readonly leaseTtlMs: number;
  /** Pure description of the pool: ids ↔ extensions. */
  readonly pool: PairPool;
  readonly closed: boolean;
  close(): Promise<void>;
}
