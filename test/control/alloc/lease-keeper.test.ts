import { afterAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { LeaseKeeper, MemoryPairStore, RedisPairStore, type LostLease, type PairStore } from '../../../control/src/alloc/index.js';
import { REDIS_URL, deletePrefix, sleep, testPrefix } from './redis-helpers.js';
import { TcpProxy } from './tcp-proxy.js';

function fakeClockStore(ttl = 1000): { store: MemoryPairStore; advance: (ms: number) => void } {
  let now = Date.now();
  return { store: new MemoryPairStore({ poolSize: 3, leaseTtlMs: ttl, now: () => now }), advance: (ms) => (now += ms) };
}

describe('LeaseKeeper', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(p);
  });

  it('renews what it allocated, so the lease outlives its TTL', async () => {
    const { store, advance } = fakeClockStore(1000);
    const keeper = new LeaseKeeper(store, { intervalMs: 60_000 });
    const s = await keeper.allocate();
    expect(keeper.held.get(s.pairId)).toBe(s.leaseToken);
    for (let i = 0; i < 5; i++) {
      advance(600);
      await keeper.renewNow();
    }
    expect((await store.get(s.pairId))?.leaseToken).toBe(s.leaseToken);
    expect(await keeper.release(s.pairId)).toBe(true);
    expect(keeper.held.size).toBe(0);
    expect(await store.get(s.pairId)).toBeNull();
    await keeper.close();
    await store.close();
  });

  it('reports a lease it lost and stops renewing it', async () => {
    const { store, advance } = fakeClockStore(1000);
    const keeper = new LeaseKeeper(store, { intervalMs: 60_000 });
    const lost: LostLease[] = [];
    keeper.on('lost', (l) => lost.push(l));
    const a = await keeper.allocate();
    const b = await keeper.allocate();
    advance(1500);
    // a new holder takes pair_001 after the lapse; b is merely expired
    const other = await store.allocate();
    expect(other.pairId).toBe('pair_001');
    await keeper.renewNow();
    expect(lost).toEqual([
      { pairId: a.pairId, leaseToken: a.leaseToken },
      { pairId: b.pairId, leaseToken: b.leaseToken },
    ]);
    expect(keeper.held.size).toBe(0);
    expect((await store.get('pair_001'))?.leaseToken).toBe(other.leaseToken);
    await keeper.close();
    await store.close();
  });

  it('keeps leases through failed rounds and reports each failure', async () => {
    const { store } = fakeClockStore(1000);
    let failing = true;
    const flaky: PairStore = {
      pool: store.pool,
      leaseTtlMs: store.leaseTtlMs,
      get closed() {
        return store.closed;
      },
      allocate: (req) => store.allocate(req),
      release: (id, token, options) => store.release(id, token, options),
      renew: (id, token) => (failing ? Promise.reject(new Error('redis down')) : store.renew(id, token)),
      setState: (id, token, state) => store.setState(id, token, state),
      get: (id) => store.get(id),
      list: () => store.list(),
      setEnabled: (id, enabled) => store.setEnabled(id, enabled),
      setReachability: (update) => store.setReachability(update),
      close: () => store.close(),
    };
    const keeper = new LeaseKeeper(flaky, { intervalMs: 60_000 });
    const failures: Error[] = [];
    const lost: LostLease[] = [];
    keeper.on('renewfailed', (e) => failures.push(e));
    keeper.on('lost', (l) => lost.push(l));
    const s = await keeper.allocate();
    await keeper.renewNow();
    await keeper.renewNow();
    expect(failures.map((e) => e.message)).toEqual(['redis down', 'redis down']);
    expect(keeper.held.has(s.pairId)).toBe(true);
    failing = false;
    await keeper.renewNow();
    expect(failures).toHaveLength(2);
    expect(lost).toEqual([]);
    await keeper.close();
    await store.close();
  });

  it('renews on its own timer (real Redis), and the lease lapses once it stops', async () => {
    const keyPrefix = testPrefix();
    prefixes.push(keyPrefix);
    // The TTL is long enough that a stalled event loop on a busy box (seconds) does not
    // let the lease lapse before the first renewal (TTL/3); nothing here asserts a speed.
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix, poolSize: 2, leaseTtlMs: 3000 });
    const keeper = new LeaseKeeper(store);
    const s = await keeper.allocate();
    const expiresAt = async (): Promise<number | null> => {
      const lease = await store.get(s.pairId);
      return lease === null ? null : Date.parse(lease.leaseExpiresAt);
    };
    const granted = await expiresAt();
    expect(granted).not.toBeNull();
    // Nobody but the keeper's timer renews: the expiry moving later is its renewal.
    let renewed: number | null = granted;
    for (let i = 0; i < 300 && renewed === granted; i++) {
      await sleep(100);
      renewed = await expiresAt();
    }
    expect(renewed).toBeGreaterThan(granted!);
    expect((await store.get(s.pairId))?.leaseToken).toBe(s.leaseToken);
    await keeper.close();
    // No longer renewed: the lease lapses (it would stay forever if anything still renewed it).
    let lapsed = false;
    for (let i = 0; i < 300 && !lapsed; i++) {
      await sleep(100);
      lapsed = (await store.get(s.pairId)) === null;
    }
    expect(lapsed).toBe(true);
    await store.close();
  });

  it('rides out a Redis outage: operations fail fast, renewals resume when Redis returns', async () => {
    const keyPrefix = testPrefix();
    prefixes.push(keyPrefix);
    const proxy = new TcpProxy(6379);
    await proxy.start();
    const store = new RedisPairStore({
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix,
      poolSize: 2,
      leaseTtlMs: 10_000,
      // Short enough that the outage shows quickly, long enough that a busy box's slow round trip is not one.
      commandTimeoutMs: 2000,
      connectTimeoutMs: 2000,
    });
    const keeper = new LeaseKeeper(store, { intervalMs: 60_000 });
    const failures: Error[] = [];
    keeper.on('renewfailed', (e) => failures.push(e));
    try {
      const s = await keeper.allocate();
      await proxy.stop();
      await keeper.renewNow();
      expect(failures.length).toBe(1);
      expect(failures[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(store.allocate()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await proxy.start();
      let renewed = false;
      for (let i = 0; i < 100 && !renewed; i++) {
        await sleep(100);
        renewed = await store.renew(s.pairId, s.leaseToken).catch(() => false);
      }
      expect(renewed).toBe(true);
      await keeper.renewNow();
      expect(keeper.held.get(s.pairId)).toBe(s.leaseToken);
      // pair_002, not exhausted: the allocate that timed out during the outage never ran later.
      expect((await store.allocate()).pairId).toBe('pair_002');
    } finally {
      await keeper.close();
      await store.close();
      await proxy.stop();
    }
  });

  it('close is idempotent; a closed keeper refuses to allocate', async () => {
    const { store } = fakeClockStore();
    const keeper = new LeaseKeeper(store);
    await keeper.allocate();
    await keeper.close();
    await keeper.close();
    expect(keeper.closed).toBe(true);
    expect(keeper.held.size).toBe(0);
    await expect(keeper.allocate()).rejects.toThrow(InvalidStateError);
    expect(() => keeper.track('pair_002', 'x')).toThrow(InvalidStateError);
    await store.close();
  });
});
