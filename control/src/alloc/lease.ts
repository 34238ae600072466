import { randomBytes } from 'node:crypto';
import type { PairPool } from './pool.js';
import { PAIR_STATES, type PairSession, type PairState } from './types.js';

/** What a store keeps per leased pair; extensions and id follow from the index. */
export interface LeaseRecord {
  token: string;
  state: PairState;
  assignedAtMs: number;
  callerId: string | null;
  node: string;
  expiresAtMs: number;
}

/** 128 random bits: unguessable, so only the holder can renew or release. */
export function newLeaseToken(): string {
  return randomBytes(16).toString('hex');
}

export function toSession(pool: PairPool, index: number, lease: LeaseRecord): PairSession {
  const { extA, extB } = pool.extensionsAt(index);
  return {
    pairId: pool.pairIdAt(index),
    extA,
    extB,
    state: lease.state,
    assignedAt: new Date(lease.assignedAtMs).toISOString(),
    callerId: lease.callerId,
    node: lease.node,
    leaseToken: lease.token,
    leaseExpiresAt: new Date(lease.expiresAtMs).toISOString(),
  };
}

export function isPairState(value: unknown): value is PairState {
  return typeof value === 'string' && (PAIR_STATES as readonly string[]).includes(value);
}

/** `setState` arguments: `free` is reached by releasing, never set. */
export function checkSettableState(state: PairState): void {
  if (!isPairState(state) || state === 'free') {
    throw new TypeError(`cannot set pair state "${String(state)}": use allocated, active or releasing (release() frees a pair)`);
  }
}

export function checkToken(leaseToken: string): void {
  if (typeof leaseToken !== 'string' || leaseToken.length === 0) throw new TypeError('leaseToken must be a non-empty string');
}
