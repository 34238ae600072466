import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../engine/src/common/errors.js';
import { PoolExhaustedError, type PairStore } from '../../../control/src/alloc/index.js';

export interface StoreUnderTest {
  store: PairStore;
  /** Lets `ms` of lease time pass (a fake clock, or a real wait). */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

export type StoreFactory = (options: { poolSize: number; leaseTtlMs: number; baseExtension?: number }) => Promise<StoreUnderTest>;

/** The behaviour every PairStore must have; run once per implementation. */
export function pairStoreContract(name: string, factory: StoreFactory): void {
  describe(`PairStore contract: ${name}`, () => {
    const opened: StoreUnderTest[] = [];
    const open = async (poolSize = 4, leaseTtlMs = 30_000, baseExtension?: number): Promise<StoreUnderTest> => {
      const s = await factory({ poolSize, leaseTtlMs, ...(baseExtension !== undefined && { baseExtension }) });
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) {
        await s.store.close();
        await s.cleanup();
      }
    });

    it('allocates the lowest free pair with its extensions and a session record', async () => {
      const { store } = await open(4);
      const before = Date.now();
      const a = await store.allocate({ callerId: '+15551234', node: 'node-x' });
      expect(a.pairId).toBe('pair_001');
      expect([a.extA, a.extB]).toEqual(['7000', '7001']);
      expect(a.state).toBe('allocated');
      expect(a.callerId).toBe('+15551234');
      expect(a.node).toBe('node-x');
      expect(a.leaseToken).toMatch(/^[0-9a-f]{32}$/);
      expect(Date.parse(a.assignedAt)).toBeGreaterThanOrEqual(before - 5000);
      expect(Date.parse(a.leaseExpiresAt) - Date.parse(a.assignedAt)).toBe(30_000);
      const b = await store.allocate();
      expect(b.pairId).toBe('pair_002');
      expect([b.extA, b.extB]).toEqual(['7002', '7003']);
      expect(b.callerId).toBeNull();
      expect(b.leaseToken).not.toBe(a.leaseToken);
      // Freeing the lowest makes it the next one handed out.
      expect(await store.release(a.pairId, a.leaseToken)).toBe(true);
      expect((await store.allocate()).pairId).toBe('pair_001');
      expect((await store.allocate()).pairId).toBe('pair_003');
    });

    it('honours a configured base extension', async () => {
      const { store } = await open(3, 30_000, 8100);
      const a = await store.allocate();
      const b = await store.allocate();
      expect([a.extA, a.extB, b.extA, b.extB]).toEqual(['8100', '8101', '8102', '8103']);
    });

    it('rejects with POOL_EXHAUSTED when every pair is leased', async () => {
      const { store } = await open(2);
      await store.allocate();
      await store.allocate();
      const err: unknown = await store.allocate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PoolExhaustedError);
      expect((err as PoolExhaustedError).code).toBe('POOL_EXHAUSTED');
      expect(await store.list()).toHaveLength(2);
    });

    it('refuses release with a wrong token and changes nothing', async () => {
      const { store } = await open(2);
      const a = await store.allocate();
      expect(await store.release(a.pairId, 'f'.repeat(32))).toBe(false);
      expect((await store.get(a.pairId))?.leaseToken).toBe(a.leaseToken);
      expect((await store.allocate()).pairId).toBe('pair_002');
    });

    it('release is idempotent, and a stale holder cannot free a re-assigned pair', async () => {
      const { store } = await open(1);
      const first = await store.allocate();
      expect(await store.release(first.pairId, first.leaseToken)).toBe(true);
      expect(await store.release(first.pairId, first.leaseToken)).toBe(true);
      expect(await store.get(first.pairId)).toBeNull();
      const second = await store.allocate();
      expect(second.pairId).toBe(first.pairId);
      expect(await store.release(first.pairId, first.leaseToken)).toBe(false);
      expect((await store.get(second.pairId))?.leaseToken).toBe(second.leaseToken);
    });

    it('renew extends the lease and needs the right token', async () => {
      const { store, advance } = await open(2, 1000);
      const a = await store.allocate();
      expect(await store.renew(a.pairId, 'f'.repeat(32))).toBe(false);
      await advance(600);
      expect(await store.renew(a.pairId, a.leaseToken)).toBe(true);
      const renewed = await store.get(a.pairId);
      expect(Date.parse(renewed?.leaseExpiresAt ?? '')).toBeGreaterThan(Date.parse(a.leaseExpiresAt));
      await advance(600);
      // 1200 ms after allocation, past the original expiry, still held thanks to the renewal.
      expect((await store.get(a.pairId))?.leaseToken).toBe(a.leaseToken);
      expect((await store.allocate()).pairId).toBe('pair_002');
      expect(await store.release(a.pairId, a.leaseToken)).toBe(true);
      expect(await store.renew(a.pairId, a.leaseToken)).toBe(false);
    });

