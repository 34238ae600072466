import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryPairStore } from '../../../control/src/alloc/index.js';
import { AriClientAdapter } from '../../../control/src/ari/index.js';
import { CallApp, parseCallConfig, type MediaEnginePort, type ReconcileReport } from '../../../control/src/calls/index.js';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

const prefix = `tandem:test:${randomBytes(6).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });

afterAll(async () => {
  await redis.connect().catch(() => undefined);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('reconciliation on start', () => {
  it('cleans up after a node that died mid-call: channels, bridges and its Redis leases', async () => {
    const sim = await AsteriskSimulator.start({
      username: 'tandem',
      password: 'test-secret',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) }, '7003': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } },
    });
    const options = {
      engine: { workers: 1, portRange: await freePortRange(200) },
      store: { redisUrl: 'redis://127.0.0.1:6379', redisKeyPrefix: prefix, poolSize: 10, node: 'node-under-test' },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
    };
    try {
      const first = await TandemNode.start(options);
      const active: string[] = [];
      first.app.on('pairactive', (p) => active.push(p.pairId));
      sim.placeCall({ callerNumber: '401', audio: tone(440) });
      sim.placeCall({ callerNumber: '402', audio: tone(440) });
      await waitFor(() => active.length === 2, 10_000);
      expect(sim.bridges()).toHaveLength(4);
      expect((await first.store.list()).map((l) => l.pairId)).toEqual(['pair_001', 'pair_002']);

      // A crash: the process vanishes without tearing anything down.
      await first.ari.close();
      await first.engine.close();
      await first.store.close();
      expect(sim.channels()).toHaveLength(8);

      const second = await TandemNode.start(options);
      try {
        await waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 10_000);
        expect(await second.store.list()).toEqual([]);
        // And the node serves new calls on the recovered pool.
        const again: string[] = [];
        second.app.on('pairactive', (p) => again.push(p.pairId));
        sim.placeCall({ callerNumber: '403', audio: tone(440) });
        await waitFor(() => again.length === 1, 10_000);
        expect(again).toEqual(['pair_001']);
      } finally {
        await second.close();
      }
      await waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 10_000);
    } finally {
      await sim.close();
    }
  });
});

const TOKEN = 'reconcile-test-token-0123456789';

/** No call is placed in these tests: an engine that is never asked for anything. */
function idleEngine(): MediaEnginePort {
  const events = new EventEmitter();
  const never = (): Promise<never> => Promise.reject(new Error('no engine in this test'));
  return { openPair: never, setRemote: never, connectMedia: never, closePair: never, on: (e, l) => events.on(e, l), off: (e, l) => events.off(e, l) };
}

describe('reconciliation and leases the API granted', () => {
  it('an API client holding a pair keeps it through reconciliation: renew answers 204, the session says owner api', async () => {
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret' });
    const node = await TandemNode.start({
      // A generous start deadline: worker threads start slowly on a busy machine.
      engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 },
      store: { poolSize: 3, node: 'api-node' },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
      api: { token: TOKEN },
    });
    try {
      const address = node.apiAddress;
      if (!address || !('url' in address)) throw new Error('expected a TCP API');
      const api = (method: string, path: string, leaseToken?: string) =>
        fetch(`${address.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, ...(leaseToken !== undefined && { 'x-lease-token': leaseToken }) },
        });
      const granted = (await (await api('POST', '/v1/pairs')).json()) as { pairId: string; leaseToken: string; owner: string; node: string };
      expect(granted).toMatchObject({ pairId: 'pair_001', owner: 'api', node: 'api-node' });
      // A call lease of this node whose call is gone (a crash, a failed release): reconciliation's to free.
      const orphan = await node.store.allocate({ owner: 'call', node: 'api-node' });

      for (let round = 0; round < 3; round++) {
        const report = await node.app.reconcile();
        expect(report.releasedLeases).toEqual(round === 0 ? [orphan.pairId] : []);
        expect((await api('POST', `/v1/pairs/${granted.pairId}/renew`, granted.leaseToken)).status).toBe(204);
      }
      const session = (await (await api('GET', `/v1/pairs/${granted.pairId}`)).json()) as Record<string, unknown>;
      expect(session).toMatchObject({ pairId: granted.pairId, owner: 'api', node: 'api-node' });
      expect((await node.store.list()).map((l) => l.pairId)).toEqual([granted.pairId]);
      expect((await api('DELETE', `/v1/pairs/${granted.pairId}`, granted.leaseToken)).status).toBe(204);
    } finally {
      await node.close();
      await sim.close();
    }
  });

  it('the periodic reconciliation frees only call leases of its node without a call', async () => {
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret' });
    const store = new MemoryPairStore({ poolSize: 4, node: 'this-node', leaseTtlMs: 600_000 });
    const ari = await AriClientAdapter.connect({ url: sim.ariUrl, username: 'tandem', password: 'test-secret', app: 'pair_session' });
    const app = new CallApp({ ari, engine: idleEngine(), store, config: parseCallConfig({}), node: 'this-node', reconcileIntervalMs: 20 });
    try {
      const apiLease = await store.allocate({ owner: 'api' });
      const otherNodeCall = await store.allocate({ owner: 'call', node: 'other-node' });
      const staleCall = await store.allocate({ owner: 'call' });
      const reports: ReconcileReport[] = [];
      app.on('reconciled', (r) => reports.push(r));
      await app.start();
      // Several periodic rounds after the one at start, while the API client keeps renewing.
      await waitFor(() => reports.length >= 4, 10_000);
      expect(await store.renew(apiLease.pairId, apiLease.leaseToken)).toBe(true);
      expect(reports.flatMap((r) => r.releasedLeases)).toEqual([staleCall.pairId]);
      expect((await store.list()).map((l) => l.pairId)).toEqual([apiLease.pairId, otherNodeCall.pairId]);
    } finally {
      await app.close();
      await ari.close();
      await sim.close();
      await store.close();
    }
  });
});
