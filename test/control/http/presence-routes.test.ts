import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { createControlApi, registerPresenceRoutes, type ControlApi } from '../../../control/src/http/index.js';
import type { ExtensionStatus, PresenceChange, PresenceStore, PresenceUpdate } from '../../../control/src/realtime/presence-store.js';
import { createPgPool } from '../../../control/src/realtime/db.js';
import { PgPresenceStore } from '../../../control/src/realtime/presence-store.js';
import { closedPort } from '../../support/ports.js';
import { waitFor } from '../../support/rtp-peer.js';

const TOKEN = 'presence-token-0123456789';

class FakeFeed extends TypedEmitter<{ presence: [PresenceChange] }> {}

class MapPresenceStore implements PresenceStore {
  readonly statusesByNumber = new Map<string, ExtensionStatus>([['1001', 'offline'], ['1002', 'online']]);
  async apply(_update: PresenceUpdate): Promise<PresenceChange | null> {
    return null;
  }
  async statuses(): Promise<Map<string, ExtensionStatus>> {
    return new Map(this.statusesByNumber);
  }
}

let api: ControlApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

async function start(feed: FakeFeed): Promise<string> {
  const store = new MemoryPairStore({ poolSize: 2 });
  api = createControlApi({ store, token: TOKEN });
  registerPresenceRoutes(api.app, { feed, store: new MapPresenceStore(), heartbeatMs: 50 });
  const address = await api.listen();
  if (!('url' in address)) throw new Error('expected TCP');
  return address.url;
}

describe('presence over the HTTP API', () => {
  it('lists current statuses and requires the token', async () => {
    const url = await start(new FakeFeed());
    const denied = await fetch(`${url}/v1/presence`);
    expect(denied.status).toBe(401);
    const res = await fetch(`${url}/v1/presence`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ extensions: [{ number: '1001', status: 'offline' }, { number: '1002', status: 'online' }] });
  });

  it('streams each change as a Server-Sent Event and detaches when the client leaves', async () => {
    const feed = new FakeFeed();
    const url = new URL(`${await start(feed)}/v1/presence/stream`);
    let text = '';
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${TOKEN}` } });
    const response = new Promise<number>((resolve) =>
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        resolve(res.statusCode ?? 0);
      }),
    );
    req.end();
    expect(await response).toBe(200);
    await waitFor(() => feed.listenerCount('presence') === 1);
    const at = new Date('2026-11-23T01:00:00.000Z');
    feed.safeEmit('presence', { number: '1001', previous: 'offline', status: 'online', at, ip: '127.0.0.1', source: 'ContactStatus' });
    await waitFor(() => text.includes('event: presence'));
    const data = /data: (.*)\n/.exec(text)?.[1];
    expect(JSON.parse(data ?? '{}')).toEqual({ number: '1001', previous: 'offline', status: 'online', at: at.toISOString(), ip: '127.0.0.1', source: 'ContactStatus' });
    await waitFor(() => text.includes(': keep-alive'));
    req.destroy();
    await waitFor(() => feed.listenerCount('presence') === 0);
  });

  it('ends open streams when the API closes', async () => {
    const feed = new FakeFeed();
    const url = new URL(`${await start(feed)}/v1/presence/stream`);
    const ended = new Promise<void>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.end();
    });
    await waitFor(() => feed.listenerCount('presence') === 1);
    await api!.close();
    api = null;
    await ended;
    expect(feed.listenerCount('presence')).toBe(0);
  });

  it('answers 503 PRESENCE_UNAVAILABLE in the one error shape when the database does not answer', async () => {
    const dead = createPgPool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/none`, connectTimeoutMs: 1000 });
    try {
      const pairs = new MemoryPairStore({ poolSize: 2 });
      api = createControlApi({ store: pairs, token: TOKEN });
      registerPresenceRoutes(api.app, { feed: new FakeFeed(), store: new PgPresenceStore(dead) });
      const address = await api.listen();
      if (!('url' in address)) throw new Error('expected TCP');
      const res = await fetch(`${address.url}/v1/presence`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ code: 'PRESENCE_UNAVAILABLE', message: 'the presence database is not answering' });
    } finally {
      await dead.end();
    }
  });
});
