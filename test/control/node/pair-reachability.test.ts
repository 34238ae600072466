import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPairStore, type PairStore } from '../../../control/src/alloc/index.js';
import { AmiConnection, PresenceTracker, type AmiConnectionEvents, type PresenceTrackerEvents } from '../../../control/src/ami/index.js';
import { PairReachabilitySync, legBReachable, type PairReachabilitySyncOptions } from '../../../control/src/node/pair-reachability.js';
import type { ExtensionStatus } from '../../../control/src/realtime/presence-store.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { MemoryPresenceStore, nextEvent } from '../ami/support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NUMBERS = ['7000', '7001', '7002', '7003', '7004', '7005'];
const contact = (n: string) => ({ uri: `sip:${n}@127.0.0.1:5${n.slice(1)}`, ip: '127.0.0.1', port: Number(`5${n.slice(1)}`) });

async function allocatedIds(store: PairStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await store.allocate()).pairId);
  return ids;
}

async function releaseAll(store: PairStore): Promise<void> {
  for (const s of await store.list()) await store.release(s.pairId, s.leaseToken);
}

/** Real AMI (simulated Asterisk), a real tracker and presence store, three pairs 7000…7005. */
async function withAmi(policy: PairReachabilitySyncOptions['policy'], registered: readonly string[]) {
  const sim = await AmiSimulator.start({ endpoints: NUMBERS.map((id) => ({ id })) });
  for (const n of registered) sim.register(n, contact(n));
  const ami = new AmiConnection({ port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
  const presence = new MemoryPresenceStore(NUMBERS);
  const tracker = new PresenceTracker({ ami, store: presence });
  const store = new MemoryPairStore({ poolSize: 3, suspectCooldownMs: 600_000 });
  const sync = new PairReachabilitySync({ store, feed: tracker, statuses: presence, link: ami, policy, intervalMs: 600_000 });
  cleanups.push(async () => {
    await sync.close();
    await tracker.close();
    await ami.close();
    await sim.close();
    await store.close();
  });
  sync.start();
  tracker.start();
  const first = nextEvent(sync, 'synced');
  await ami.connect();
  const [report] = await first;
  return { sim, ami, tracker, store, sync, report };
}

describe('leg B presence feeds the pair pool', () => {
  it('maps a status to "may be handed out" per policy', () => {
    const statuses: Array<ExtensionStatus | undefined> = ['online', 'offline', 'unknown', undefined];
    expect(statuses.map((s) => legBReachable(s, 'skip-offline'))).toEqual([true, false, true, true]);
    expect(statuses.map((s) => legBReachable(s, 'require-online'))).toEqual([true, false, false, false]);
  });

  it('skips a pair whose EXT_B went offline, from the first snapshot on, and takes it back when it registers again', async () => {
    // 7001 registered and then went away while Tandem was not listening: the snapshot finds
    // no contact, the stored status says online → offline. 7005 never registered: unknown.
    const { sim, store, sync, report } = await withAmi('skip-offline', ['7000', '7001', '7003']);
    expect(report).toEqual({ unreachable: [] });
    const changed = nextEvent(sync, 'changed');
    sim.unregister('7001');
    expect((await changed)[0]).toEqual({ pairId: 'pair_001', extB: '7001', status: 'offline', reachable: false });
    // Unknown presence (7005) is no reason to skip a pair.
    expect(await allocatedIds(store, 2)).toEqual(['pair_002', 'pair_003']);
    await expect(store.allocate()).rejects.toMatchObject({ code: 'POOL_EXHAUSTED', unreachable: 1 });
    await releaseAll(store);

    // EXT_A going offline is no reason to skip: only leg B is originated. The next change
    // written is 7001's registration.
    sim.unregister('7000');
    const back = nextEvent(sync, 'changed');
    sim.register('7001', contact('7001'));
    expect((await back)[0]).toEqual({ pairId: 'pair_001', extB: '7001', status: 'online', reachable: true });
    expect(await allocatedIds(store, 3)).toEqual(['pair_001', 'pair_002', 'pair_003']);
  });

  it('writes the whole picture after every snapshot: a change missed while AMI was down is caught up', async () => {
    const { sim, ami, store, sync } = await withAmi('skip-offline', ['7001', '7003', '7005']);
    const down = new Promise<void>((resolve) => ami.once('disconnected', () => resolve()));
    sim.dropConnections();
    await down;
    expect(sync.known).toBe(false);
    // While presence is unknown nothing is written.
    expect(await sync.sync()).toBeNull();
    const resynced = nextEvent(sync, 'synced');
    sim.unregister('7003'); // nobody hears this one: AMI is reconnecting
    const [report] = await resynced;
    expect(report).toEqual({ unreachable: ['pair_002'] });
    expect(sync.known).toBe(true);
    expect(await allocatedIds(store, 2)).toEqual(['pair_001', 'pair_003']);
  });

  it('require-online hands out only pairs whose EXT_B is known online', async () => {
    const { store, report } = await withAmi('require-online', ['7003']);
    expect(report).toEqual({ unreachable: ['pair_001', 'pair_003'] });
    expect((await store.allocate()).pairId).toBe('pair_002');
    await expect(store.allocate()).rejects.toMatchObject({ code: 'POOL_EXHAUSTED', unreachable: 2 });
  });

  it('an EXT_B that registers again ends the suspicion of its pair', async () => {
    const { sim, store, sync } = await withAmi('skip-offline', ['7001', '7003', '7005']);
    const a = await store.allocate();
    expect(await store.release(a.pairId, a.leaseToken, { suspect: true })).toBe(true);
    expect((await store.allocate()).pairId).toBe('pair_002');
    await releaseAll(store);
    // The phone registers again from a new address (its old contact is removed first).
    const changes: boolean[] = [];
    const backOnline = new Promise<void>((resolve) =>
      sync.on('changed', (c) => {
        changes.push(c.reachable);
        if (c.reachable) resolve();
      }),
    );
    sim.register('7001', { uri: 'sip:7001@127.0.0.2:5999', ip: '127.0.0.2', port: 5999 });
    await backOnline;
    expect(changes).toEqual([false, true]);
    expect((await store.allocate()).pairId).toBe('pair_001');
  });
});

describe('PairReachabilitySync without AMI', () => {
  /** A fake feed and link, a clock of our own, and stored statuses we control. */
  function setup() {
    let now = Date.now();
    const store = new MemoryPairStore({ poolSize: 3, now: () => now });
    const feed = new TypedEmitter<PresenceTrackerEvents>();
    const link = Object.assign(new TypedEmitter<AmiConnectionEvents>(), { loggedIn: true });
    const rows = new Map<string, ExtensionStatus>(NUMBERS.map((n) => [n, 'online']));
    let gate: { reading: () => void; open: Promise<void> } | null = null;
    const statuses = {
      async statuses(): Promise<Map<string, ExtensionStatus>> {
        const snapshot = new Map(rows);
        if (gate) {
          gate.reading();
          await gate.open;
        }
        return snapshot;
      },
    };
    const sync = new PairReachabilitySync({ store, feed, statuses, link, policy: 'skip-offline', intervalMs: 1000 });
    sync.start();
    cleanups.push(async () => {
      await sync.close();
      await store.close();
    });
    const snapshot = () => feed.safeEmit('snapshot', { online: 0, applied: 0, skipped: 0 });
    const change = (number: string, status: ExtensionStatus) =>
      feed.safeEmit('presence', { number, previous: rows.get(number) ?? 'unknown', status, at: new Date(), ip: null, source: 'ContactStatus' });
    return {
      store,
      feed,
      link,
      rows,
      sync,
      snapshot,
      change,
      advance: (ms: number) => (now += ms),
      /** The next read waits for `open()`; `reading` resolves once it has taken its snapshot. */
      hold: () => {
        let open = (): void => undefined;
        let reading = (): void => undefined;
        const read = new Promise<void>((resolve) => (reading = resolve));
        gate = { reading, open: new Promise<void>((resolve) => (open = resolve)) };
        return {
          reading: read,
          open: () => {
            gate = null;
            open();
          },
        };
      },
    };
  }

  it('writes nothing until a snapshot made presence known', async () => {
    const { store, rows, sync, snapshot, change } = setup();
    rows.set('7001', 'offline');
    change('7001', 'offline');
    expect(await sync.sync()).toBeNull();
    expect((await store.allocate()).pairId).toBe('pair_001');
    await releaseAll(store);
    const synced = nextEvent(sync, 'synced');
    snapshot();
    expect((await synced)[0]).toEqual({ unreachable: ['pair_001'] });
    expect((await store.allocate()).pairId).toBe('pair_002');
  });

  it('a change heard while a full pass reads stale statuses is written after it', async () => {
    const { store, rows, sync, snapshot, change, hold } = setup();
    rows.set('7001', 'offline');
    const first = nextEvent(sync, 'synced');
    snapshot();
    await first;
    // The next pass reads "7001 offline", and is slow to finish...
    const held = hold();
    const pass = sync.sync();
    await held.reading;
    // ...while 7001 registers again: the change must win, not the stale pass.
    rows.set('7001', 'online');
    const changed = nextEvent(sync, 'changed');
    change('7001', 'online');
    held.open();
    expect(await pass).toEqual({ unreachable: ['pair_001'] });
    expect((await changed)[0]).toMatchObject({ pairId: 'pair_001', reachable: true });
    expect((await store.allocate()).pairId).toBe('pair_001');
  });

  it('once AMI is gone, the marks fade after four intervals and every enabled pair is handed out again', async () => {
    const { store, link, rows, sync, snapshot, advance } = setup();
    rows.set('7001', 'offline');
    const first = nextEvent(sync, 'synced');
    snapshot();
    await first;
    link.loggedIn = false;
    link.safeEmit('disconnected', { reason: 'closed', error: null } as never);
    expect(await sync.sync()).toBeNull();
    advance(3_900);
    expect((await store.allocate()).pairId).toBe('pair_002');
    advance(200);
    expect((await store.allocate()).pairId).toBe('pair_001');
  });

  it('a store that fails is reported by sync() and written again by the next pass', async () => {
    const { store, rows, sync, snapshot } = setup();
    const first = nextEvent(sync, 'synced');
    snapshot();
    await first;
    rows.set('7003', 'offline');
    const original = store.setReachability.bind(store);
    store.setReachability = () => Promise.reject(new Error('redis down'));
    await expect(sync.sync()).rejects.toThrow('redis down');
    store.setReachability = original;
    expect(await sync.sync()).toEqual({ unreachable: ['pair_002'] });
    expect(await allocatedIds(store, 2)).toEqual(['pair_001', 'pair_003']);
  });

  it('close is idempotent and stops listening', async () => {
    const { feed, sync } = setup();
    await sync.close();
    await sync.close();
    expect(feed.listenerCount('presence') + feed.listenerCount('snapshot')).toBe(0);
    expect(() => sync.start()).toThrow(/closed/);
  });
});
