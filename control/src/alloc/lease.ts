import { randomBytes } from 'node:crypto';
import type { PairPool } from './pool.js';
import { LEASE_OWNERS, PAIR_STATES, type LeaseOwner, type PairLease, type PairState, type ReachabilityUpdate } from './types.js';

/** What a store keeps per leased pair; extensions and id follow from the index. */
export interface LeaseRecord {
  token: string;
  state: PairState;
  assignedAtMs: number;
  callerId: string | null;
  node: string;
  owner: LeaseOwner;
  expiresAtMs: number;
}

/** 128 random bits: unguessable, so only the holder can renew or release. */
export function newLeaseToken(): string {
  return randomBytes(16).toString('hex');
}

export function toPairLease(pool: PairPool, index: number, lease: LeaseRecord): PairLease {
  const { extA, extB } = pool.extensionsAt(index);
  return {
    pairId: pool.pairIdAt(index),
    extA,
    extB,
    state: lease.state,
    assignedAt: new Date(lease.assignedAtMs).toISOString(),
    callerId: lease.callerId,
    node: lease.node,
    owner: lease.owner,
    leaseToken: lease.token,
    leaseExpiresAt: new Date(lease.expiresAtMs).toISOString(),
  };
}

export function isPairState(value: unknown): value is PairState {
  return typeof value === 'string' && (PAIR_STATES as readonly string[]).includes(value);
}

export function isLeaseOwner(value: unknown): value is LeaseOwner {
  return typeof value === 'string' && (LEASE_OWNERS as readonly string[]).includes(value);
}

/** The owner of a new lease: `api` unless said otherwise; anything else is a TypeError. */
export function leaseOwnerOf(owner: LeaseOwner | undefined): LeaseOwner {
  if (owner === undefined) return 'api';
  if (!isLeaseOwner(owner)) throw new TypeError(`lease owner must be one of ${LEASE_OWNERS.join(', ')}, got "${String(owner)}"`);
  return owner;
}

/** A ReachabilityUpdate as pool indexes; TypeError / RangeError for bad ids, a pair in both lists, or a bad TTL. */
export function reachabilityIndexes(pool: PairPool, update: ReachabilityUpdate): { unreachable: number[]; reachable: number[] } {
  const { markTtlMs } = update;
  if (!Number.isSafeInteger(markTtlMs) || markTtlMs <= 0) throw new RangeError(`markTtlMs must be a positive integer, got ${String(markTtlMs)}`);
  const unreachable = [...new Set((update.unreachable ?? []).map((id) => pool.indexOf(id)))];
  const reachable = [...new Set((update.reachable ?? []).map((id) => pool.indexOf(id)))];
  const both = reachable.find((i) => unreachable.includes(i));
  if (both !== undefined) throw new TypeError(`${pool.pairIdAt(both)} is listed as both reachable and unreachable`);
  return { unreachable, reachable };
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
