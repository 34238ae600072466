import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { provisionPairs } from '../../../control/src/realtime/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { AsteriskSimulator, tone, type EndpointConfig } from '../../../tools/asterisk-simulator/ari/index.js';
import type { TeardownReason } from '../../../control/src/calls/index.js';
import { waitFor } from '../../support/rtp-peer.js';
import { nextEvent } from '../ami/support.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { freePortRange } from '../../support/ports.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ migrate: true });
  await provisionPairs(db.pool, { count: 2 }); // 7000..7003
});
afterAll(async () => {
  await db.drop();
});

const answering: EndpointConfig = { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) };
const contact = (n: string) => ({ uri: `sip:${n}@127.0.0.1:5${n.slice(1)}`, ip: '127.0.0.1', port: Number(`5${n.slice(1)}`) });

describe('a node with AMI presence never hands out a pair whose leg B is offline', () => {
  it('routes calls around an offline EXT_B, rejects at once when no reachable pair is free, and takes the pair back when it registers', async () => {
    const ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' }, endpoints: ['7000', '7001', '7002', '7003'].map((id) => ({ id })) });
    // What Asterisk knows: 7001 has no contact (an originate answers 500 Allocation failed).
    const ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret', endpoints: { '7001': { behaviour: 'nocontact' }, '7003': answering } });
    for (const n of ['7000', '7001', '7002', '7003']) ami.register(n, contact(n));
    const node = await TandemNode.start({
      // A generous start deadline: worker threads start slowly on a busy machine.
      engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 },
      store: { poolSize: 2 },
      ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret' },
      database: { url: db.url },
      ami: { port: ami.port, username: 'tandem', secret: 'ami-secret', heartbeatIntervalMs: 1000 },
    });
    const active: string[] = [];
    const closed: Array<{ pairId: string; reason: TeardownReason }> = [];
    const rejected: Array<{ channelId: string; reason: string }> = [];
    node.app.on('pairactive', (p) => active.push(p.pairId));
    node.app.on('pairclosed', (pairId, reason) => closed.push({ pairId, reason }));
    node.app.on('callrejected', (channelId, reason) => rejected.push({ channelId, reason }));
    const originated: string[] = [];
    const originate = node.ari.originate.bind(node.ari);
    node.ari.originate = (params) => {
      originated.push(params.endpoint);
      return originate(params);
    };
    try {
      const sync = node.reachability;
      if (!sync) throw new Error('expected the node to follow leg B presence');
      await waitFor(() => sync.known, 10_000);
      // The phone behind 7001 goes away; AMI says so (ContactStatus Removed, UNAVAILABLE).
      const offline = nextEvent(sync, 'changed');
      ami.unregister('7001');
      expect((await offline)[0]).toMatchObject({ pairId: 'pair_001', reachable: false });

      // The call gets pair_002, never pair_001: no originate that Asterisk would refuse.
      const first = ari.placeCall({ callerNumber: '501', audio: tone(440) });
      await waitFor(() => active.length === 1, 10_000);
      expect(active).toEqual(['pair_002']);
      expect(rejected).toEqual([]);

      // With pair_002 busy, no reachable pair is free: rejected at once, with the cause, and
      // leg B of pair_001 is never tried.
      const second = ari.placeCall({ callerNumber: '502', audio: tone(440) });
      await waitFor(() => rejected.length === 1, 10_000);
      expect(rejected).toEqual([{ channelId: second.channelId, reason: 'legb-unreachable' }]);
      expect(node.app.rejections).toEqual({ 'pool-exhausted': 0, 'legb-unreachable': 1, 'allocation-failed': 0 });
      expect(originated).toEqual(['PJSIP/7003']);
      expect(closed).toEqual([]);

      // 7001 registers again (and Asterisk can dial it): pair_001 is handed out again.
      ari.endpoints.set('7001', answering);
      const online = nextEvent(sync, 'changed');
      ami.register('7001', contact('7001'));
      expect((await online)[0]).toMatchObject({ pairId: 'pair_001', reachable: true });
      const third = ari.placeCall({ callerNumber: '503', audio: tone(440) });
      await waitFor(() => active.length === 2, 10_000);
      expect(active).toEqual(['pair_002', 'pair_001']);
      expect(originated).toEqual(['PJSIP/7003', 'PJSIP/7001']);

      ari.hangup(first.channelId);
      ari.hangup(third.channelId);
      await waitFor(() => node.app.pairCount === 0, 10_000);
      expect(closed.map((c) => c.reason)).not.toContain('originate-failed');
    } finally {
      await node.close();
      await ari.close();
      await ami.close();
    }
  });

  it('require-online without AMI is refused at start with the key named', async () => {
    const ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret' });
    try {
      await expect(
        TandemNode.start({
          engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 },
          store: { poolSize: 2, legBPresence: 'require-online' },
          ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret' },
        }),
      ).rejects.toMatchObject({ key: 'legBPresence' });
    } finally {
      await ari.close();
    }
  });
});
