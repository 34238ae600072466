import { parsePairStoreSettings, type PairStoreConfig } from './config.js';
import { MemoryPairStore } from './memory-store.js';
import { RedisPairStore } from './redis-store.js';
import type { PairStore } from './types.js';

/** Redis when `redisUrl` is set, the in-memory store otherwise. Throws ConfigError naming a bad key. */
export function createPairStore(config: PairStoreConfig = {}): PairStore {
  const s = parsePairStoreSettings(config);
  if (s.redisUrl !== undefined) {
    return new RedisPairStore({
      redisUrl: s.redisUrl,
      keyPrefix: s.redisKeyPrefix,
      baseExtension: s.baseExtension,
      poolSize: s.poolSize,
      leaseTtlMs: s.leaseTtlMs,
      suspectCooldownMs: s.suspectCooldownMs,
      ...(s.node !== undefined && { node: s.node }),
      commandTimeoutMs: s.redisCommandTimeoutMs,
      connectTimeoutMs: s.redisConnectTimeoutMs,
    });
  }
  return new MemoryPairStore({ baseExtension: s.baseExtension, poolSize: s.poolSize, leaseTtlMs: s.leaseTtlMs, suspectCooldownMs: s.suspectCooldownMs, ...(s.node !== undefined && { node: s.node }) });
}
