import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmiConnection,
  AmiPresenceService,
  PresencePublisher,
  PresenceTracker,
  decodePresenceChange,
  parseAmiEvent,
  parseAmiMessage,
  type AmiActionResult,
  type AmiEvent,
  type AmiConnectionEvents,
  type PresenceAmiSource,
} from '../../../control/src/ami/index.js';
import type { PresenceChange } from '../../../control/src/realtime/presence-store.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { MemoryPresenceStore, nextEvent, recordedMessages, waitFor } from './support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const REDIS = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, connectTimeout: 5000 };

async function setup() {
  const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }, { id: '7001' }, { id: '7002' }], failedLoginDelayMs: 50 });
  const ami = new AmiConnection({ port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0, backoff: { initialDelayMs: 20, maxDelayMs: 100 } });
  const store = new MemoryPresenceStore(['7000', '7001', '7002']);
  const prefix = `tandem-test-${randomBytes(6).toString('hex')}:`;
  const pub = new Redis(REDIS);
  const sub = new Redis(REDIS);
  const publisher = new PresencePublisher({ redis: pub, prefix });
  const redisMessages: PresenceChange[] = [];
  sub.on('message', (channel: string, message: string) => {
    if (channel === publisher.channel) redisMessages.push(decodePresenceChange(message));
  });
  await sub.subscribe(publisher.channel);
  const tracker = new PresenceTracker({ ami, store, sink: publisher });
  const changes: PresenceChange[] = [];
  tracker.on('presence', (c) => changes.push(c));
  cleanups.push(async () => {
    await tracker.close();
    publisher.close();
    await ami.close();
    await sim.close();
    await sub.unsubscribe();
    // Pub/sub creates no keys; nothing under the prefix to delete.
    await Promise.all([sub.quit(), pub.quit()]);
  });
  tracker.start();
  const firstSnapshot = nextEvent(tracker, 'snapshot');
  await ami.connect();
  await firstSnapshot;
  return { sim, ami, store, tracker, changes, redisMessages, publisher };
}

const REG = { uri: 'sip:7000@127.0.0.5:5086;transport=udp', ip: '127.0.0.1', port: 5085, userAgent: 'sipp-tnd-7000' };

