import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPairStore, PoolExhaustedError } from '../../../control/src/alloc/index.js';
import { PairAvailabilitySync } from '../../../control/src/node/pair-availability.js';
import { ExtensionService, provisionPairs } from '../../../control/src/realtime/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';

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
    expect(report).toEqual({ enabled: 2, disabled: ['pair_002', 'pair_004'] });
    const granted = [await store.allocate(), await store.allocate()].map((s) => s.pairId);
    expect(granted).toEqual(['pair_001', 'pair_003']);
    await expect(store.allocate()).rejects.toBeInstanceOf(PoolExhaustedError);

    // Re-enabling the extension brings the pair back on the next pass.
    await service.update('7003', { enabled: true });
    await sync.sync();
    expect((await store.allocate()).pairId).toBe('pair_002');
    await store.close();
  });
});
