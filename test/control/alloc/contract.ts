import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { PoolExhaustedError, type PairStore } from '../../../control/src/alloc/index.js';

export interface StoreUnderTest {
  store: PairStore;
  /** Lets `ms` of lease time pass (a fake clock, or a real wait). */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

export interface StoreOptions {
  poolSize: number;
  leaseTtlMs: number;
  baseExtension?: number;
  suspectCooldownMs?: number;
}

export type StoreFactory = (options: StoreOptions) => Promise<StoreUnderTest>;

/** Long enough that no stall of a busy machine ends a mark or cool-down a test relies on. */
const LONG = 600_000;

async function allocatedIds(store: PairStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await store.allocate()).pairId);
  return ids;
}

async function exhaustion(store: PairStore): Promise<PoolExhaustedError> {
  const err: unknown = await store.allocate().catch((e: unknown) => e);
  if (!(err instanceof PoolExhaustedError)) throw new Error(`expected POOL_EXHAUSTED, got ${String(err)}`);
  return err;
}

/** The behaviour every PairStore must have; run once per implementation. */
export function pairStoreContract(name: string, factory: StoreFactory): void {
  describe(`PairStore contract: ${name}`, () => {
    const opened: StoreUnderTest[] = [];
    const open = async (poolSize = 4, leaseTtlMs = 30_000, baseExtension?: number, suspectCooldownMs?: number): Promise<StoreUnderTest> => {
      const s = await factory({
        poolSize,
        leaseTtlMs,
        ...(baseExtension !== undefined && { baseExtension }),
        ...(suspectCooldownMs !== undefined && { suspectCooldownMs }),
      });
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

    it('never hands out a pair whose leg B is marked unreachable; a held lease is kept', async () => {
      const { store } = await open(3);
      await store.setReachability({ unreachable: ['pair_001'], markTtlMs: LONG });
      const a = await store.allocate();
      expect(a.pairId).toBe('pair_002');
      await store.setReachability({ unreachable: ['pair_002'], markTtlMs: LONG });
      expect((await store.get('pair_002'))?.leaseToken).toBe(a.leaseToken);
      expect(await store.renew(a.pairId, a.leaseToken)).toBe(true);
      expect((await store.allocate()).pairId).toBe('pair_003');
      const err = await exhaustion(store);
      expect(err.code).toBe('POOL_EXHAUSTED');
      // Why: pair_001 is free but unreachable; pair_002 and pair_003 are leased.
      expect([err.leased, err.unreachable]).toEqual([2, 1]);
      expect(err.message).toMatch(/leg B/);
      // Released while its leg B is unreachable, pair_002 stays out of the line.
      expect(await store.release(a.pairId, a.leaseToken)).toBe(true);
      expect((await exhaustion(store)).unreachable).toBe(2);
      // Presence says reachable again: handed out, lowest first.
      await store.setReachability({ reachable: ['pair_002'], markTtlMs: LONG });
      await store.setReachability({ reachable: ['pair_002'], markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_002');
      await store.setReachability({ reachable: ['pair_001'], markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('a complete reachability picture clears every mark it does not list', async () => {
      const { store } = await open(4);
      await store.setReachability({ unreachable: ['pair_001', 'pair_002'], markTtlMs: LONG });
      await store.setReachability({ unreachable: ['pair_003'], complete: true, markTtlMs: LONG });
      expect(await allocatedIds(store, 3)).toEqual(['pair_001', 'pair_002', 'pair_004']);
      expect((await exhaustion(store)).unreachable).toBe(1);
      // Written again by another node (same picture): idempotent.
      await store.setReachability({ unreachable: ['pair_003'], complete: true, markTtlMs: LONG });
      expect((await exhaustion(store)).unreachable).toBe(1);
      await store.setReachability({ complete: true, markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_003');
    });

    it('an unreachable mark nobody writes again fades after its TTL', async () => {
      const { store, advance } = await open(2);
      await store.setReachability({ unreachable: ['pair_001'], markTtlMs: 2000 });
      expect((await store.allocate()).pairId).toBe('pair_002');
      await advance(2500);
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('a disabled pair stays out of the line whatever presence says', async () => {
      const { store } = await open(2);
      await store.setEnabled('pair_001', false);
      await store.setReachability({ reachable: ['pair_001'], markTtlMs: LONG });
      await store.setReachability({ unreachable: ['pair_001'], markTtlMs: LONG });
      await store.setReachability({ complete: true, markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_002');
      const err = await exhaustion(store);
      expect([err.leased, err.unreachable]).toEqual([1, 0]);
      await store.setEnabled('pair_001', true);
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('validates reachability updates', async () => {
      const { store } = await open(2);
      await expect(store.setReachability({ unreachable: ['pair_003'], markTtlMs: LONG })).rejects.toThrow(RangeError);
      await expect(store.setReachability({ reachable: ['pair_x'], markTtlMs: LONG })).rejects.toThrow(TypeError);
      await expect(store.setReachability({ unreachable: ['pair_001'], reachable: ['pair_001'], markTtlMs: LONG })).rejects.toThrow(TypeError);
      await expect(store.setReachability({ unreachable: ['pair_001'], markTtlMs: 0 })).rejects.toThrow(RangeError);
      // Nothing was applied by the refused updates.
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('a pair released as suspect goes to the back of the line until its cool-down ends', async () => {
      const { store } = await open(3, 30_000, undefined, LONG);
      const a = await store.allocate();
      expect(await store.release(a.pairId, a.leaseToken, { suspect: true })).toBe(true);
      // Not the head of the line any more: the reachable pairs go first.
      expect(await allocatedIds(store, 2)).toEqual(['pair_002', 'pair_003']);
      // Only when nothing else is free, the suspect pair is tried again.
      const again = await store.allocate();
      expect(again.pairId).toBe('pair_001');
      await exhaustion(store);
      // A plain release puts it back in line normally.
      expect(await store.release(again.pairId, again.leaseToken)).toBe(true);
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('of several suspect pairs, the one suspected longest ago is tried first', async () => {
      const { store, advance } = await open(3, 30_000, undefined, LONG);
      const [a, b] = [await store.allocate(), await store.allocate()];
      expect(await store.release(b.pairId, b.leaseToken, { suspect: true })).toBe(true);
      await advance(20);
      expect(await store.release(a.pairId, a.leaseToken, { suspect: true })).toBe(true);
      expect(await allocatedIds(store, 3)).toEqual(['pair_003', 'pair_002', 'pair_001']);
    });

    it('a suspect pair is back at its place once its cool-down ends', async () => {
      const { store, advance } = await open(2, 30_000, undefined, 300);
      const a = await store.allocate();
      expect(await store.release(a.pairId, a.leaseToken, { suspect: true })).toBe(true);
      await advance(450);
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('presence saying leg B is reachable ends a suspicion; enabling an enabled pair does not', async () => {
      const { store } = await open(2, 30_000, undefined, LONG);
      const a = await store.allocate();
      expect(await store.release(a.pairId, a.leaseToken, { suspect: true })).toBe(true);
      // The periodic availability pass enables every ready pair again: no news about leg B.
      await store.setEnabled('pair_001', true);
      await store.setReachability({ unreachable: [], complete: true, markTtlMs: LONG });
      const b = await store.allocate();
      expect(b.pairId).toBe('pair_002');
      expect(await store.release(b.pairId, b.leaseToken)).toBe(true);
      await store.setReachability({ reachable: ['pair_001'], markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('a suspect pair whose leg B turns unreachable waits for presence, not for its cool-down', async () => {
      const { store } = await open(2, 30_000, undefined, LONG);
      const a = await store.allocate();
      expect(await store.release(a.pairId, a.leaseToken, { suspect: true })).toBe(true);
      await store.setReachability({ unreachable: ['pair_001'], markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_002');
      expect((await exhaustion(store)).unreachable).toBe(1);
      // Reachable again (a fresh registration): a fresh start, at the head of the line.
      await store.setReachability({ unreachable: [], complete: true, markTtlMs: LONG });
      expect((await store.allocate()).pairId).toBe('pair_001');
    });

    it('leases carry their owner: api unless the caller says call', async () => {
      const { store } = await open(3);
      const api = await store.allocate();
      const call = await store.allocate({ owner: 'call' });
      const explicit = await store.allocate({ owner: 'api' });
      expect([api.owner, call.owner, explicit.owner]).toEqual(['api', 'call', 'api']);
      expect((await store.list()).map((s) => s.owner)).toEqual(['api', 'call', 'api']);
      expect((await store.get(call.pairId))?.owner).toBe('call');
      await expect(store.allocate({ owner: 'robot' as 'api' })).rejects.toThrow(TypeError);
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

    it('list returns the lease table in pair order; get returns one or null', async () => {
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
