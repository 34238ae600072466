import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { ExtensionService, provisionPairs } from '../../../control/src/realtime/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';
import { createTestDb, psRows, type TestDb } from '../realtime/pg-test-db.js';
import { freePortRange } from '../../support/ports.js';

const TOKEN = 'node-test-token-0123456789';
let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ migrate: true });
});
afterAll(async () => {
  await db.drop();
});

describe('a whole node with PJSIP realtime and AMI presence', () => {
  it("follows the seed's flow: create 1001 → ps_* rows → register → online (stored and streamed) → unregister → offline", async () => {
    const service = new ExtensionService(db.pool);
    await service.create({ number: '1001', password: 'Xk9-pQ2!vL', displayName: 'Front Desk' });
    const ps = await psRows(db.pool, '1001');
    expect(ps.endpoint).toMatchObject({ id: '1001', aors: '1001', auth: '1001' });
    expect(ps.auth).toMatchObject({ id: '1001', auth_type: 'userpass', username: '1001', password: 'Xk9-pQ2!vL' });
    expect(ps.aor).toMatchObject({ id: '1001', max_contacts: 1, remove_existing: 'yes' });
    await provisionPairs(db.pool, { count: 2 });

    const ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' }, endpoints: [{ id: '1001' }, { id: '7000' }] });
    const ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } } });
    const node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(100) },
      store: { poolSize: 3 }, // pair_003 (7004/7005) is not provisioned: never handed out
      ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret' },
      database: { url: db.url },
      ami: { port: ami.port, username: 'tandem', secret: 'ami-secret', heartbeatIntervalMs: 1000 },
      api: { token: TOKEN },
    });
    let streamed = '';
    const address = node.apiAddress;
    if (!address || !('url' in address)) throw new Error('expected a TCP API');
    const url = new URL(`${address.url}/v1/presence/stream`);
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (streamed += chunk));
    });
    req.end();
    try {
      await waitFor(() => node.presence?.connection.loggedIn === true, 10_000);
      await waitFor(() => node.presence!.tracker.listenerCount('presence') >= 1, 10_000);
      // The stream is subscribed once its banner arrived: a registration before that (this request is
      // slow on a busy box) would never be streamed.
      await waitFor(() => streamed.includes('tandem presence stream'));

      ami.register('1001', { uri: 'sip:1001@192.0.2.10:5062', ip: '192.0.2.10', port: 5062 });
      await waitForAsync(async () => (await service.get('1001'))?.status === 'online');
      const online = await service.get('1001');
      expect(online).toMatchObject({ status: 'online', lastRegisteredIp: '192.0.2.10' });
      expect(online?.lastRegisteredAt).toBeInstanceOf(Date);
      await waitFor(() => streamed.includes('"number":"1001"') && streamed.includes('"status":"online"'));

      ami.unregister('1001');
      await waitForAsync(async () => (await service.get('1001'))?.status === 'offline');
      expect(await service.get('1001')).toMatchObject({ status: 'offline', lastRegisteredIp: '192.0.2.10' });
      await waitFor(() => streamed.includes('"status":"offline"'));

      // The pool follows realtime: pairs 1 and 2 are provisioned, 3 is not.
      const first = await node.store.allocate();
      const second = await node.store.allocate();
      expect([first.pairId, second.pairId]).toEqual(['pair_001', 'pair_002']);
      await expect(node.store.allocate()).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
      await node.store.release(first.pairId, first.leaseToken);
      await node.store.release(second.pairId, second.leaseToken);
    } finally {
      req.destroy();
      await node.close();
      await ari.close();
      await ami.close();
    }
  });
});

async function waitForAsync(predicate: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
