import { beforeEach, describe, expect, it } from 'vitest';
import { PgPresenceStore } from '../../../control/src/realtime/presence-store.js';
import { ExtensionService } from '../../../control/src/realtime/extension-service.js';
import { InvalidStateError } from '../../../common/src/errors.js';
import { psRows, useTestDb } from './pg-test-db.js';

describe('PgPresenceStore', () => {
  const db = useTestDb({ emptyBeforeEach: true });
  let store: PgPresenceStore;
  let svc: ExtensionService;
  const t0 = new Date('2026-11-23T01:00:00.000Z');
  const at = (s: number): Date => new Date(t0.getTime() + s * 1000);

  beforeEach(async () => {
    svc = new ExtensionService(db.pool);
    store = new PgPresenceStore(db.pool);
    await svc.create({ number: '1001', password: 'Xk9-pQ2!vL' });
  });

  it('online sets status, time and IP; offline keeps the last registration', async () => {
    const ps = await psRows(db.pool, '1001');
    const change = await store.apply({ number: '1001', status: 'online', at: at(1), ip: '192.0.2.10', source: 'ContactStatus' });
    expect(change).toEqual({ number: '1001', previous: 'unknown', status: 'online', at: at(1), ip: '192.0.2.10', source: 'ContactStatus' });
    expect(await svc.get('1001')).toMatchObject({ status: 'online', lastRegisteredAt: at(1), lastRegisteredIp: '192.0.2.10' });

    const off = await store.apply({ number: '1001', status: 'offline', at: at(5), ip: null, source: 'ContactStatus' });
    expect(off).toMatchObject({ previous: 'online', status: 'offline', at: at(5) });
    expect(await svc.get('1001')).toMatchObject({ status: 'offline', lastRegisteredAt: at(1), lastRegisteredIp: '192.0.2.10' });
    expect(await store.statuses()).toEqual(new Map([['1001', 'offline']]));
    // presence never touches what Asterisk reads
    expect(await psRows(db.pool, '1001')).toEqual(ps);
  });

  it('ignores an older event arriving after a newer one', async () => {
    await store.apply({ number: '1001', status: 'offline', at: at(10), ip: null, source: 'ContactStatus' });
    const stale = await store.apply({ number: '1001', status: 'online', at: at(3), ip: '192.0.2.99', source: 'snapshot' });
    expect(stale).toBeNull();
    expect(await svc.get('1001')).toMatchObject({ status: 'offline', lastRegisteredAt: null, lastRegisteredIp: null });
  });

  it('returns null when nothing changed, a change when only the IP moved', async () => {
    await store.apply({ number: '1001', status: 'online', at: at(1), ip: '192.0.2.10', source: 'ContactStatus' });
    expect(await store.apply({ number: '1001', status: 'online', at: at(1), ip: '192.0.2.10', source: 'ContactStatus' })).toBeNull();
    // a snapshot of an already-online contact is not a new registration
    expect(await store.apply({ number: '1001', status: 'online', at: at(2), ip: '192.0.2.10', source: 'snapshot' })).toBeNull();
    expect((await svc.get('1001'))?.lastRegisteredAt).toEqual(at(1));
    const moved = await store.apply({ number: '1001', status: 'online', at: at(3), ip: '198.51.100.7', source: 'ContactStatus' });
    expect(moved).toMatchObject({ previous: 'online', status: 'online', ip: '198.51.100.7' });
    // a DeviceStateChange carries no IP: the known one stays
    expect((await svc.get('1001'))?.lastRegisteredAt).toEqual(at(3));
    await store.apply({ number: '1001', status: 'online', at: at(4), ip: null, source: 'DeviceStateChange' });
    expect((await svc.get('1001'))?.lastRegisteredIp).toBe('198.51.100.7');
    // a device going INUSE during a call is not a registration: the time stays
    expect((await svc.get('1001'))?.lastRegisteredAt).toEqual(at(3));
  });

  it('unknown numbers give null and write nothing', async () => {
    expect(await store.apply({ number: '9999', status: 'online', at: at(1), ip: '192.0.2.1', source: 'ContactStatus' })).toBeNull();
    expect(await store.statuses()).toEqual(new Map([['1001', 'unknown']]));
  });

  it('rejects malformed updates and use after close', async () => {
    await expect(store.apply({ number: '1001', status: 'online', at: new Date('nope'), ip: null, source: 'snapshot' })).rejects.toBeInstanceOf(
      TypeError,
    );
    store.close();
    store.close();
    expect(store.closed).toBe(true);
    await expect(store.statuses()).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('concurrent events for one number settle on the newest', async () => {
    const events = Array.from({ length: 20 }, (_, i) => ({
      number: '1001',
      status: (i % 2 === 0 ? 'online' : 'offline') as 'online' | 'offline',
      at: at(i),
      ip: `192.0.2.${i + 1}`,
      source: 'ContactStatus' as const,
    }));
    // deliver in a shuffled order over several connections
    const order = [7, 19, 3, 12, 0, 15, 8, 1, 18, 4, 11, 6, 16, 2, 9, 14, 5, 17, 10, 13];
    const stores = [store, new PgPresenceStore(db.openPool()), new PgPresenceStore(db.openPool())];
    await Promise.all(order.map((i, k) => stores[k % stores.length]!.apply(events[i]!)));
    expect(await svc.get('1001')).toMatchObject({ status: 'offline' });
    const r = await db.pool.query<{ status_at: Date }>(`SELECT status_at FROM extensions WHERE number = '1001'`);
    expect(r.rows[0]?.status_at).toEqual(at(19));
  });
});
