import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPairStore, PoolExhaustedError, RedisPairStore } from '../../../control/src/alloc/index.js';
import { PairAvailabilitySync } from '../../../control/src/node/pair-availability.js';
import { ExtensionService, provisionPairs } from '../../../control/src/realtime/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { captureLog } from '../../support/capture-log.js';
import { REDIS_URL, deletePrefix, testPrefix } from '../alloc/redis-helpers.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ migrate: true });
});
afterAll(async () => {
  await db.drop();
});

describe('pair availability follows PJSIP realtime', () => {
  it('never hands out a pair whose extensions are disabled or missing', async () => {
    await provisionPairs(db.pool, { count: 3 }); // 7000..7005
    const service = new ExtensionService(db.pool);
    await service.update('7003', { enabled: false }); // breaks pair_002
    const store = new MemoryPairStore({ poolSize: 4 }); // pair_004 (7006/7007) was never provisioned
    const sync = new PairAvailabilitySync(store, db.pool);
    const report = await sync.sync();
    expect(report).toEqual({ enabled: 2, disabled: ['pair_002', 'pair_004'], changed: ['pair_002', 'pair_004'] });
    const granted = [await store.allocate(), await store.allocate()].map((s) => s.pairId);
    expect(granted).toEqual(['pair_001', 'pair_003']);
    await expect(store.allocate()).rejects.toBeInstanceOf(PoolExhaustedError);

    // Re-enabling the extension brings the pair back on the next pass.
    await service.update('7003', { enabled: true });
    await sync.sync();
    expect((await store.allocate()).pairId).toBe('pair_002');
    await store.close();
  });

  it('with Redis, a pass that changes nothing says nothing; a real change is reported and logged once', async () => {
    await provisionPairs(db.pool, { count: 3 }); // 7000..7005, all enabled
    const service = new ExtensionService(db.pool);
    await service.update('7005', { enabled: true });
    const prefix = testPrefix();
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix: prefix, poolSize: 4 }); // pair_004 never provisioned
    const captured = captureLog();
    const sync = new PairAvailabilitySync(store, db.pool, { log: captured.log });
    try {
      expect(await sync.sync()).toEqual({ enabled: 3, disabled: ['pair_004'], changed: ['pair_004'] });
      expect(captured.lines().map((l) => l.msg)).toEqual(['pairs without ready PJSIP extensions are not handed out']);

      // The periodic pass with nothing changed: no change in Redis, no log line.
      expect(await sync.sync()).toEqual({ enabled: 3, disabled: ['pair_004'], changed: [] });
      expect(await sync.sync()).toMatchObject({ changed: [] });
      expect(captured.lines()).toHaveLength(1);

      await service.update('7005', { enabled: false }); // breaks pair_003
      expect(await sync.sync()).toEqual({ enabled: 2, disabled: ['pair_003', 'pair_004'], changed: ['pair_003'] });
      expect(await sync.sync()).toMatchObject({ changed: [] });
      const lines = captured.lines();
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({ msg: 'pair availability changed with PJSIP realtime', firstDisabled: ['pair_003'], firstEnabled: [], totalDisabled: 2 });
    } finally {
      await service.update('7005', { enabled: true });
      await store.close();
      await deletePrefix(prefix);
    }
  });
});
