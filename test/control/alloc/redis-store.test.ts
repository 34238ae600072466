import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, InvalidStateError } from '../../../common/src/errors.js';
import { RedisPairStore, StoreUnavailableError } from '../../../control/src/alloc/index.js';
import { pairStoreContract } from './contract.js';
import { REDIS_URL, closedPort, deletePrefix, keysUnder, sleep, testPrefix } from './redis-helpers.js';

pairStoreContract('RedisPairStore', async ({ poolSize, leaseTtlMs, baseExtension, suspectCooldownMs }) => {
  const keyPrefix = testPrefix();
  const store = new RedisPairStore({
    redisUrl: REDIS_URL,
    keyPrefix,
    poolSize,
    leaseTtlMs,
    ...(baseExtension !== undefined && { baseExtension }),
    ...(suspectCooldownMs !== undefined && { suspectCooldownMs }),
  });
  return { store, advance: sleep, cleanup: () => deletePrefix(keyPrefix) };
});

describe('RedisPairStore', () => {
  const prefixes: string[] = [];
  const prefix = (): string => {
    const p = testPrefix();
    prefixes.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(p);
    for (const p of prefixes) expect(await keysUnder(p)).toEqual([]);
  });

  it('keeps every key under its prefix', async () => {
    const keyPrefix = prefix();
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 4, journal: true });
    const a = await store.allocate();
    const b = await store.allocate();
    await store.setEnabled('pair_004', false);
    await store.setReachability({ unreachable: ['pair_003'], markTtlMs: 60_000 });
    expect(await store.release(b.pairId, b.leaseToken, { suspect: true })).toBe(true);
    expect(await keysUnder(keyPrefix)).toEqual([
      `${keyPrefix}pairs:disabled`,
      `${keyPrefix}pairs:journal`,
      `${keyPrefix}pairs:lease:0`,
      `${keyPrefix}pairs:leases`,
      `${keyPrefix}pairs:meta`,
      `${keyPrefix}pairs:parked`,
      `${keyPrefix}pairs:suspect`,
      `${keyPrefix}pairs:unreachable`,
    ]);
    expect(await store.release(a.pairId, a.leaseToken)).toBe(true);
    await store.close();
  });

  it('two nodes agree on an unreachable leg B: what one node writes, the other never hands out', async () => {
    const keyPrefix = prefix();
    const one = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 3, node: 'one' });
    const two = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 3, node: 'two' });
    // Node one follows AMI: 7001 (leg B of pair_001) went offline.
    await one.setReachability({ unreachable: ['pair_001'], markTtlMs: 60_000 });
    const granted = await Promise.all([two.allocate(), two.allocate()]);
    expect(granted.map((s) => s.pairId).sort()).toEqual(['pair_002', 'pair_003']);
    const err: unknown = await one.allocate().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'POOL_EXHAUSTED', leased: 2, unreachable: 1 });
    // Both nodes follow presence and write the same picture: idempotent, no flapping.
    await two.setReachability({ unreachable: ['pair_001'], complete: true, markTtlMs: 60_000 });
    await one.setReachability({ unreachable: ['pair_001'], complete: true, markTtlMs: 60_000 });
    await expect(two.allocate()).rejects.toMatchObject({ code: 'POOL_EXHAUSTED', unreachable: 1 });
    // A pair one node released as suspect is at the back of the line for the other as well.
    expect(await two.release(granted[0]!.pairId, granted[0]!.leaseToken, { suspect: true })).toBe(true);
    expect(await two.release(granted[1]!.pairId, granted[1]!.leaseToken)).toBe(true);
    const next = await one.allocate();
    expect(next.pairId).toBe(granted[1]!.pairId);
    // 7001 registers again: node two hears it, node one hands pair_001 out.
    await two.setReachability({ reachable: ['pair_001'], markTtlMs: 60_000 });
    expect((await one.allocate()).pairId).toBe('pair_001');
    await one.close();
    await two.close();
  });

  it('takes a reachability picture of a whole 10,000-pair pool in one update', async () => {
    const keyPrefix = prefix();
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 10_000 });
    const all = Array.from({ length: 10_000 }, (_, i) => store.pool.pairIdAt(i));
    await store.setReachability({ unreachable: all.slice(0, 9_999), complete: true, markTtlMs: 60_000 });
    expect((await store.allocate()).pairId).toBe('pair_10000');
    expect(await store.allocate().catch((e: unknown) => e)).toMatchObject({ code: 'POOL_EXHAUSTED', leased: 1, unreachable: 9_999 });
    await store.setReachability({ reachable: all.slice(0, 9_999), markTtlMs: 60_000 });
    expect((await store.allocate()).pairId).toBe('pair_00001');
    await store.close();
  });

  it('two stores on one prefix share the pool', async () => {
    const keyPrefix = prefix();
    const one = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 3, node: 'one' });
    const two = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 3, node: 'two' });
    const a = await one.allocate();
    const b = await two.allocate();
    expect([a.pairId, b.pairId]).toEqual(['pair_001', 'pair_002']);
    expect((await one.list()).map((s) => s.node)).toEqual(['one', 'two']);
    expect(await one.release(b.pairId, a.leaseToken)).toBe(false);
    expect(await one.release(b.pairId, b.leaseToken)).toBe(true);
    expect((await two.allocate()).pairId).toBe('pair_002');
    await one.close();
    await two.close();
  });

  it('refuses a prefix that holds a pool of another size or base', async () => {
    const keyPrefix = prefix();
    const first = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 10 });
    await first.ready();
    const other = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 20 });
    const err: unknown = await other.allocate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('poolSize');
    const otherBase = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 10, baseExtension: 9000 });
    await expect(otherBase.ready()).rejects.toMatchObject({ key: 'baseExtension' });
    await Promise.all([first.close(), other.close(), otherBase.close()]);
  });

  it('serves a pool of 10,000 pairs lowest-first', async () => {
    const keyPrefix = prefix();
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 10_000 });
    const first = await Promise.all(Array.from({ length: 200 }, () => store.allocate()));
    expect(first.map((s) => s.pairId).sort()).toEqual(Array.from({ length: 200 }, (_, i) => `pair_${String(i + 1).padStart(5, '0')}`));
    await store.setEnabled('pair_00201', false);
    expect((await store.allocate()).pairId).toBe('pair_00202');
    expect(await store.get('pair_10000')).toBeNull();
    expect(await store.list()).toHaveLength(201);
    await store.close();
  });

  it('uses a shared client without closing it', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(REDIS_URL, { commandTimeout: 2000 });
    const keyPrefix = prefix();
    const store = new RedisPairStore({ client, keyPrefix, poolSize: 2 });
    await store.allocate();
    await store.close();
    expect(await client.zcard(`${keyPrefix}pairs:leases`)).toBe(1);
    client.disconnect();
  });

  it('rejects with STORE_UNAVAILABLE within the timeout when Redis is down, and closes cleanly', async () => {
    const port = await closedPort();
    const store = new RedisPairStore({ redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: prefix(), poolSize: 2, commandTimeoutMs: 500, connectTimeoutMs: 500 });
    // "No hang": a store that waited for Redis would never settle, and vitest's deadline would end the test.
    const err: unknown = await store.allocate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE');
    expect((err as Error).message).toMatch(/Redis unavailable/);
    await expect(store.list()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // Many callers during an outage: all get the clear error, and no listener pile-up.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => store.allocate()));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(results.every((r) => r.status === 'rejected' && (r.reason as StoreUnavailableError).code === 'STORE_UNAVAILABLE')).toBe(true);
    expect(warnings).toEqual([]);
    await store.close();
    await expect(store.get('pair_001')).rejects.toThrow(InvalidStateError);
  });
});
