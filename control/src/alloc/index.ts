export { PairPool, type PairExtensions, type PairPoolOptions, type PairSide } from './pool.js';
export {
  LEASE_OWNERS,
  PAIR_STATES,
  type AllocateRequest,
  type LeaseOwner,
  type PairLease,
  type PairState,
  type PairStore,
  type ReachabilityUpdate,
  type ReleaseOptions,
} from './types.js';
export { PoolExhaustedError, StoreUnavailableError } from './errors.js';
export { MemoryPairStore, type MemoryPairStoreOptions } from './memory-store.js';
export { RedisPairStore, type RedisPairStoreOptions } from './redis-store.js';
export { LeaseKeeper, type LeaseKeeperEvents, type LeaseKeeperOptions, type LostLease } from './lease-keeper.js';
export { createPairStore } from './create.js';
export {
  LEG_B_PRESENCE_POLICIES,
  pairStoreSettingsSchema,
  type LegBPresencePolicy,
  parsePairStoreSettings,
  pairStoreSettingsFromEnv,
  PAIR_STORE_ENV,
  type PairStoreConfig,
  type PairStoreSettings,
} from './config.js';