describe('PresenceTracker against the AMI simulator, Redis on 127.0.0.1', () => {
  it('register → online with time and the IP from the contact URI; broadcast on the emitter and Redis', async () => {
    const { sim, store, changes, redisMessages, tracker } = await setup();
    const before = Date.now();
    sim.register('7000', REG);
    await waitFor(() => redisMessages.length >= 1, 'Redis presence message');
    await tracker.idle();
    const row = store.rows.get('7000');
    expect(row?.status).toBe('online');
    expect(row?.lastRegisteredIp).toBe('127.0.0.5');
    expect(row?.lastRegisteredAt?.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ number: '7000', previous: 'unknown', status: 'online', ip: '127.0.0.5', source: 'ContactStatus' });
    expect(redisMessages).toEqual(changes);
    // NonQualified then Reachable then NOT_INUSE: one change, the rest deduplicated.
    expect(store.updates.filter((u) => u.number === '7000')).toHaveLength(1);
  });

  it('qualify timeout → offline; restored → online; unregister → offline', async () => {
    const { sim, store, changes, redisMessages, tracker } = await setup();
    sim.register('7000', REG);
    await waitFor(() => changes.length === 1, 'online');
    sim.qualifyTimeout('7000');
    await waitFor(() => changes.length === 2, 'offline after qualify timeout');
    expect(changes[1]).toMatchObject({ number: '7000', previous: 'online', status: 'offline', source: 'ContactStatus' });
    sim.qualifyRestored('7000');
    await waitFor(() => changes.length === 3, 'online again');
    expect(changes[2]).toMatchObject({ status: 'online', ip: '127.0.0.5' });
    sim.unregister('7000');
    await waitFor(() => changes.length === 4, 'offline after unregister');
    // The recorded unregister starts with DeviceStateChange UNAVAILABLE.
    expect(changes[3]).toMatchObject({ number: '7000', previous: 'online', status: 'offline', source: 'DeviceStateChange' });
    await tracker.idle();
    expect(store.rows.get('7000')?.status).toBe('offline');
    await waitFor(() => redisMessages.length === 4, 'all four on Redis');
    expect(redisMessages.map((m) => m.status)).toEqual(['online', 'offline', 'online', 'offline']);
  });

  it('AMI drop and reconnect: the snapshot recovers a registration and an unregistration missed while disconnected', async () => {
    const { sim, ami, store, changes, tracker } = await setup();
    sim.register('7000', REG);
    await waitFor(() => store.rows.get('7000')?.status === 'online', '7000 online');
    const disconnected = nextEvent<AmiConnectionEvents, 'disconnected'>(ami, 'disconnected');
    const snapshot = nextEvent(tracker, 'snapshot');
    sim.dropConnections();
    // No session is logged in at this instant, so these events are lost, as they would be on a real cut.
    sim.register('7001', { uri: 'sip:7001@127.0.0.7:5080', ip: '127.0.0.1', port: 5080 });
    sim.unregister('7000');
    await disconnected;
    const [result] = await snapshot;
    await tracker.idle();
    expect(store.rows.get('7001')).toMatchObject({ status: 'online', lastRegisteredIp: '127.0.0.7' });
    expect(store.rows.get('7000')?.status).toBe('offline');
    expect(store.rows.get('7002')?.status).toBe('unknown');
    expect(result).toMatchObject({ online: 1, applied: 2 });
    const bySnapshot = changes.filter((c) => c.source === 'snapshot');
    expect(bySnapshot.map((c) => [c.number, c.status]).sort()).toEqual([
      ['7000', 'offline'],
      ['7001', 'online'],
    ]);
  });

  it('a store failure is reported and the next event is still applied', async () => {
    const { sim, store, tracker } = await setup();
    const errors: Error[] = [];
    tracker.on('error', (e) => errors.push(e));
    store.failNext = 1;
    sim.register('7000', REG);
    await waitFor(() => errors.length === 1, 'store error reported');
    await tracker.idle();
    // The failed NonQualified update was not remembered, so the following Reachable one is applied.
    expect(store.rows.get('7000')?.status).toBe('online');
    expect(tracker.stats.storeErrors).toBe(1);
  });

  it('events for numbers the store does not know change nothing and broadcast nothing', async () => {
    const { sim, changes, tracker } = await setup();
    sim.addEndpoint({ id: '9999' });
    sim.register('9999', { uri: 'sip:9999@127.0.0.9:5000', ip: '127.0.0.1', port: 5000 });
    await waitFor(() => tracker.stats.eventsHandled >= 2, 'events handled');
    await tracker.idle();
    expect(changes).toEqual([]);
  });

  it('close() stops tracking and leaves the connection usable', async () => {
    const { sim, ami, tracker, changes } = await setup();
    await tracker.close();
    await tracker.close();
    expect(tracker.closed).toBe(true);
    sim.register('7000', REG);
    expect((await ami.action('Ping')).response.get('Ping')).toBe('Pong');
    expect(changes).toEqual([]);
    await expect(tracker.snapshot()).rejects.toThrow(/closed/);
  });
});

/** A hand-driven AMI source: the test decides when PJSIPShowContacts answers. */
class FakeAmi extends TypedEmitter<AmiConnectionEvents> implements PresenceAmiSource {
  loggedIn = true;
  answer: ((r: AmiActionResult) => void) | null = null;
  action(): Promise<AmiActionResult> {
    return new Promise((resolve) => {
      this.answer = resolve;
    });
  }
}

