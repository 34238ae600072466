export { PairPool, type PairExtensions, type PairPoolOptions, type PairSide } from './pool.js';
export { PAIR_STATES, type AllocateRequest, type PairSession, type PairState, type PairStore } from './types.js';
export { PoolExhaustedError, StoreUnavailableError } from './errors.js';
export { MemoryPairStore, type MemoryPairStoreOptions } from './memory-store.js';
export { RedisPairStore, type RedisPairStoreOptions } from './redis-store.js';
export { LeaseKeeper, type LeaseKeeperEvents, type LeaseKeeperOptions, type LostLease } from './lease-keeper.js';
export { createPairStore } from './create.js';
export {
  pairStoreSettingsSchema,
  parsePairStoreSettings,
  pairStoreSettingsFromEnv,
  PAIR_STORE_ENV,
  type PairStoreConfig,
  type PairStoreSettings,
} from './config.js';
