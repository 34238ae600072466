import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../../common/src/errors.js';
import {
  MemoryPairStore,
  PairPool,
  RedisPairStore,
  createPairStore,
  pairStoreSettingsFromEnv,
  parsePairStoreSettings,
} from '../../../control/src/alloc/index.js';
import { testPrefix, deletePrefix } from './redis-helpers.js';

describe('PairPool', () => {
  it('maps ids to extensions with the defaults', () => {
    const pool = new PairPool();
    expect([pool.size, pool.baseExtension, pool.idWidth]).toEqual([100, 7000, 3]);
    expect(pool.pairIdAt(0)).toBe('pair_001');
    expect(pool.pairIdAt(99)).toBe('pair_100');
    expect(pool.extensionsOf('pair_001')).toEqual({ extA: '7000', extB: '7001' });
    expect(pool.extensionsOf('pair_002')).toEqual({ extA: '7002', extB: '7003' });
    expect(pool.extensionsOf('pair_100')).toEqual({ extA: '7198', extB: '7199' });
    expect(pool.pairOfExtension('7003')).toEqual({ pairId: 'pair_002', side: 'B' });
    expect(pool.pairOfExtension('7198')).toEqual({ pairId: 'pair_100', side: 'A' });
    expect(pool.pairOfExtension('7200')).toBeNull();
    expect(pool.pairOfExtension('6999')).toBeNull();
    expect(pool.pairOfExtension('70a0')).toBeNull();
  });

  it('widens ids once the pool reaches 1000 pairs', () => {
    expect(new PairPool({ size: 999 }).pairIdAt(998)).toBe('pair_999');
    const pool = new PairPool({ size: 1000, baseExtension: 20_000 });
    expect(pool.pairIdAt(0)).toBe('pair_0001');
    expect(pool.pairIdAt(999)).toBe('pair_1000');
    expect(pool.extensionsOf('pair_1000')).toEqual({ extA: '21998', extB: '21999' });
    expect(() => pool.indexOf('pair_001')).toThrow(TypeError);
  });

  it('rejects bad ids with TypeError and out-of-pool ids with RangeError', () => {
    const pool = new PairPool({ size: 10 });
    for (const bad of ['', 'pair_', 'pair_01', 'pair_0001', 'PAIR_001', 'pair_00a', ' pair_001', 'pair_-01', 'pair_1.0']) {
      expect(() => pool.indexOf(bad), bad).toThrow(TypeError);
    }
    expect(() => pool.indexOf('pair_000')).toThrow(RangeError);
    expect(() => pool.indexOf('pair_011')).toThrow(/unknown PAIR_ID "pair_011".*pair_001\.\.pair_010/);
    expect(() => pool.pairIdAt(10)).toThrow(RangeError);
    expect(() => pool.pairIdAt(-1)).toThrow(RangeError);
    expect(pool.tryIndexOf('pair_011')).toBeNull();
    expect(() => new PairPool({ size: 0 })).toThrow(RangeError);
    expect(() => new PairPool({ baseExtension: -1 })).toThrow(RangeError);
  });

  it('indexOf inverts pairIdAt and extensions round-trip, for any pool', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.nat(), (size, base, n) => {
        const pool = new PairPool({ size, baseExtension: base });
        const index = n % size;
        const id = pool.pairIdAt(index);
        expect(pool.indexOf(id)).toBe(index);
        const { extA, extB } = pool.extensionsAt(index);
        expect(pool.pairOfExtension(extA)).toEqual({ pairId: id, side: 'A' });
        expect(pool.pairOfExtension(extB)).toEqual({ pairId: id, side: 'B' });
      }),
    );
  });
});

describe('pair store settings', () => {
  it('fills documented defaults', () => {
    const s = parsePairStoreSettings({});
    expect(s).toMatchObject({
      baseExtension: 7000,
      poolSize: 100,
      leaseTtlMs: 30_000,
      redisKeyPrefix: 'tandem:',
      redisCommandTimeoutMs: 2000,
      suspectCooldownMs: 60_000,
      legBPresence: 'skip-offline',
    });
    expect(s.redisUrl).toBeUndefined();
    // Left to the node, which defaults it to a name a restart keeps (`<hostname>:<ARI app>`).
    expect(s.node).toBeUndefined();
  });

  it('names the offending key', () => {
    const keyOf = (input: unknown): string => {
      try {
        parsePairStoreSettings(input);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).key;
      }
      return 'none';
    };
    expect(keyOf({ poolSize: 0 })).toBe('poolSize');
    expect(keyOf({ poolSize: 2.5 })).toBe('poolSize');
    expect(keyOf({ leaseTtlMs: 'x' })).toBe('leaseTtlMs');
    expect(keyOf({ redisUrl: 'http://x' })).toBe('redisUrl');
    expect(keyOf({ poolsize: 3 })).toBe('poolsize');
    expect(keyOf({ legBPresence: 'sometimes' })).toBe('legBPresence');
    expect(keyOf({ suspectCooldownMs: -1 })).toBe('suspectCooldownMs');
    expect(keyOf({ poolSize: 3 })).toBe('none');
  });

  it('reads the environment', () => {
    const s = pairStoreSettingsFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379', TANDEM_POOL_SIZE: '12', TANDEM_PAIR_BASE: '8000' });
    expect([s.redisUrl, s.poolSize, s.baseExtension]).toEqual(['redis://127.0.0.1:6379', 12, 8000]);
    expect(() => pairStoreSettingsFromEnv({ TANDEM_POOL_SIZE: 'many' })).toThrow(ConfigError);
    const presence = pairStoreSettingsFromEnv({ TANDEM_LEGB_PRESENCE: 'ignore', TANDEM_SUSPECT_COOLDOWN_MS: '0' });
    expect([presence.legBPresence, presence.suspectCooldownMs]).toEqual(['ignore', 0]);
    expect(() => pairStoreSettingsFromEnv({ TANDEM_LEGB_PRESENCE: 'online' })).toThrow(expect.objectContaining({ key: 'TANDEM_LEGB_PRESENCE' }) as Error);
  });

  it('createPairStore picks Redis with a URL and memory without', async () => {
    const memory = createPairStore({ poolSize: 2 });
    expect(memory).toBeInstanceOf(MemoryPairStore);
    expect(memory.pool.size).toBe(2);
    await memory.close();
    const prefix = testPrefix();
    const redis = createPairStore({ redisUrl: 'redis://127.0.0.1:6379', redisKeyPrefix: prefix, poolSize: 2, leaseTtlMs: 5000 });
    expect(redis).toBeInstanceOf(RedisPairStore);
    expect(redis.leaseTtlMs).toBe(5000);
    expect((redis as RedisPairStore).suspectCooldownMs).toBe(60_000);
    expect((createPairStore({ suspectCooldownMs: 0 }) as MemoryPairStore).suspectCooldownMs).toBe(0);
    expect((await redis.allocate()).pairId).toBe('pair_001');
    await redis.close();
    await deletePrefix(prefix);
    expect(() => createPairStore({ poolSize: -1 })).toThrow(ConfigError);
  });
});