function contactList(endpoint: string, uri: string, status: string) {
  return parseAmiMessage(
    `Event: ContactList\r\nActionID: x\r\nObjectType: contact\r\nObjectName: ${endpoint};@h\r\nViaAddr: 127.0.0.1\r\nEndpoint: ${endpoint}\r\nViaPort: 5085\r\nUri: ${uri}\r\nStatus: ${status}\r\nRoundtripUsec: 100\r\n\r\n`,
  );
}

describe('PresenceTracker ordering', () => {
  it('an event that arrives while a snapshot is in flight wins over the snapshot', async () => {
    const ami = new FakeAmi();
    const store = new MemoryPresenceStore(['7000', '7001']);
    const tracker = new PresenceTracker({ ami, store });
    tracker.start();
    await waitFor(() => ami.answer !== null, 'snapshot request');
    tracker.handleEvent(
      parseAmiEvent(parseAmiMessage('Event: ContactStatus\r\nURI: sip:7000@127.0.0.1:5086\r\nContactStatus: Removed\r\nAOR: 7000\r\nEndpointName: 7000\r\nRoundtripUsec: 0\r\n\r\n')),
    );
    ami.answer?.({
      response: parseAmiMessage('Response: Success\r\nEventList: start\r\n\r\n'),
      events: [contactList('7000', 'sip:7000@127.0.0.1:5086', 'Reachable'), contactList('7001', 'sip:7001@127.0.0.1:5080', 'NonQualified')],
      complete: null,
    });
    const [result] = await nextEvent(tracker, 'snapshot');
    await tracker.idle();
    expect(result).toMatchObject({ skipped: 1, applied: 1 });
    expect(store.rows.get('7000')?.status).toBe('offline');
    expect(store.rows.get('7001')?.status).toBe('online');
    await tracker.close();
  });

  it('the recorded s7 event stream, with a slow store, is applied in order per extension', async () => {
    const ami = new FakeAmi();
    ami.loggedIn = false;
    const store = new MemoryPresenceStore(['7000']);
    const slowApply = store.apply.bind(store);
    store.apply = async (u) => {
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5)));
      return slowApply(u);
    };
    const tracker = new PresenceTracker({ ami, store });
    tracker.start();
    const events = recordedMessages('s7_ami')
      .filter((m) => m.kind === 'event')
      .map((m) => parseAmiEvent(parseAmiMessage(m.raw as string)));
    for (const e of events) tracker.handleEvent(e);
    await tracker.idle();
    expect(store.updates.map((u) => `${u.status}:${u.source}`)).toEqual([
      'online:ContactStatus',
      'offline:ContactStatus',
      'online:ContactStatus',
      'offline:DeviceStateChange',
    ]);
    expect(store.rows.get('7000')).toMatchObject({ status: 'offline', lastRegisteredIp: '127.0.0.1' });
    await tracker.close();
  });
});

