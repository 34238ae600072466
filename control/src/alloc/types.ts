import type { PairPool } from './pool.js';

/**
 * `allocated`: leased, call being set up; `active`: both legs bridged; `releasing`:
 * teardown in progress. `free` is never stored: a free pair simply has no lease.
 */
export type PairState = 'free' | 'allocated' | 'active' | 'releasing';

export const PAIR_STATES: readonly PairState[] = ['free', 'allocated', 'active', 'releasing'];

/**
 * Who holds a lease. `call`: a call of a node's `pair_session` app; that node's
 * reconciliation frees it once the call is gone. `api`: a client of the HTTP API (or any
 * other direct user of the store) that renews it itself; only its holder or its TTL ends it.
 */
export type LeaseOwner = 'call' | 'api';

export const LEASE_OWNERS: readonly LeaseOwner[] = ['call', 'api'];

/** One row of the lease table: a leased pair. */
export interface PairLease {
  pairId: string;
  extA: string;
  extB: string;
  state: PairState;
  /** ISO 8601, when the lease was granted. */
  assignedAt: string;
  callerId: string | null;
  /** The Tandem process holding the lease. */
  node: string;
  /** Who holds it: a call (reclaimed by its node's reconciliation) or an API client (left to its TTL). */
  owner: LeaseOwner;
  /** Capability to renew, change or release this lease; a new one per grant. */
  leaseToken: string;
  /** ISO 8601; after it the pair is free again unless renewed. */
  leaseExpiresAt: string;
}

export interface AllocateRequest {
  callerId?: string | null;
  /** Overrides the store's own node name for this lease. */
  node?: string;
  /** Default `api`: a lease nobody said belongs to a call is never reclaimed by reconciliation. */
  owner?: LeaseOwner;
}

export interface ReleaseOptions {
  /**
   * Leg B of this pair could not be reached (an originate answered 500 `Allocation failed`):
   * the pair goes to the back of the line for the store's suspect cool-down, handed out only
   * when no other pair is free, until the cool-down ends or presence says leg B is reachable.
   */
  suspect?: boolean;
}

/**
 * What presence knows about the leg B extensions of pairs. A pair whose EXT_B is marked
 * unreachable is not handed out (a held lease is kept) until the mark is cleared or ends:
 * a mark lasts `markTtlMs` unless written again, so marks nobody keeps up to date any more
 * (no node follows presence) fade and the pair is handed out again.
 */
export interface ReachabilityUpdate {
  /** Pairs whose EXT_B cannot be reached now. */
  unreachable?: readonly string[];
  /** Pairs whose EXT_B became reachable: handed out again, and a suspect mark ends. */
  reachable?: readonly string[];
  /**
   * `unreachable` is the whole picture (a presence snapshot): every other pair's mark is
   * cleared too. A suspect pair that was never marked unreachable stays suspect.
   */
  complete?: boolean;
  /** How long an unreachable mark written now lasts, in ms. */
  markTtlMs: number;
}

export interface PairStore {
  /**
   * Atomically takes the lowest-numbered free, enabled pair whose leg B is not marked
   * unreachable; a suspect pair only when no other is free (the one suspected longest ago).
   * Throws PoolExhaustedError (code 'POOL_EXHAUSTED') when none can be handed out.
   */
  allocate(req?: AllocateRequest): Promise<PairLease>;
  /**
   * Frees the pair only if `leaseToken` still matches (a stale holder cannot free a pair
   * since re-assigned). Returns false (and changes nothing) when the pair is held under
   * another token. Idempotent: true again when the pair is already free.
   */
  release(pairId: string, leaseToken: string, options?: ReleaseOptions): Promise<boolean>;
  /** Renews the lease TTL; false if the lease is gone (expired or released) or the token does not match. */
  renew(pairId: string, leaseToken: string): Promise<boolean>;
  /** Changes the state of a held lease; false if the token does not match. `free` is not a state to set: release instead. */
  setState(pairId: string, leaseToken: string, state: PairState): Promise<boolean>;
  /** The lease of a pair, `null` when it is free. */
  get(pairId: string): Promise<PairLease | null>;
  /** The lease table: every leased pair, in pair order. */
  list(): Promise<PairLease[]>;
  /**
   * Pairs whose extensions are disabled or missing in PJSIP realtime are never handed out. A held lease is kept until released.
   * Resolves true when this changed the pair's availability, false when it already was so.
   */
  setEnabled(pairId: string, enabled: boolean): Promise<boolean>;
  /** Leg B presence (see ReachabilityUpdate); idempotent, so every node following presence may write it. */
  setReachability(update: ReachabilityUpdate): Promise<void>;
  /** Lease time to live in ms; a holder renews before it runs out (see LeaseKeeper). */
  readonly leaseTtlMs: number;
  /** Pure description of the pool: ids ↔ extensions. */
  readonly pool: PairPool;
  readonly closed: boolean;
  close(): Promise<void>;
}