    it('an expired lease frees the pair: not renewable, handed out again', async () => {
      const { store, advance } = await open(1, 300);
      const a = await store.allocate();
      await advance(450);
      expect(await store.get(a.pairId)).toBeNull();
      expect(await store.list()).toEqual([]);
      expect(await store.renew(a.pairId, a.leaseToken)).toBe(false);
      const b = await store.allocate();
      expect(b.pairId).toBe('pair_001');
      expect(b.leaseToken).not.toBe(a.leaseToken);
      expect(await store.release(a.pairId, a.leaseToken)).toBe(false);
    });

    it('setEnabled(false) skips a pair; a held pair stays held until released', async () => {
      const { store } = await open(3);
      await store.setEnabled('pair_001', false);
      const a = await store.allocate();
      expect(a.pairId).toBe('pair_002');
      await store.setEnabled('pair_002', false);
      expect((await store.get('pair_002'))?.leaseToken).toBe(a.leaseToken);
      expect(await store.release(a.pairId, a.leaseToken)).toBe(true);
      expect((await store.allocate()).pairId).toBe('pair_003');
      const err: unknown = await store.allocate().catch((e: unknown) => e);
      expect((err as PoolExhaustedError).code).toBe('POOL_EXHAUSTED');
      expect(await store.setEnabled('pair_002', true)).toBe(true);
      expect(await store.setEnabled('pair_002', true)).toBe(false); // already enabled: no change to report
      expect(await store.setEnabled('pair_003', false)).toBe(true);
      expect(await store.setEnabled('pair_003', false)).toBe(false);
      expect((await store.allocate()).pairId).toBe('pair_002');
    });

    it('setState changes the state of a held lease only', async () => {
      const { store } = await open(2);
      const a = await store.allocate();
      expect(await store.setState(a.pairId, a.leaseToken, 'active')).toBe(true);
      expect((await store.get(a.pairId))?.state).toBe('active');
      expect(await store.setState(a.pairId, 'f'.repeat(32), 'releasing')).toBe(false);
      expect((await store.get(a.pairId))?.state).toBe('active');
      await expect(store.setState(a.pairId, a.leaseToken, 'free')).rejects.toThrow(TypeError);
      expect(await store.setState('pair_002', a.leaseToken, 'active')).toBe(false);
    });

    it('list returns the session table in pair order; get returns one or null', async () => {
      const { store } = await open(5);
      const sessions = [];
      for (let i = 0; i < 4; i++) sessions.push(await store.allocate({ callerId: `c${i}` }));
      expect(await store.release('pair_002', sessions[1]?.leaseToken ?? '')).toBe(true);
      const list = await store.list();
      expect(list.map((s) => s.pairId)).toEqual(['pair_001', 'pair_003', 'pair_004']);
      expect(list.map((s) => s.callerId)).toEqual(['c0', 'c2', 'c3']);
      expect(list[1]).toEqual(sessions[2]);
      expect(await store.get('pair_003')).toEqual(sessions[2]);
      expect(await store.get('pair_005')).toBeNull();
    });

    it('rejects malformed and unknown PAIR_IDs with TypeError / RangeError', async () => {
      const { store } = await open(5);
      await expect(store.get('pair_1')).rejects.toThrow(TypeError);
      await expect(store.get('bridge_001')).rejects.toThrow(TypeError);
      await expect(store.get('pair_006')).rejects.toThrow(RangeError);
      await expect(store.get('pair_000')).rejects.toThrow(RangeError);
      await expect(store.release('pair_009', 'x')).rejects.toThrow(RangeError);
      await expect(store.setEnabled('pair_x', true)).rejects.toThrow(TypeError);
      await expect(store.release('pair_001', '')).rejects.toThrow(TypeError);
    });

    it('close is idempotent and use after close throws InvalidStateError', async () => {
      const { store } = await open(2);
      await store.allocate();
      expect(store.closed).toBe(false);
      await store.close();
      await store.close();
      expect(store.closed).toBe(true);
      await expect(store.allocate()).rejects.toThrow(InvalidStateError);
      await expect(store.list()).rejects.toThrow(InvalidStateError);
    });
  });
}