describe('PresenceTracker property: any sequence of registrations ends in the modelled state', () => {
  it('register / qualify timeout / restore / unregister on three extensions', async () => {
    const fc = (await import('fast-check')).default;
    const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }, { id: '7001' }, { id: '7002' }] });
    const ami = new AmiConnection({ port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0 });
    cleanups.push(async () => {
      await ami.close();
      await sim.close();
    });
    await ami.connect();
    const numbers = ['7000', '7001', '7002'] as const;
    const op = fc.record({
      kind: fc.constantFrom('register', 'qualifyTimeout', 'qualifyRestored', 'unregister'),
      number: fc.constantFrom(...numbers),
      host: fc.integer({ min: 2, max: 4 }),
    });
    let marker = 0;
    /** Everything the simulator sent before the marker has been handled once the marker arrives. */
    const flush = async (): Promise<void> => {
      const tag = `M${++marker}`;
      const seen = new Promise<void>((resolve) => {
        const onEvent = (e: AmiEvent): void => {
          if (e.type === 'unknown' && e.name === tag) {
            ami.off('event', onEvent);
            resolve();
          }
        };
        ami.on('event', onEvent);
      });
      sim.emitRaw([['Event', tag]]);
      await seen;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        for (const n of numbers) if (sim.contacts().some((c) => c.endpoint === n)) sim.unregister(n);
        await flush();
        const store = new MemoryPresenceStore([...numbers]);
        const tracker = new PresenceTracker({ ami, store });
        const first = nextEvent(tracker, 'snapshot');
        tracker.start();
        await first;
        const model = new Map<string, { status: 'online' | 'offline' | 'unknown'; ip: string | null }>(numbers.map((n) => [n, { status: 'unknown', ip: null }]));
        for (const { kind, number, host } of ops) {
          const contact = sim.contacts().find((c) => c.endpoint === number);
          const m = model.get(number) as { status: 'online' | 'offline' | 'unknown'; ip: string | null };
          if (kind === 'register') {
            const ip = `127.0.0.${host}`;
            const uri = `sip:${number}@${ip}:5086`;
            sim.register(number, { uri, ip: '127.0.0.1', port: 5085 });
            // A refresh of the same contact changes nothing (observed: no event; qualify alone decides reachability).
            if (contact?.uri === uri) continue;
            m.status = 'online';
            m.ip = ip;
          } else if (!contact) {
            continue;
          } else if (kind === 'qualifyTimeout') {
            sim.qualifyTimeout(number);
            m.status = 'offline';
          } else if (kind === 'qualifyRestored') {
            sim.qualifyRestored(number);
            m.status = 'online';
          } else {
            sim.unregister(number);
            m.status = 'offline';
          }
        }
        await flush();
        await tracker.idle();
        for (const n of numbers) {
          const row = store.rows.get(n);
          const want = model.get(n);
          expect(row?.status).toBe(want?.status);
          if (want?.status === 'online') expect(row?.lastRegisteredIp).toBe(want.ip);
        }
        await tracker.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe('AmiPresenceService', () => {
  it('wires connection, tracker and publisher, and closes them all', async () => {
    const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }] });
    const store = new MemoryPresenceStore(['7000']);
    const published: string[] = [];
    const service = new AmiPresenceService({
      ami: { port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0 },
      store,
      redis: { publish: async (channel, message) => published.push(`${channel} ${message}`) },
      redisPrefix: 'px:',
    });
    cleanups.push(async () => {
      await service.close();
      await sim.close();
    });
    await service.start();
    sim.register('7000', REG);
    await waitFor(() => published.length === 1, 'published change');
    expect(published[0]).toMatch(/^px:presence \{"number":"7000","previous":"unknown","status":"online"/);
    expect(store.rows.get('7000')?.status).toBe('online');
    await service.close();
    await service.close();
    expect([service.closed, service.tracker.closed, service.connection.closed, service.publisher?.closed]).toEqual([true, true, true, true]);
    await waitFor(() => sim.connectionCount === 0, 'AMI session gone');
    await expect(service.start()).rejects.toThrow(/closed/);
  });
});

describe('AmiPresenceService close with a hung Asterisk', () => {
  it('does not wait for a pending snapshot to time out', { timeout: 8000 }, async () => {
    const sim = await AmiSimulator.start({ endpoints: [{ id: '7000' }] });
    const store = new MemoryPresenceStore(['7000']);
    const service = new AmiPresenceService({ ami: { port: sim.port, username: 'tnd', secret: 'tnd', heartbeatIntervalMs: 0 }, store });
    cleanups.push(() => sim.close());
    const first = nextEvent(service.tracker, 'snapshot');
    await service.start();
    await first;
    sim.setResponsive(false);
    const pending = service.tracker.snapshot();
    // The tracker's default snapshot timeout is 10 s; close must not wait for it.
    await service.close();
    await expect(pending).resolves.toEqual({ online: 0, applied: 0, skipped: 0 });
    expect(service.tracker.stats.snapshotErrors).toBe(0);
    expect(store.updates).toEqual([]);
  });
});
