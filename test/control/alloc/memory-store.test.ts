import { describe, expect, it } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { pairStoreContract } from './contract.js';

pairStoreContract('MemoryPairStore', async ({ poolSize, leaseTtlMs, baseExtension, suspectCooldownMs }) => {
  let now = Date.now();
  const store = new MemoryPairStore({
    poolSize,
    leaseTtlMs,
    ...(baseExtension !== undefined && { baseExtension }),
    ...(suspectCooldownMs !== undefined && { suspectCooldownMs }),
    now: () => now,
  });
  return {
    store,
    advance: async (ms) => {
      now += ms;
    },
    cleanup: async () => undefined,
  };
});

describe('MemoryPairStore', () => {
  it('hands out 10,000 pairs in order and all of them back', async () => {
    const store = new MemoryPairStore({ poolSize: 10_000 });
    const sessions = [];
    for (let i = 0; i < 10_000; i++) sessions.push(await store.allocate());
    expect(sessions[9_999]?.pairId).toBe('pair_10000');
    expect(sessions[0]?.pairId).toBe('pair_00001');
    expect(new Set(sessions.map((s) => s.pairId)).size).toBe(10_000);
    await expect(store.allocate()).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    for (const s of sessions) expect(await store.release(s.pairId, s.leaseToken)).toBe(true);
    expect(await store.list()).toEqual([]);
    await store.close();
  });
});
